"""Which runs changed since the last look, found with a few small indexed queries.

A page listing runs is told of each new run, each change of a run (its status, error,
times) and each change of a running run's task counts. Looking costs, each time:

- the runs whose row changed lately (the ``updated_at`` index: a run's row changes when
  it is created, claimed, finished, stopped or resumed, and at each heartbeat);
- the ids of the running runs (the ``status`` index) and their task counts (a task's
  change does not touch its run's row);
- nothing else unless something changed: then the summaries of those runs, and the
  counts by status when one was added or changed status.

So an idle database costs two index lookups, and a heartbeat is not news (a run's
summary is sent only if it differs from the one sent before).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from gaia.storage.db import Database
from gaia.storage.models import workflow_tasks_table, workflows_table
from gaia.storage.types import utcnow
from gaia.workflows.status import RunStatus
from gaia.workflows.store import WorkflowStore
from gaia.workflows.views import WorkflowSummary

__all__ = ["ACTIVE", "LOOKBACK", "RunChanges", "RunsChanged"]

W = workflows_table
T = workflow_tasks_table
ACTIVE = (RunStatus.pending.value, RunStatus.running.value)
# A change is committed a little after its updated_at is taken (write-behind, and two
# writers may commit out of order): runs updated this long before the newest one seen
# are looked at again.
LOOKBACK = timedelta(seconds=10)
# The first look reports the active runs, at most this many.
FIRST_LIMIT = 1000


@dataclass
class RunsChanged:
    """One look's news: the summaries of the runs that changed (newest first), the count
    of runs by status, the ids of those created since the first look, and the status
    each other one had when last reported, where that is still known (it is forgotten
    of runs finished a while ago)."""

    runs: list[WorkflowSummary]
    counts: dict[str, int]
    created: set[str] = field(default_factory=set)
    previous: dict[str, str] = field(default_factory=dict)

    def may_have_had(self, run_id: str, status: str) -> bool:
        """Whether the run had ``status`` at the last look, or might have."""
        if run_id in self.previous:
            return self.previous[run_id] == status
        return run_id not in self.created


# What a list shows of a run: a change to any of it is news.
_Shown = tuple[object, ...]


def _shown(run: WorkflowSummary) -> _Shown:
    counts = tuple(sorted(run.task_counts.items()))
    return (run.status, counts, run.error, run.started_at, run.finished_at, run.owner_pid)


class RunChanges:
    """Call ``look()`` (in a thread) again and again: the first call reports the active
    (pending and running) runs, each later one what changed since the previous (None
    when nothing did)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = WorkflowStore(db)
        self._updated_at: dict[str, datetime] = {}  # runs updated within LOOKBACK of the newest
        self._shown: dict[str, _Shown] = {}  # what was last reported of each run
        self._running: dict[str, tuple[tuple[str, int], ...]] = {}  # their task counts
        self._counts: dict[str, int] = {}
        self._origin: datetime | None = None  # the first look's time

    def look(self) -> RunsChanged | None:
        first = self._origin is None
        with self.db.read() as conn:
            if first:
                self._origin = utcnow()
            updated = self._updated(conn, first)
            running = self._running_counts(conn)
            active = (
                conn.execute(select(W.c.id).where(W.c.status.in_(ACTIVE))).scalars().all()
                if first
                else []
            )
        moved = {
            run_id for run_id, counts in running.items() if self._running.get(run_id) != counts
        }
        moved |= self._running.keys() - running.keys()
        self._running = running
        if first:
            runs = self._summaries(active[:FIRST_LIMIT]) if active else []
            self._shown = {run.id: _shown(run) for run in runs}
            self._counts = self.store.count_by_status()
            return RunsChanged(runs, self._counts)
        candidates = set(updated) | moved
        if not candidates:
            return None
        news, created, previous = [], set(), {}
        for run in self._summaries(candidates):
            before = self._shown.get(run.id)
            now = _shown(run)
            if before == now:
                continue  # a heartbeat, or a change already reported
            news.append(run)
            if before is not None:
                previous[run.id] = str(before[0])
            elif self._origin is not None and run.created_at > self._origin:
                created.add(run.id)
            self._shown[run.id] = now
        self._forget()
        if not news:
            return None
        if created or any(previous.get(run.id) != run.status for run in news):
            self._counts = self.store.count_by_status()
        return RunsChanged(news, self._counts, created, previous)

    def _forget(self) -> None:
        """Keep what was shown of the runs that may still change, or changed lately."""
        self._shown = {
            run_id: shown
            for run_id, shown in self._shown.items()
            if shown[0] in ACTIVE or run_id in self._updated_at or run_id in self._running
        }

    def _summaries(self, ids: Collection[str]) -> list[WorkflowSummary]:
        return self.store.list(limit=len(ids), ids=ids)

    def _updated(self, conn: Connection, first: bool) -> list[str]:
        """Runs whose row changed since the last look (none on the first: it takes note)."""
        newest = max(self._updated_at.values(), default=None)
        if first:
            newest = conn.execute(select(func.max(W.c.updated_at))).scalar()
        query = select(W.c.id, W.c.updated_at)
        if newest is not None:  # else no run existed at the last look: all are new
            query = query.where(W.c.updated_at > newest - LOOKBACK)
        rows = conn.execute(query).all()
        fresh = [row.id for row in rows if self._updated_at.get(row.id) != row.updated_at]
        self._updated_at.update((row.id, row.updated_at) for row in rows)
        if self._updated_at:
            cutoff = max(self._updated_at.values()) - LOOKBACK
            self._updated_at = {k: at for k, at in self._updated_at.items() if at >= cutoff}
        return [] if first else fresh

    def _running_counts(self, conn: Connection) -> dict[str, tuple[tuple[str, int], ...]]:
        running = (
            conn.execute(select(W.c.id).where(W.c.status == RunStatus.running.value))
            .scalars()
            .all()
        )
        counts: dict[str, dict[str, int]] = {run_id: {} for run_id in running}
        if running:
            for run_id, status, n in conn.execute(
                select(T.c.workflow_id, T.c.status, func.count())
                .where(T.c.workflow_id.in_(running))
                .group_by(T.c.workflow_id, T.c.status)
            ):
                counts[run_id][status] = n
        return {run_id: tuple(sorted(c.items())) for run_id, c in counts.items()}
