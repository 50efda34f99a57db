"""What a run's page reads in bulk: its graph's tasks, every attempt, and what changed.

Each is one indexed query for the whole run, so that a page of 5,000 tasks costs a few
requests, and a live page polls only the rows that changed since it last looked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from gaia.errors import NotFoundError
from gaia.storage.db import Database
from gaia.storage.models import (
    workflow_executions_table,
    workflow_tasks_table,
    workflows_table,
)
from gaia.storage.types import utcnow

__all__ = ["AttemptCursor", "TaskCursor", "attempts", "graph_tasks", "task_log_state"]

W = workflows_table
T = workflow_tasks_table
E = workflow_executions_table

# A row is committed a moment after the timestamp it carries (the recorder writes in
# batches): each poll looks back this far before the previous one, and sends only rows
# whose content differs from what it sent.
LOOK_BACK = timedelta(seconds=3)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def graph_tasks(db: Database, run_id: str) -> list[tuple[str, list[str]]]:
    """Each task's id and its dependencies' ids, in the definition's order."""
    with db.read() as conn:
        spec = conn.execute(select(W.c.spec).where(W.c.id == run_id)).scalar()
    if spec is None:
        raise NotFoundError.of("workflow", run_id)
    return [(str(t["id"]), list(t.get("dependencies", []))) for t in spec.get("tasks", [])]


def _attempt(row: Any) -> dict[str, Any]:
    return {
        "task": row.task_key,
        "attempt": row.attempt,
        "status": row.status,
        "exit_code": row.exit_code,
        "error": row.error,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "duration_ms": row.duration_ms,
    }


def _attempts_query(run_id: str) -> Any:
    return (
        select(
            T.c.task_key,
            E.c.attempt,
            E.c.status,
            E.c.exit_code,
            E.c.error,
            E.c.started_at,
            E.c.finished_at,
            E.c.duration_ms,
        )
        .join(T, T.c.id == E.c.task_id)
        .where(E.c.workflow_id == run_id)
    )


def attempts(db: Database, run_id: str) -> list[dict[str, Any]]:
    """Every attempt of every task of the run, by start time (404 for an unknown run)."""
    with db.read() as conn:
        if conn.execute(select(W.c.id).where(W.c.id == run_id)).first() is None:
            raise NotFoundError.of("workflow", run_id)
        rows = conn.execute(_attempts_query(run_id).order_by(E.c.started_at, E.c.attempt)).all()
    return [_attempt(row) for row in rows]


def _task_item(row: Any) -> list[Any]:
    # Compact (a list, not an object): the first event carries every task of the run.
    return [row.task_key, row.status, row.attempts, row.exit_code]


@dataclass
class TaskCursor:
    """The run's tasks as ``[id, status, attempts, exit code]``: all of them on the first
    call, then only those that changed (by ``updated_at``).

    The window is the wall clock's, not the rows': from the previous call's start (less
    LOOK_BACK), so an idle run's rows soon fall out of it and a poll reads nothing.
    """

    db: Database
    run_id: str
    since: datetime | None = None
    sent: dict[str, list[Any]] = field(default_factory=dict)

    def changes(self) -> list[list[Any]]:
        now = utcnow()
        query = select(T.c.task_key, T.c.status, T.c.attempts, T.c.exit_code)
        query = query.where(T.c.workflow_id == self.run_id)
        if self.since is not None:
            query = query.where(T.c.updated_at >= self.since - LOOK_BACK)
        else:
            query = query.order_by(T.c.position)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        self.since = now
        changed = []
        for row in rows:
            item = _task_item(row)
            if self.sent.get(row.task_key) != item:
                self.sent[row.task_key] = item
                changed.append(item)
        return changed

    def counts(self) -> dict[str, int]:
        """Tasks by status, from what was read (no query)."""
        counts: dict[str, int] = {}
        for item in self.sent.values():
            counts[item[1]] = counts.get(item[1], 0) + 1
        return counts


@dataclass
class AttemptCursor:
    """Attempts that started or ended since the last call, from a moment before the
    first (the page reads the earlier ones from ``GET /workflows/{id}/attempts``)."""

    db: Database
    run_id: str
    since: datetime | None = None
    sent: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def changes(self) -> list[dict[str, Any]]:
        now = utcnow()
        after = (self.since or now) - LOOK_BACK
        query = _attempts_query(self.run_id).where(
            or_(E.c.started_at >= after, E.c.finished_at >= after)
        )
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(E.c.started_at)).all()
        self.since = now
        changed = []
        for row in rows:
            item = _attempt(row)
            key = (row.task_key, row.attempt)
            if self.sent.get(key) != item:
                self.sent[key] = item
                changed.append(item)
        return changed


def task_log_state(db: Database, run_id: str, task_key: str) -> dict[str, Any]:
    """A task's status and where its latest attempt logs (one row by its unique key)."""
    with db.read() as conn:
        row = conn.execute(
            select(
                T.c.status,
                T.c.attempts,
                T.c.exit_code,
                T.c.error,
                T.c.log_path,
                T.c.started_at,
                T.c.finished_at,
            ).where(T.c.workflow_id == run_id, T.c.task_key == task_key)
        ).first()
    if row is None:
        raise NotFoundError(
            f"workflow {run_id!r} has no task {task_key!r}",
            details={"kind": "task", "id": task_key},
        )
    return {
        "task": task_key,
        "status": row.status,
        "attempts": row.attempts,
        "exit_code": row.exit_code,
        "error": row.error,
        "log_path": row.log_path,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }
