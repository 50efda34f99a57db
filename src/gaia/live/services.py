"""Live watches of the services views (see gaia.live).

``services`` (the list): ``services`` with every service's state when any changes, and
``metrics`` with new CPU/memory samples. ``service:NAME`` (one service's page):
``service`` (its state), ``log`` (new lines of its output), ``events`` (new events),
``health`` (new health check results) and ``metrics`` (new samples).

Each poll is one trip to a worker thread that makes a few small reads after cursors (ids,
times, a file offset) and sends only what is new: a page nothing happens on costs the
daemon a handful of indexed queries a second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gaia.live.base import POLL_INTERVAL, RECHECK_SECONDS, LiveEvent, Watch, WatchError
from gaia.runtime import Runtime
from gaia.services.feed import (
    LogFollower,
    events_after,
    health_after,
    last_metric_id,
    metrics_after,
    states,
)
from gaia.services.manager import ServiceManager
from gaia.storage.db import Database

__all__ = ["LIST_HISTORY", "LOG_TAIL", "PAGE_HISTORY", "WATCHES"]

LIST_HISTORY = 30  # samples per service a list page starts with (its sparklines)
PAGE_HISTORY = 240  # samples a service's page starts with (its charts)
LOG_TAIL = 200  # lines of the log a service's page starts with
EVENTS_START = 100  # events a service's page starts with
NEVER = datetime.min.replace(tzinfo=UTC)  # before any health check


@dataclass
class _Committed:
    """Whether anything was committed to the database since the last look.

    ``Database.generation`` costs no query; while it stays the same the database reads
    are skipped, but for one every ``RECHECK_SECONDS`` (what it cannot see: another
    database server's writers). The supervisor's memory, which the states overlay,
    changes only with an event it records, so it is seen too.
    """

    db: Database
    seen: object = None
    checked: float = -math.inf

    def __call__(self) -> bool:
        now = time.monotonic()
        current = self.db.generation()
        if current is not None and current == self.seen and now - self.checked < RECHECK_SECONDS:
            return False
        self.seen, self.checked = current, now
        return True


@dataclass
class _ListFollower:
    manager: ServiceManager
    last_states: list[dict[str, Any]] | None = None
    metric_cursor: int | None = None
    committed: _Committed = field(init=False)

    def __post_init__(self) -> None:
        self.committed = _Committed(self.manager.db)

    def poll(self) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        if not self.committed():
            return out
        current = states(self.manager)
        if current != self.last_states:
            self.last_states = current
            out.append(("services", {"services": current}))
        if self.metric_cursor is None:  # the start: each service's recent history
            self.metric_cursor = last_metric_id(self.manager)
            samples = [
                sample
                for row in current
                for sample in metrics_after(self.manager, [row["id"]], 0, LIST_HISTORY)
            ]
            out.append(("metrics", {"samples": samples, "initial": True}))
            return out
        samples = metrics_after(self.manager, None, self.metric_cursor, 1000)
        if samples:
            self.metric_cursor = samples[-1]["id"]
            out.append(("metrics", {"samples": samples}))
        return out


@dataclass
class _ServiceFollower:
    manager: ServiceManager
    name: str
    service_id: str
    log: LogFollower
    last_state: dict[str, Any] | None = None
    event_cursor: int | None = None
    metric_cursor: int | None = None
    health_cursor: datetime | None = None
    started: bool = False
    committed: _Committed = field(init=False)

    def __post_init__(self) -> None:
        self.committed = _Committed(self.manager.db)

    def poll(self) -> list[LiveEvent]:
        """The log and the checks (files, memory) each time; the database when it changed."""
        out: list[LiveEvent] = []
        first = not self.started
        self.started = True
        lines, skipped = self.log.read(LOG_TAIL)
        # None asks for the recorded history: only at the start (it flushes the recorder).
        after = None if first else (self.health_cursor or NEVER)
        checks, self.health_cursor = health_after(self.manager, self.name, after)
        if self.committed():
            out.extend(self._recorded(first))
        if lines or skipped or first:
            out.append(("log", {"lines": lines, "skipped_bytes": skipped, "initial": first}))
        if checks or first:
            out.append(("health", {"checks": checks, "initial": first}))
        return out

    def _recorded(self, first: bool) -> list[LiveEvent]:
        out: list[LiveEvent] = []
        found = states(self.manager, self.name)
        if not found:
            raise WatchError(f"service {self.name!r} is no longer registered")
        if found[0] != self.last_state:
            self.last_state = found[0]
            out.append(("service", found[0]))
        events = events_after(
            self.manager, self.service_id, self.event_cursor or 0, EVENTS_START if first else 1000
        )
        if events:
            self.event_cursor = events[-1]["id"]
        if events or first:
            out.append(("events", {"events": events, "initial": first}))
        samples = metrics_after(
            self.manager, [self.service_id], self.metric_cursor or 0, PAGE_HISTORY
        )
        if samples:
            self.metric_cursor = samples[-1]["id"]
        if samples or first:
            out.append(("metrics", {"samples": samples, "initial": first}))
        return out


async def _follow(poll: Callable[[], list[LiveEvent]]) -> AsyncIterator[LiveEvent]:
    while True:
        for item in await asyncio.to_thread(poll):
            yield item
        await asyncio.sleep(POLL_INTERVAL)


async def _watch_services(runtime: Runtime, _argument: str) -> AsyncIterator[LiveEvent]:
    follower = _ListFollower(runtime.services)
    async for item in _follow(follower.poll):
        yield item


async def _watch_service(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    if not argument:
        raise WatchError("service: needs a service's name (service:NAME)")
    manager = runtime.services
    record = await asyncio.to_thread(manager.registry.get, argument)
    follower = _ServiceFollower(
        manager, record.name, record.id, LogFollower(manager.supervisor.log_path(record.name))
    )
    async for item in _follow(follower.poll):
        yield item


WATCHES: dict[str, Watch] = {"services": _watch_services, "service": _watch_service}
