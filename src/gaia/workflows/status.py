"""The states of a workflow run and of its tasks.

Apart from the engine so that what only shows them (the CLI's list, the views) does not
import the engine.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RunStatus", "WorkflowTaskStatus"]


class RunStatus(StrEnum):
    """A workflow run's state."""

    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    interrupted = "interrupted"


class WorkflowTaskStatus(StrEnum):
    """A workflow task's state (an agent task's is ``gaia.agents.task.TaskStatus``)."""

    pending = "pending"
    running = "running"
    retrying = "retrying"
    completed = "completed"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"
