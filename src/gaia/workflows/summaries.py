"""Workflow run summaries, read straight from a SQLite file.

`gaia workflow list` is a short process: importing SQLAlchemy (and the tables, engine
and store over it) was a third of its time. Here the same summaries as
``WorkflowStore.list`` come from two queries through ``sqlite3``; any other database URL
goes through the store. tests/workflows/test_summaries.py checks both give the same.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from gaia.storage.db import Database
from gaia.workflows.status import RunStatus
from gaia.workflows.views import WorkflowSummary, seconds_between

__all__ = ["has_running_runs", "list_summaries", "name_pattern"]

_COLUMNS = (
    "id, name, description, status, source, error, created_at, started_at, finished_at, owner_pid"
)


def name_pattern(name: str) -> str:
    """A LIKE pattern (escape character ``\\``) for names containing ``name``."""
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_summaries(
    db: Database, status: str | None = None, limit: int = 100, *, name: str | None = None
) -> list[WorkflowSummary]:
    """The newest ``limit`` runs (with ``status`` only, and only those whose name contains
    ``name`` ignoring ASCII case, if given), newest first."""
    if db.sqlite_file is None:
        from gaia.workflows.store import WorkflowStore

        return WorkflowStore(db).list(status, limit, name=name)
    clauses: list[str] = []
    params: list[object] = []
    if status:
        clauses.append("status = ?")
        params.append(status)
    if name:
        # SQLite's LIKE ignores ASCII case, as the store's ilike does.
        clauses.append("name LIKE ? ESCAPE '\\'")
        params.append(name_pattern(name))
    where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    with db.sqlite_read() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM gaia_workflows {where}"  # noqa: S608 (constant text, values bound)
            "ORDER BY created_at DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        ids = [row[0] for row in rows]
        # SQLite allows 32,766 parameters; --limit stops at 10,000.
        if ids:
            marks = ",".join("?" * len(ids))
            for run_id, task_status, count in conn.execute(
                "SELECT workflow_id, status, count(*) FROM gaia_workflow_tasks "  # noqa: S608
                f"WHERE workflow_id IN ({marks}) GROUP BY workflow_id, status",
                ids,
            ):
                counts[run_id][task_status] = count
    now = datetime.now(UTC)
    summaries = []
    for run_id, name, description, run_status, source, error, *times, owner_pid in rows:
        created_at, started_at, finished_at = (_timestamp(t) for t in times)
        assert created_at is not None  # NOT NULL
        end = finished_at or (now if started_at else None)
        summaries.append(
            WorkflowSummary(
                id=run_id,
                name=name,
                description=description,
                status=run_status,
                source=source,
                error=error,
                created_at=created_at,
                started_at=started_at,
                finished_at=finished_at,
                duration_seconds=seconds_between(started_at, end),
                owner_pid=owner_pid if run_status == RunStatus.running else None,
                task_counts=counts.get(run_id, {}),
            )
        )
    return summaries


def has_running_runs(db: Database) -> bool:
    """Whether any run is marked running (recovery has nothing to look at otherwise)."""
    if db.sqlite_file is None:
        return True  # let the store look
    with db.sqlite_read() as conn:
        row = conn.execute(
            "SELECT 1 FROM gaia_workflows WHERE status = ? LIMIT 1", [RunStatus.running.value]
        ).fetchone()
    return row is not None


def _timestamp(value: str | None) -> datetime | None:
    # SQLAlchemy stores UTCDateTime on SQLite as naive UTC text, "2026-12-07 10:00:00.123456".
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
