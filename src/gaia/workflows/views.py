"""What the API and the CLI show of runs, tasks and executions (never env values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ExecutionView", "TaskDetail", "TaskView", "WorkflowDetail", "WorkflowSummary"]


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


class ExecutionView(_View):
    attempt: int
    status: str
    pid: int | None
    exit_code: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    log_path: str | None


class TaskView(_View):
    id: str
    type: str
    agent: str
    command: str
    description: str | None
    dependencies: list[str]
    status: str
    attempts: int
    exit_code: int | None
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    log_path: str | None
    timeout_seconds: float | None
    on_error: str
    max_attempts: int
    env_keys: list[str]


class TaskDetail(TaskView):
    workflow_id: str
    executions: list[ExecutionView]


class WorkflowSummary(_View):
    id: str
    name: str
    description: str | None
    status: str
    source: str
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    owner_pid: int | None
    task_counts: dict[str, int]


class WorkflowDetail(WorkflowSummary):
    variables: dict[str, Any]
    max_parallel: int
    base_dir: str
    tasks: list[TaskView]
