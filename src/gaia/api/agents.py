"""Agent routes under `/api/orchestration/agents`: execution, tasks and the registry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from gaia._fields import Duration, NoNul
from gaia.agents.bridge import AgentBridge
from gaia.agents.diff import task_diff
from gaia.agents.merge import MergeOutcome, discard_task, merge_task
from gaia.agents.registry import build_agent, spec_from_settings
from gaia.agents.retry import retry_of
from gaia.agents.stats import AgentStats
from gaia.agents.task import AUTO_AGENT, AgentTask, Isolation, TaskStatus, TaskType
from gaia.agents.views import AgentView, TaskView, agent_view, task_view
from gaia.api.deps import Auth, RuntimeDep
from gaia.api.errors import problem_responses
from gaia.api.stopping import wait_unless_stopping
from gaia.config import AgentSettings
from gaia.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/agents",
    tags=["agents"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)


def get_bridge(runtime: RuntimeDep) -> AgentBridge:
    return runtime.agents


BridgeDep = Annotated[AgentBridge, Depends(get_bridge)]


class TaskRequest(BaseModel):
    """One task to queue: what to do, where, with which agent, isolation and visibility."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agent: str = Field(default=AUTO_AGENT, min_length=1, description="agent id, or auto")
    instruction: NoNul = Field(min_length=1)
    task_type: TaskType = TaskType.code
    context: dict[str, Any] = Field(default_factory=dict)
    work_dir: str | None = Field(default=None, description="absolute path; default: the daemon's")
    timeout: Duration | None = Field(default=None, gt=0, description="seconds or '30m'")
    priority: int = Field(default=0, ge=-1000, le=1000)
    isolation: Isolation | None = None
    visible: bool = False

    def to_task(self) -> AgentTask:
        return AgentTask(
            instruction=self.instruction,
            agent_id=self.agent,
            task_type=self.task_type,
            context=self.context,
            work_dir=None if self.work_dir is None else Path(self.work_dir),
            timeout=self.timeout,
            priority=self.priority,
            isolation=self.isolation,
            visible=self.visible,
        )


class ExecuteRequest(TaskRequest):
    wait: bool = Field(default=True, description="false: answer 202 once the task is queued")


class ParallelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskRequest] = Field(min_length=1, max_length=1000)
    wait: bool = True


class ParallelResponse(BaseModel):
    results: list[TaskView]


class RegisterRequest(AgentSettings):
    id: str = Field(min_length=1, max_length=100)
    replace: bool = False


def _view(bridge: AgentBridge, task_id: str) -> TaskView:
    return task_view(bridge.get_task(task_id))


@router.get("", response_model=list[AgentView])
def list_agents(bridge: BridgeDep) -> list[AgentView]:
    """ListAgents: every registered agent and whether its CLI can run now (if not, why).

    Built-in agents that are not registered (their CLI is not on PATH, or config.toml
    disables them) follow, with ``registered`` false and the ``reason``.
    """
    registry = bridge.registry
    return [agent_view(agent) for agent in registry.agents()] + [
        agent_view(agent, left_out=reason) for agent, reason in registry.left_out()
    ]


@router.post("", response_model=AgentView, status_code=201)
def register_agent(body: RegisterRequest, bridge: BridgeDep) -> AgentView:
    """RegisterAgent: add an agent for this daemon's lifetime (config.toml makes it last)."""
    settings = AgentSettings(**{name: getattr(body, name) for name in AgentSettings.model_fields})
    agent = build_agent(spec_from_settings(body.id, settings, source="api"))
    bridge.registry.register(agent, replace=body.replace)
    bridge.save_registry()
    return agent_view(agent)


@router.get("/stats", response_model=list[AgentStats])
def agent_stats(
    bridge: BridgeDep, agent: Annotated[str | None, Query(description="one agent")] = None
) -> list[AgentStats]:
    """GetAgentStats: totals, success rate, active and queued, durations, tokens, cost."""
    return bridge.stats(agent)


def _not_waited(task_ids: list[str]) -> str:
    return (
        f"gaia is stopping before task {', '.join(task_ids)} finished: a running task gets "
        "agent_close_grace to finish and is then cancelled, a queued one stays queued for "
        "the next start. GET /api/orchestration/agents/tasks/{id} says how it went"
    )


@router.post("/execute", response_model=TaskView)
async def execute(
    body: ExecuteRequest, bridge: BridgeDep, runtime: RuntimeDep, response: Response
) -> TaskView:
    """ExecuteTask: queue one task; with wait (the default) answer once it finished.

    A daemon asked to stop answers a waiting request at once with 503 (``stopping``).
    """
    task = body.to_task()
    future = bridge.submit(task)
    if body.wait:
        await wait_unless_stopping([future], runtime.stopping, _not_waited([task.id]))
    else:
        response.status_code = 202
    await asyncio.to_thread(bridge.store.flush)
    return await asyncio.to_thread(_view, bridge, task.id)


@router.post("/execute-parallel", response_model=ParallelResponse)
async def execute_parallel(
    body: ParallelRequest, bridge: BridgeDep, runtime: RuntimeDep, response: Response
) -> ParallelResponse:
    """ExecuteParallel: queue every task at once; results in the order of the request."""
    tasks = [item.to_task() for item in body.tasks]
    futures = bridge.submit_all(tasks)
    if body.wait:
        message = _not_waited([task.id for task in tasks])
        await wait_unless_stopping(list(futures), runtime.stopping, message)
    else:
        response.status_code = 202
    await asyncio.to_thread(bridge.store.flush)
    views = await asyncio.to_thread(lambda: [_view(bridge, task.id) for task in tasks])
    return ParallelResponse(results=views)


@router.get("/tasks", response_model=list[TaskView])
def list_tasks(
    bridge: BridgeDep,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[TaskView]:
    """The newest tasks first, optionally of one status."""
    stored = bridge.store.list_tasks(status=None if status is None else status.value, limit=limit)
    return [task_view(task) for task in stored]


@router.get("/tasks/{task_id}", response_model=TaskView)
def get_task(task_id: str, bridge: BridgeDep) -> TaskView:
    """GetResult: the task, its status and, once finished, its result.

    ``task_id`` may be a unique prefix of at least 4 characters (400 if ambiguous).
    """
    return _view(bridge, task_id)


@router.post("/tasks/{task_id}/cancel", response_model=TaskView)
async def cancel_task(task_id: str, bridge: BridgeDep) -> TaskView:
    """Cancel a queued or running task; a running agent's whole process tree is killed."""
    task_id = await asyncio.to_thread(bridge.resolve_task, task_id)
    await bridge.cancel(task_id)
    await asyncio.to_thread(bridge.store.flush)
    return await asyncio.to_thread(_view, bridge, task_id)


@router.get(
    "/tasks/{task_id}/diff",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "a unified diff"}},
)
def get_task_diff(
    task_id: str,
    bridge: BridgeDep,
    stat: Annotated[bool, Query(description="git's --stat summary instead of the patch")] = False,
) -> PlainTextResponse:
    """The task's work as a unified diff against the commit its worktree started from.

    While the worktree exists (the task runs, or it is kept for ``worktree_retention``),
    uncommitted and untracked files are included; after, it is the diff of the commit
    gaia made on the task's branch. 409 when the task has no worktree (isolation
    ``none``, not started yet). Headers: ``X-Gaia-Base-Commit``, ``X-Gaia-Diff-Source``
    (``worktree`` or ``branch``), ``X-Gaia-Diff-Truncated``.
    """
    found = task_diff(bridge.store, bridge.get_task(task_id), stat=stat)
    headers = {
        "X-Gaia-Base-Commit": found.base_commit,
        "X-Gaia-Diff-Source": found.source,
        "X-Gaia-Diff-Truncated": "true" if found.truncated else "false",
    }
    return PlainTextResponse(found.text, headers=headers)


@router.post("/tasks/{task_id}/retry", response_model=TaskView, status_code=201)
async def retry_task(task_id: str, bridge: BridgeDep) -> TaskView:
    """Queue a new task with the same request as a finished one; answer with the new task.

    The new task's ``retry_of`` names the old one. 409 while the old one is queued or
    running (cancel it first).
    """
    stored = await asyncio.to_thread(bridge.get_task, task_id)
    task = retry_of(stored)
    bridge.submit(task)
    await asyncio.to_thread(bridge.store.flush)
    return await asyncio.to_thread(_view, bridge, task.id)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    squash: bool = Field(default=False, description="one new commit on the target, no merge")
    into: str | None = Field(
        default=None, min_length=1, description="the branch to merge into; default: the current"
    )


class ReviewResponse(BaseModel):
    """What a merge or a discard did, and the task after it."""

    review: str = Field(description="merged or discarded")
    branch: str
    into: str | None
    commit: str | None = Field(description="the target branch's new tip (merge)")
    fast_forward: bool
    squash: bool
    branch_deleted: bool
    worktree_removed: bool
    task: TaskView


@router.post(
    "/tasks/{task_id}/merge",
    response_model=ReviewResponse,
    status_code=201,
    responses=problem_responses(409),
)
def merge_task_branch(task_id: str, body: MergeRequest, bridge: BridgeDep) -> ReviewResponse:
    """Merge a finished task's branch into ``into`` (default: the repository's current branch).

    The merge is computed without touching any working tree; 409, with nothing changed,
    when the task is not finished or has no branch, when the target's working tree has
    uncommitted changes, or when the merge conflicts (``details.files`` names the files).
    On success the task's worktree is removed, its branch deleted once the target holds
    it (a squash keeps it), and the task's ``review`` is ``merged``.
    """
    stored = bridge.get_task(task_id)
    outcome = merge_task(bridge.store, stored, squash=body.squash, into=body.into)
    return _review_response(bridge, outcome)


@router.post(
    "/tasks/{task_id}/discard", response_model=ReviewResponse, responses=problem_responses(409)
)
def discard_task_branch(task_id: str, bridge: BridgeDep) -> ReviewResponse:
    """Remove a finished task's worktree and delete its branch; its ``review`` is ``discarded``.

    409 when the task is not finished, has no branch, or was merged or discarded already.
    """
    outcome = discard_task(bridge.store, bridge.get_task(task_id))
    return _review_response(bridge, outcome)


def _review_response(bridge: AgentBridge, outcome: MergeOutcome) -> ReviewResponse:
    return ReviewResponse(
        review=outcome.review,
        branch=outcome.branch,
        into=outcome.into,
        commit=outcome.commit,
        fast_forward=outcome.fast_forward,
        squash=outcome.squash,
        branch_deleted=outcome.branch_deleted,
        worktree_removed=outcome.worktree_removed,
        task=_view(bridge, outcome.task_id),
    )


@router.get("/{agent_id}", response_model=AgentView)
def get_agent(agent_id: str, bridge: BridgeDep) -> AgentView:
    """GetAgent."""
    return agent_view(bridge.registry.get(agent_id))


@router.delete("/{agent_id}", response_model=AgentView)
def unregister_agent(agent_id: str, bridge: BridgeDep) -> AgentView:
    """UnregisterAgent: queued tasks for it fail when their turn comes."""
    if agent_id not in bridge.registry:
        raise NotFoundError.of("agent", agent_id)
    view = agent_view(bridge.registry.unregister(agent_id))
    bridge.save_registry()
    return view
