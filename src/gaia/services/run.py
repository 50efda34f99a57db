"""One supervised service's run: its state, and how its changes are recorded.

State changes, health changes and restarts are events in the database, written behind
by the recorder. Health check results are kept in memory (the latest ``RECENT_CHECKS``)
and written when they change something, and once a minute otherwise: a hundred
services checked every second would be a hundred rows a second, nearly all alike.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Table, insert

from gaia._proc import ProcessHandle
from gaia.services.socket_probe import ProbeResult
from gaia.services.spec import ServiceSpec
from gaia.storage.models import service_events_table, service_health_table, services_table
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow

__all__ = [
    "CHECK_ROW_EVERY",
    "RECENT_CHECKS",
    "Health",
    "ServiceRun",
    "ServiceState",
    "record_check",
    "record_event",
]

RECENT_CHECKS = 100  # check results kept in memory per service (the health view's history)
# A check whose result is the same as the last one recorded is written at most this
# often: a hundred services checked every second would otherwise be a hundred rows a
# second, all alike.
CHECK_ROW_EVERY = 60.0


class ServiceState(StrEnum):
    stopped = "stopped"
    starting = "starting"
    running = "running"
    stopping = "stopping"
    exited = "exited"
    failed = "failed"


class Health(StrEnum):
    unknown = "unknown"
    healthy = "healthy"
    unhealthy = "unhealthy"


@dataclass
class ServiceRun:
    id: str
    spec: ServiceSpec
    state: ServiceState = ServiceState.stopped
    health: Health = Health.unknown
    handle: ProcessHandle | None = None
    keeper: asyncio.Task[None] | None = None
    stop_requested: bool = False
    restart_count: int = 0
    failures: int = 0  # exits in a row that came sooner than reset_after: sets the backoff
    last_exit_code: int | None = None
    failure: str | None = None  # why it last became failed
    pid_started_at: float | None = None
    log_offset: int = 0  # the log's size when the current process started
    settling: bool = False  # a start is waiting out start_seconds (see _settle)
    restarts: deque[float] = field(default_factory=deque)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    check_failures: int = 0  # failed health checks in a row
    # The newest check results, newest first; the database has those that changed
    # something, and one a minute otherwise (see record_check).
    checks: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_CHECKS))
    check_recorded_at: float = -math.inf  # when the last check row was written
    health_kill: asyncio.Task[int] | None = None  # a restart of an unhealthy service

    @property
    def name(self) -> str:
        return self.spec.name


def record_check(recorder: Recorder, run: ServiceRun, result: ProbeResult, health: Health) -> None:
    """Keep a check's result; write it if it differs from the last or that is old."""
    row = {
        "checked_at": utcnow(),
        "ok": result.ok,
        "health": health.value,
        "latency_ms": result.latency_ms,
        "detail": result.detail,
    }
    last = run.checks[0] if run.checks else None
    run.checks.appendleft(row)
    now = time.monotonic()
    same = last is not None and all(row[k] == last[k] for k in ("ok", "health", "detail"))
    if same and now - run.check_recorded_at < CHECK_ROW_EVERY:
        return
    run.check_recorded_at = now
    recorder.call(_inserter(service_health_table, {"service_id": run.id, **row}))


def record_event(
    recorder: Recorder,
    run: ServiceRun,
    kind: str,
    before: str | None,
    after: str | None,
    message: str,
) -> None:
    """The service's row as it is now, and an event row saying what happened."""
    now = utcnow()
    pid = run.handle.pid if run.handle is not None else None
    values: dict[str, Any] = {
        "state": run.state,
        "health": run.health,
        "pid": pid if run.state in (ServiceState.running, ServiceState.stopping) else None,
        "restart_count": run.restart_count,
        "last_exit_code": run.last_exit_code,
        "updated_at": now,
    }
    if after == ServiceState.running:
        values["started_at"] = now
        values["pid_started_at"] = run.pid_started_at
    if after in (ServiceState.stopped, ServiceState.exited, ServiceState.failed):
        values["stopped_at"] = now
    recorder.update(services_table, run.id, **values)
    row = {
        "service_id": run.id,
        "at": now,
        "kind": kind,
        "from_state": before,
        "to_state": after,
        "message": message,
        "metadata": {},
    }
    recorder.call(_inserter(service_events_table, row))


def _inserter(table: Table, row: dict[str, Any]) -> Callable[[Connection], None]:
    def write(conn: Connection) -> None:
        conn.execute(insert(table), row)

    return write
