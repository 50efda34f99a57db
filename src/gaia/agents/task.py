"""Agent tasks and their results: what goes into the queue and what comes out."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from gaia._task_type import AUTO_AGENT, TaskType

__all__ = [
    "AI_TASK_TYPES",
    "AUTO_AGENT",
    "AgentOutput",
    "AgentResult",
    "AgentTask",
    "Isolation",
    "TaskStatus",
    "TaskType",
    "render_prompt",
]


AI_TASK_TYPES = frozenset({TaskType.code, TaskType.review, TaskType.refactor, TaskType.test})
# Task types that change code: they get their own worktree unless told otherwise.
_ISOLATED_BY_DEFAULT = frozenset({TaskType.code, TaskType.refactor})


class Isolation(StrEnum):
    none = "none"
    worktree = "worktree"


class TaskStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    timed_out = "timed_out"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (TaskStatus.queued, TaskStatus.running)


@dataclass
class AgentTask:
    """One unit of work for an agent (``agent_id`` ``auto``: the bridge chooses)."""

    instruction: str
    agent_id: str = AUTO_AGENT
    task_type: TaskType = TaskType.code
    context: dict[str, Any] = field(default_factory=dict)
    work_dir: Path | None = None
    timeout: float | None = None
    priority: int = 0
    isolation: Isolation | None = None  # None: worktree for code/refactor, else none
    visible: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    meta: dict[str, Any] = field(default_factory=dict)
    # Extra environment for the agent (a workflow task's env). Never stored or shown, so a
    # task adopted after a restart runs without it.
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def effective_isolation(self) -> Isolation:
        if self.isolation is not None:
            return self.isolation
        return Isolation.worktree if self.task_type in _ISOLATED_BY_DEFAULT else Isolation.none

    @property
    def prompt(self) -> str:
        return render_prompt(self.instruction, self.context)


def render_prompt(instruction: str, context: dict[str, Any]) -> str:
    """The instruction, preceded by the context map as a short structured preamble."""
    if not context:
        return instruction
    lines = ["Context:"]
    for key, value in context.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        if "\n" in text:
            # Long values (diffs) go in a fenced block so the model sees where they end.
            lines.append(f"- {key}:\n```\n{text.rstrip()}\n```")
        else:
            lines.append(f"- {key}: {text}")
    return "\n".join(lines) + "\n\nTask:\n" + instruction


@dataclass
class AgentOutput:
    """What an adapter read from its CLI's structured output."""

    ok: bool
    text: str = ""
    error: str | None = None
    exit_code: int | None = None
    session_id: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    num_turns: int | None = None
    duration_ms: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentResult:
    """A finished task: the agent's output, how the process ended, and the branch it left."""

    task_id: str
    agent_id: str
    status: TaskStatus
    output: str = ""
    error: str | None = None
    exit_code: int | None = None
    session_id: str | None = None
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    num_turns: int | None = None
    duration_ms: int | None = None
    branch: str | None = None
    commit: str | None = None
    base_commit: str | None = None
    diff_stat: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status is TaskStatus.succeeded
