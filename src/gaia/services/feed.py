"""What a live view follows of services: their state, and what happened after a cursor.

Each read is small and indexed — a service's rows after an id, the services table once,
the growth of a log file — so that following a page that nothing happens on costs next to
nothing. Everything here reads the database or files: call it in a worker thread.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gaia.services.manager import ServiceManager
from gaia.services.supervisor import ServiceState
from gaia.storage.models import service_events_table, service_metrics_table, services_table

__all__ = [
    "LogFollower",
    "events_after",
    "health_after",
    "last_metric_id",
    "metrics_after",
    "states",
]

S = services_table
E = service_events_table
M = service_metrics_table

# The most a log poll reads: a service writing faster is followed by skipping ahead
# (and saying how much was skipped) rather than by reading megabytes every poll.
LOG_READ_MAX = 256 * 1024
# What a follower shows of a log when it starts: its tail.
LOG_START_BYTES = 64 * 1024


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def states(manager: ServiceManager, name: str | None = None) -> list[dict[str, Any]]:
    """Each registered service (or ``name`` only) as the list shows it, by name.

    The state, health, pid and restarts are the supervisor's when it runs the service
    (the database's row is written behind), ``started_at`` is when its current process
    started (ISO time; None unless it is running), so that a page can count its uptime.
    """
    columns = (
        S.c.id,
        S.c.name,
        S.c.spec,
        S.c.state,
        S.c.health,
        S.c.desired_state,
        S.c.pid,
        S.c.restart_count,
        S.c.last_exit_code,
    )
    query = select(*columns).order_by(S.c.name)
    if name is not None:
        query = query.where(S.c.name == name)
    with manager.db.read() as conn:
        rows = conn.execute(query).all()
    supervisor = manager.supervisor
    supervised = set(supervisor.names())
    result = []
    for row in rows:
        spec = row.spec or {}
        state, health, pid = row.state, row.health, row.pid
        restarts = row.restart_count
        started: str | None = None
        if row.name in supervised:
            current_state, current_health, pid = supervisor.state(row.name)
            state, health = current_state.value, current_health.value
            restarts = max(restarts, supervisor.restart_count(row.name))
            began = supervisor.started_at(row.name)
            if current_state is ServiceState.running and began is not None:
                started = datetime.fromtimestamp(began, UTC).isoformat()
        check = spec.get("health_check") or {}
        result.append(
            {
                "id": row.id,
                "name": row.name,
                "description": spec.get("description"),
                "state": state,
                "health": health,
                "desired_state": row.desired_state,
                "pid": pid,
                "port": spec.get("port"),
                "health_check": check.get("type"),
                "restart_count": restarts,
                "last_exit_code": row.last_exit_code,
                "started_at": started,
            }
        )
    return result


def events_after(
    manager: ServiceManager, service_id: str, after: int = 0, limit: int = 100
) -> list[dict[str, Any]]:
    """The service's newest ``limit`` events with an id above ``after``, oldest first."""
    with manager.db.read() as conn:
        rows = conn.execute(
            select(E.c.id, E.c.at, E.c.kind, E.c.from_state, E.c.to_state, E.c.message)
            .where(E.c.service_id == service_id, E.c.id > after)
            .order_by(E.c.id.desc())
            .limit(limit)
        ).all()
    return [{**row._mapping, "at": _iso(row.at)} for row in reversed(rows)]


def last_metric_id(manager: ServiceManager) -> int:
    """The id of the newest metric sample of any service (0 if none): a cursor's start."""
    with manager.db.read() as conn:
        return int(conn.execute(select(func.max(M.c.id))).scalar() or 0)


def metrics_after(
    manager: ServiceManager,
    service_ids: Iterable[str] | None = None,
    after: int = 0,
    limit: int = 120,
) -> list[dict[str, Any]]:
    """The newest ``limit`` CPU/memory samples with an id above ``after``, oldest first.

    Of the services ``service_ids`` (each sample names its ``service``), or of all.
    """
    query = (
        select(
            M.c.id,
            S.c.name.label("service"),
            M.c.sampled_at,
            M.c.cpu_percent,
            M.c.rss_bytes,
            M.c.uptime_seconds,
            M.c.process_count,
        )
        .join(S, S.c.id == M.c.service_id)
        .where(M.c.id > after)
        .order_by(M.c.id.desc())
        .limit(limit)
    )
    if service_ids is not None:
        query = query.where(M.c.service_id.in_(list(service_ids)))
    with manager.db.read() as conn:
        rows = conn.execute(query).all()
    return [{**row._mapping, "sampled_at": _iso(row.sampled_at)} for row in reversed(rows)]


def health_after(
    manager: ServiceManager, name: str, after: datetime | None, limit: int = 50
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Health check results newer than ``after`` (None: the latest ``limit``), oldest
    first, and the newest one's time (the next cursor).

    The first read is the recorded history with the latest checks held in memory
    (``ServiceManager.health``); later ones read only the supervisor's memory, where every
    check of the current run is (the database keeps those that changed something).
    """
    if after is None:
        checks = manager.health(name, limit).history
    else:
        checks = manager.supervisor.recent_checks(name)[:limit]
    fresh = [c for c in checks if after is None or c["checked_at"] > after]
    fresh.sort(key=lambda check: check["checked_at"])
    newest = fresh[-1]["checked_at"] if fresh else after
    return [{**c, "checked_at": _iso(c["checked_at"])} for c in fresh], newest


@dataclass
class LogFollower:
    """Follows a service's log file: its tail first, then each complete new line.

    A file that shrank was rotated: the new one is read from its start. A line without
    its newline yet waits for it, unless a poll finds nothing more (a prompt).
    """

    path: Path
    offset: int | None = None
    _partial: str = ""
    _decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    def read(self, tail_lines: int = 200) -> tuple[list[str], int]:
        """New lines since the last read (the last ``tail_lines`` on the first), and how
        many bytes were skipped because the service wrote faster than a poll reads."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        first = self.offset is None
        if self.offset is None:
            self.offset = max(0, size - LOG_START_BYTES)
        elif size < self.offset:  # rotated: the new file from its start
            self.offset = 0
        if size == self.offset:
            return self._flush_partial(), 0
        skipped = 0
        if size - self.offset > LOG_READ_MAX:
            skipped = size - LOG_READ_MAX - self.offset
            self.offset = size - LOG_READ_MAX
            self._partial = ""
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read(size - self.offset)
        started_mid_file = (first and self.offset > 0) or skipped > 0
        self.offset += len(data)
        text = self._partial + self._decoder.decode(data)
        lines = text.split("\n")
        self._partial = lines.pop()
        if started_mid_file and lines:
            lines = lines[1:]  # the first line was cut by where the read began
        lines = [line.removesuffix("\r") for line in lines]
        if first:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        return lines, skipped

    def _flush_partial(self) -> list[str]:
        """The pending line, once a poll found nothing more: it is all there will be."""
        if not self._partial:
            return []
        line, self._partial = self._partial, ""
        return [line]
