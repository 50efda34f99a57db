"""What the API and CLI show of agents and tasks (environment values are never included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gaia.agents.base import Agent, unavailable_reason
from gaia.agents.store import StoredTask
from gaia.agents.task import AgentResult

__all__ = ["AgentView", "ResultView", "TaskView", "agent_view", "task_view"]


class AgentView(BaseModel):
    id: str
    kind: str
    source: str
    command: list[str]
    executable: str | None
    available: bool
    reason: str | None = Field(
        default=None, description="why it is not available (CLI not found, disabled); else null"
    )
    registered: bool = Field(
        default=True, description="false for a built-in left out: listed to say why"
    )
    capabilities: list[str]
    max_concurrency: int
    timeout: float | None
    model: str | None


class ResultView(BaseModel):
    success: bool
    output: str
    error: str | None
    exit_code: int | None
    session_id: str | None
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    num_turns: int | None
    duration_ms: int | None
    branch: str | None
    commit: str | None
    base_commit: str | None
    diff_stat: dict[str, Any]
    meta: dict[str, Any]

    @classmethod
    def of(cls, result: AgentResult) -> ResultView:
        return cls.model_validate(result, from_attributes=True)


class TaskView(BaseModel):
    id: str
    agent: str
    requested_agent: str
    task_type: str
    instruction: str
    context: dict[str, Any]
    work_dir: str | None
    timeout: float | None
    priority: int
    isolation: str
    visible: bool
    status: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    log_path: str | None
    worktree: str | None
    retry_of: str | None = Field(default=None, description="the task this one retries")
    review: str | None = Field(
        default=None, description="merged or discarded once its branch was; else null"
    )
    result: ResultView | None


def agent_view(agent: Agent, left_out: str | None = None) -> AgentView:
    """What is shown of ``agent``; ``left_out`` says why the registry left it out."""
    spec = agent.spec
    reason = left_out or unavailable_reason(agent)
    return AgentView(
        id=spec.id,
        kind=spec.kind,
        source=spec.source,
        command=list(spec.command),
        executable=spec.executable(),
        available=left_out is None and reason is None,
        reason=reason,
        registered=left_out is None,
        capabilities=sorted(spec.capabilities),
        max_concurrency=spec.max_concurrency,
        timeout=spec.timeout,
        model=spec.model,
    )


def task_view(stored: StoredTask) -> TaskView:
    task = stored.task
    return TaskView(
        id=task.id,
        agent=task.agent_id,
        requested_agent=stored.requested_agent,
        task_type=str(task.task_type),
        instruction=task.instruction,
        context=task.context,
        work_dir=None if task.work_dir is None else str(task.work_dir),
        timeout=task.timeout,
        priority=task.priority,
        isolation=str(task.effective_isolation),
        visible=task.visible,
        status=str(stored.status),
        error=stored.error,
        created_at=stored.created_at,
        started_at=stored.started_at,
        finished_at=stored.finished_at,
        log_path=stored.log_path,
        worktree=stored.worktree,
        retry_of=task.meta.get("retry_of"),
        review=stored.review,
        result=None if stored.result is None else ResultView.of(stored.result),
    )
