"""Workflow routes under ``/api/orchestration/workflows``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from gaia.api.body import body_problem, definition_text, parse_definition
from gaia.api.deps import Auth, RuntimeDep, WorkflowsDep
from gaia.api.errors import problem_responses
from gaia.api.stopping import STOPPING_EVENT
from gaia.api.streams import LineSplitter, end_event, event_stream, log_event
from gaia.errors import Problem, ValidationError
from gaia.workflows.loader import LoadedWorkflow, parse_var_overrides
from gaia.workflows.logs import follow_log, read_log
from gaia.workflows.manager import WorkflowManager
from gaia.workflows.views import TaskDetail, WorkflowDetail, WorkflowSummary

__all__ = ["router"]

log = logging.getLogger("gaia.api")

# A run this large has its graph laid out (in a thread, cached) as soon as it is created,
# so that the first visit to its page does not wait for the layout (~1 s at 5,000 tasks).
EARLY_LAYOUT_TASKS = 500
_layouts_under_way: set[asyncio.Task[bytes]] = set()  # held: a bare task may be collected


def _lay_out_soon(workflows: WorkflowManager, run_id: str) -> None:
    def done(task: asyncio.Task[bytes]) -> None:
        _layouts_under_way.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not lay out the graph of %s: %s", run_id, task.exception())

    task = asyncio.create_task(asyncio.to_thread(workflows.graph_layout, run_id))
    _layouts_under_way.add(task)
    task.add_done_callback(done)


router = APIRouter(
    prefix="/api/orchestration/workflows",
    tags=["workflows"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)


class Created(BaseModel):
    id: str
    name: str
    status: str
    tasks: int


class Accepted(BaseModel):
    id: str
    status: str
    detail: str


class StatusView(BaseModel):
    id: str
    name: str
    status: str
    error: str | None
    task_counts: dict[str, int]
    tasks: dict[str, str]
    duration_seconds: float | None


class RunCounts(BaseModel):
    total: int
    by_status: dict[str, int]


def _query_problem(message: str, field: str) -> ValidationError:
    return ValidationError(message, [Problem(message, source="query", path=field)])


@router.post("", status_code=201, response_model=Created)
async def create_workflow(
    request: Request,
    workflows: WorkflowsDep,
    var: Annotated[list[str] | None, Query(description="variable override, key=value")] = None,
    base_dir: Annotated[str | None, Query(description="absolute dir for relative paths")] = None,
    start: Annotated[bool, Query(description="start the run at once")] = False,
    path: Annotated[
        str | None,
        Query(
            description="absolute path of a workflow file on the daemon's machine, read "
            "instead of a body; relative paths in it are its folder's"
        ),
    ] = None,
) -> Created:
    """Create a run from a YAML (or JSON) workflow definition in the body, or in the file
    at ``path``."""
    try:
        overrides = parse_var_overrides(var or [])
    except ValueError as exc:
        raise body_problem(str(exc)) from None
    if path is not None:
        loaded = await _load_path(request, workflows, path, base_dir, overrides)
    else:
        text = await definition_text(request, "workflow")
        base = Path(base_dir) if base_dir else Path.home()
        if not base.is_absolute() or not base.is_dir():
            raise body_problem(f"base_dir {base_dir!r} must be an absolute path to a directory")
        loaded = await parse_definition(
            request,
            workflows.load_text,
            text,
            source="<request body>",
            overrides=overrides,
            base_dir=base,
        )
    run_id = await asyncio.to_thread(workflows.create, loaded)
    if len(loaded.spec.tasks) >= EARLY_LAYOUT_TASKS:
        _lay_out_soon(workflows, run_id)
    status = "pending"
    if start:
        await workflows.start(run_id)
        status = "running"
    return Created(id=run_id, name=loaded.spec.name, status=status, tasks=len(loaded.spec.tasks))


async def _load_path(
    request: Request,
    workflows: WorkflowManager,
    path: str,
    base_dir: str | None,
    overrides: dict[str, str],
) -> LoadedWorkflow:
    """The workflow file at ``path`` (read and parsed in a worker thread)."""
    if not Path(path).is_absolute():
        raise _query_problem(f"path must be an absolute path (got {path!r})", "path")
    if base_dir is not None:
        raise _query_problem(
            "base_dir goes with a definition in the body: a file's relative paths are "
            "its own folder's",
            "base_dir",
        )
    if await request.body():
        raise body_problem("send the workflow either in the body or as a path, not both")
    return await parse_definition(request, workflows.load_file, Path(path), overrides)


@router.get("", response_model=list[WorkflowSummary])
def list_workflows(
    workflows: WorkflowsDep,
    status: Annotated[str | None, Query(description="only runs in this status")] = None,
    name: Annotated[
        str | None, Query(description="only runs whose name contains this (any ASCII case)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[WorkflowSummary]:
    return workflows.list(status=status, limit=limit, name=name)


@router.get("/counts", response_model=RunCounts)
def count_workflows(
    workflows: WorkflowsDep,
    name: Annotated[
        str | None, Query(description="only runs whose name contains this (any ASCII case)")
    ] = None,
) -> RunCounts:
    """How many runs there are, in all and in each status (the total a capped list is of)."""
    by_status = workflows.count_by_status(name)
    return RunCounts(total=sum(by_status.values()), by_status=by_status)


@router.get("/{workflow_id}", response_model=WorkflowDetail)
def get_workflow(workflow_id: str, workflows: WorkflowsDep) -> WorkflowDetail:
    return workflows.get(workflows.resolve(workflow_id))


@router.get("/{workflow_id}/status", response_model=StatusView)
def workflow_status(workflow_id: str, workflows: WorkflowsDep) -> StatusView:
    summary, tasks = workflows.task_statuses(workflows.resolve(workflow_id))
    return StatusView(
        id=summary.id,
        name=summary.name,
        status=summary.status,
        error=summary.error,
        task_counts=summary.task_counts,
        tasks=tasks,
        duration_seconds=summary.duration_seconds,
    )


@router.post("/{workflow_id}/start", status_code=202, response_model=Accepted)
async def start_workflow(workflow_id: str, workflows: WorkflowsDep) -> Accepted:
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    await workflows.start(run_id)
    return Accepted(id=run_id, status="running", detail="started")


@router.post("/{workflow_id}/resume", status_code=202, response_model=Accepted)
async def resume_workflow(workflow_id: str, workflows: WorkflowsDep) -> Accepted:
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    await workflows.start(run_id, resume=True)
    return Accepted(id=run_id, status="running", detail="resumed")


@router.post("/{workflow_id}/stop", status_code=202, response_model=Accepted)
async def stop_workflow(workflow_id: str, workflows: WorkflowsDep) -> Accepted:
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    how = workflows.stop(run_id)
    status = await asyncio.to_thread(workflows.store.status, run_id)
    return Accepted(id=run_id, status=status, detail=how)


@router.get("/{workflow_id}/tasks/{task_id}", response_model=TaskDetail)
def get_task(workflow_id: str, task_id: str, workflows: WorkflowsDep) -> TaskDetail:
    return workflows.task(workflows.resolve(workflow_id), task_id)


@router.get(
    "/{workflow_id}/tasks/{task_id}/logs",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}, "text/event-stream": {}}}},
)
async def task_logs(
    workflow_id: str,
    task_id: str,
    workflows: WorkflowsDep,
    runtime: RuntimeDep,
    follow: bool = False,
    attempt: Annotated[int | None, Query(ge=1)] = None,
    tail: Annotated[int | None, Query(ge=0)] = None,
) -> Any:
    """The task's output (latest attempt by default); ``follow=true`` streams it as SSE."""
    run_id = await asyncio.to_thread(workflows.resolve, workflow_id)
    if not follow:
        path = await asyncio.to_thread(workflows.log_path, run_id, task_id, attempt)
        return PlainTextResponse(await asyncio.to_thread(read_log, path, tail))
    await asyncio.to_thread(workflows.task, run_id, task_id)  # 404 before streaming

    shutdown = anyio.Event()

    def stopping() -> bool:
        return runtime.stopping.is_set() or shutdown.is_set()

    async def events() -> AsyncIterator[ServerSentEvent]:
        lines = LineSplitter()
        async for chunk in follow_log(workflows, run_id, task_id, stop=stopping):
            for line in lines.feed(chunk):
                yield log_event(line)
        if rest := lines.rest():
            yield log_event(rest)
        if stopping():
            yield STOPPING_EVENT
            return
        final = await asyncio.to_thread(workflows.task, run_id, task_id)
        yield end_event({"status": final.status, "exit_code": final.exit_code})

    return event_stream(events(), shutdown)
