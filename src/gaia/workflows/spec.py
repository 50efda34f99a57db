"""The workflow file format, as pydantic models.

The core fields are ``name``, ``variables`` and ``tasks`` (with ``id``, ``type``, ``agent``,
``command``, ``dependencies``); everything else is optional.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gaia._fields import Duration, EnvName, NoNul, StrictModel
from gaia._task_type import AUTO_AGENT, TaskType

__all__ = [
    "SHELL_AGENT",
    "SHELL_TYPES",
    "BackoffSpec",
    "OnError",
    "RetrySpec",
    "TaskSpec",
    "TaskType",
    "WorkflowSpec",
    "default_task_type",
]

SHELL_AGENT = "system"

TaskId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$",
        description="letters, digits, '_', '-' and '.'",
    ),
]


SHELL_TYPES = frozenset({TaskType.shell, TaskType.test})

OnError = Literal["retry", "continue", "fail"]


def default_task_type(agent: object) -> TaskType:
    """The type of a task that gives none: code for an AI agent, else shell."""
    if isinstance(agent, str) and agent and agent != SHELL_AGENT:
        return TaskType.code
    return TaskType.shell


class BackoffSpec(StrictModel):
    """Exponential backoff with full jitter: sleep uniform(0, min(max, initial*multiplier**n))."""

    initial: Duration = 1.0
    multiplier: float = Field(default=2.0, ge=1.0)
    max: Duration = 60.0
    jitter: bool = True


class RetrySpec(StrictModel):
    max_attempts: int = Field(default=3, ge=1, le=100)
    backoff: BackoffSpec = BackoffSpec()


class TaskSpec(StrictModel):
    id: TaskId
    type: TaskType = TaskType.shell
    agent: str | None = Field(default=None, min_length=1)
    command: NoNul = Field(min_length=1)
    dependencies: list[TaskId] = Field(default_factory=list)
    description: str | None = None
    working_dir: NoNul | None = None
    env: dict[EnvName, NoNul] = Field(default_factory=dict)
    timeout: Duration | None = None
    retry: RetrySpec | None = None
    on_error: OnError = "fail"

    @model_validator(mode="before")
    @classmethod
    def _infer_type(cls, data: object) -> object:
        # `agent: claude` without a type is an AI task, not a shell command named claude.
        if isinstance(data, dict) and "type" not in data:
            return {**data, "type": default_task_type(data.get("agent"))}
        return data

    @field_validator("env", mode="before")
    @classmethod
    def _stringify_env(cls, value: object) -> object:
        # YAML turns `PORT: 8080` into an int; an environment only holds strings.
        if isinstance(value, dict):
            return {k: _env_text(v) for k, v in value.items()}
        return value

    @property
    def effective_agent(self) -> str:
        if self.agent:
            return self.agent
        return SHELL_AGENT if self.type in SHELL_TYPES else AUTO_AGENT

    @property
    def runs_in_shell(self) -> bool:
        return self.effective_agent == SHELL_AGENT

    @property
    def max_attempts(self) -> int:
        if self.retry is not None:
            return self.retry.max_attempts
        return RetrySpec().max_attempts if self.on_error == "retry" else 1

    @property
    def backoff(self) -> BackoffSpec:
        return self.retry.backoff if self.retry is not None else BackoffSpec()


class WorkflowSpec(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    variables: dict[str, NoNul] = Field(default_factory=dict)
    max_parallel: int | None = Field(default=None, ge=1)
    env: dict[EnvName, NoNul] = Field(default_factory=dict)
    working_dir: NoNul | None = None
    tasks: list[TaskSpec] = Field(min_length=1)

    @field_validator("variables", "env", mode="before")
    @classmethod
    def _stringify(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: _env_text(v) for k, v in value.items()}
        return value

    def task(self, task_id: str) -> TaskSpec:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)


def _env_text(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
