"""Retrying one failed task of an ended run: which tasks go back to pending, and the claim.

The failed task goes back to pending, and so do its dependents (direct or not) that were
skipped or cancelled and whose other dependencies are satisfied, so that they can run
once it completes. Every other task keeps its state: a run with two failed tasks whose
one is retried stays failed for the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update

from gaia._owner import Owner
from gaia.errors import ConflictError, NotFoundError
from gaia.storage.db import Database
from gaia.storage.models import workflow_tasks_table, workflows_table
from gaia.storage.types import utcnow
from gaia.workflows.status import RunStatus, WorkflowTaskStatus

__all__ = ["claim_retry", "retry_set"]

W = workflows_table
T = workflow_tasks_table

RETRYABLE_RUN = (RunStatus.failed, RunStatus.cancelled, RunStatus.interrupted)
NOT_RUN = (WorkflowTaskStatus.skipped, WorkflowTaskStatus.cancelled, WorkflowTaskStatus.pending)


def retry_set(
    task_key: str,
    tasks: Sequence[Mapping[str, Any]],
    statuses: Mapping[str, str],
) -> list[str]:
    """The tasks a retry of ``task_key`` runs again, in the definition's order.

    ``tasks`` are the stored definition's tasks (``id``, ``dependencies``, ``on_error``),
    in a topological order (the definition's order is one: the loader checks it).
    """
    chosen = {task_key}

    def satisfied(key: str, on_error: Mapping[str, str]) -> bool:
        status = statuses.get(key)
        if status == WorkflowTaskStatus.completed:
            return True
        return status == WorkflowTaskStatus.failed and on_error.get(key) == "continue"

    on_error = {str(t["id"]): str(t.get("on_error", "fail")) for t in tasks}
    for task in _topological(tasks):
        key = str(task["id"])
        deps = list(task.get("dependencies", []))
        if key in chosen or statuses.get(key) not in NOT_RUN:
            continue
        if any(d in chosen for d in deps) and all(
            d in chosen or satisfied(d, on_error) for d in deps
        ):
            chosen.add(key)
    return [str(t["id"]) for t in tasks if t["id"] in chosen]


def _topological(tasks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tasks, dependencies first (a definition may list a task before its deps)."""
    by_key = {str(t["id"]): t for t in tasks}
    done: set[str] = set()
    ordered: list[Mapping[str, Any]] = []
    for task in tasks:
        stack: list[tuple[str, bool]] = [(str(task["id"]), False)]
        while stack:
            key, expanded = stack.pop()
            if key in done or key not in by_key:
                continue
            if expanded:
                done.add(key)
                ordered.append(by_key[key])
                continue
            stack.append((key, True))
            stack.extend((str(d), False) for d in by_key[key].get("dependencies", []))
    return ordered


def claim_retry(
    db: Database, run_id: str, task_key: str, owner: Owner
) -> tuple[Any, list[Any], list[str]]:
    """Make the failed ``task_key`` (and its dependents that it kept from running) pending
    and claim the run for ``owner``, in one transaction.

    Returns (run row, task rows, keys made pending). 409 when the run is running or not
    resumable, or the task did not fail; 404 for an unknown task.
    """
    now = utcnow()
    with db.write() as conn:
        row = conn.execute(select(W).where(W.c.id == run_id)).first()
        if row is None:
            raise NotFoundError.of("workflow", run_id)
        name = f"workflow {row.name!r} ({run_id})"
        if row.status not in RETRYABLE_RUN:
            raise ConflictError(
                f"cannot retry a task of {name}: it is {row.status}"
                + ("; stop it first" if row.status == RunStatus.running else "")
            )
        statuses = {
            str(key): str(status)
            for key, status in conn.execute(
                select(T.c.task_key, T.c.status).where(T.c.workflow_id == run_id)
            ).all()
        }
        if task_key not in statuses:
            raise NotFoundError(
                f"workflow {run_id!r} has no task {task_key!r}",
                details={"kind": "task", "id": task_key},
            )
        if statuses[task_key] != WorkflowTaskStatus.failed:
            raise ConflictError(
                f"cannot retry task {task_key!r} of {name}: it is {statuses[task_key]}, not failed"
            )
        keys = retry_set(task_key, (row.spec or {}).get("tasks", []), statuses)
        conn.execute(
            update(W)
            .where(W.c.id == run_id)
            .values(
                status=RunStatus.running,
                owner_pid=owner.pid,
                owner_host=owner.host,
                owner_started_at=owner.started_at,
                heartbeat_at=now,
                stop_requested_at=None,
                finished_at=None,
                error=None,
                updated_at=now,
            )
        )
        conn.execute(
            update(T)
            .where(T.c.workflow_id == run_id, T.c.task_key.in_(keys))
            .values(status=WorkflowTaskStatus.pending, error=None, exit_code=None, updated_at=now)
        )
        row = conn.execute(select(W).where(W.c.id == run_id)).first()
        tasks = conn.execute(
            select(T).where(T.c.workflow_id == run_id).order_by(T.c.position)
        ).all()
    return row, list(tasks), keys
