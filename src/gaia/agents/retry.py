"""Retrying a finished agent task: a new task with the same request."""

from __future__ import annotations

from gaia.agents.store import StoredTask
from gaia.agents.task import AgentTask
from gaia.errors import ConflictError

__all__ = ["retry_of"]


def retry_of(stored: StoredTask) -> AgentTask:
    """A new task asking what ``stored`` asked: same agent (or ``auto``, as requested),
    instruction, type, context, work_dir, timeout, priority, isolation and visibility.

    Only a finished task is retried (a queued or running one is still on its way: cancel
    it first). The new task's metadata names the task it retries.
    """
    old = stored.task
    if not stored.status.finished:
        raise ConflictError(
            f"agent task {old.id} is {stored.status}: only a finished task can be retried "
            "(cancel it first)",
            details={"task_id": old.id, "status": str(stored.status)},
        )
    return AgentTask(
        instruction=old.instruction,
        agent_id=stored.requested_agent,
        task_type=old.task_type,
        context=dict(old.context),
        work_dir=old.work_dir,
        timeout=old.timeout,
        priority=old.priority,
        isolation=old.isolation,
        visible=old.visible,
        meta={"retry_of": old.id},
    )
