"""Live watches of the agents views (see gaia.live).

- ``agents`` (or ``agents:STATUS``): the board, as ``agents`` events: every adapter with
  its availability, slots and figures, the queue best first, the latest tasks (of one
  status).
- ``agent_task:ID``: one task, as ``task`` events (its status and result, on each
  change) and ``output`` events (``{"stream": "stdout"|"stderr", "text", "skipped",
  "events"}``: what its agent wrote since the last one, as it is written).

Each poll asks cheap questions before it reads anything: has anything committed to the
database (``Database.generation``, no query), and only then the small indexed query of
what this view shows; the bridge's in-memory figures; the registry's identity (its PATH
look is repeated every ``RECHECK_SECONDS``). A page left open costs the daemon little.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gaia.agents.board import agents_shown, board, registry_identity, task_counts
from gaia.agents.bridge import AgentBridge
from gaia.agents.task import TaskStatus
from gaia.agents.views import task_view
from gaia.live.agent_output import OutputFollower
from gaia.live.base import POLL_INTERVAL, RECHECK_SECONDS, LiveEvent, Watch, WatchError
from gaia.runtime import Runtime
from gaia.storage.models import agent_executions_table, agent_results_table, agent_tasks_table

__all__ = ["WATCHES"]

# A finished task changes no more (a retry is a new task): look less often.
FINISHED_INTERVAL = 2.0


async def _bridge(runtime: Runtime) -> AgentBridge:
    # Built on first use, which looks for the agent CLIs on PATH: not on the event loop.
    return await asyncio.to_thread(lambda: runtime.agents)


class _Cached:
    """``read()`` again only when ``key()`` changed, or ``RECHECK_SECONDS`` passed (for
    what the key cannot see); else the last value. ``key`` returning None: always read."""

    def __init__(self, read: Callable[[], Any], key: Callable[[], object]) -> None:
        self.read, self.key = read, key
        self._key: object = None
        self._value: Any = None
        self._at = -RECHECK_SECONDS

    def __call__(self) -> Any:
        key, now = self.key(), time.monotonic()
        if key is None or key != self._key or now - self._at >= RECHECK_SECONDS:
            self._value, self._key, self._at = self.read(), key, now
        return self._value


async def _watch_board(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    status = argument or None
    if status is not None and status not in TaskStatus.__members__:
        known = ", ".join(TaskStatus.__members__)
        raise WatchError(f"agents:{status}: unknown task status (known: {known})")
    bridge = await _bridge(runtime)
    counts = _Cached(lambda: task_counts(bridge), bridge.store.db.generation)
    shown = _Cached(lambda: agents_shown(bridge), lambda: registry_identity(bridge))
    last: Any = None
    while True:
        stats = bridge.stats()  # in-memory counters of the loop: read on the loop
        key = (await asyncio.to_thread(lambda: (counts(), shown())), stats)
        if key != last:
            last = key
            yield "agents", await asyncio.to_thread(board, bridge, stats, status=status)
        await asyncio.sleep(POLL_INTERVAL)


def _task_version(bridge: AgentBridge, task_id: str) -> tuple[Any, ...]:
    """Changes when the task's row, result or executions do: three lookups by key."""
    t, r, e = agent_tasks_table.c, agent_results_table.c, agent_executions_table.c
    with bridge.store.db.read() as conn:
        row = conn.execute(select(t.updated_at, t.status).where(t.id == task_id)).first()
        results = conn.execute(select(func.count()).where(r.task_id == task_id)).scalar()
        runs = conn.execute(select(func.count()).where(e.task_id == task_id)).scalar()
    return (None if row is None else tuple(row), results, runs)


async def _watch_task(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    if not argument:
        raise WatchError("agent_task needs a task id: agent_task:ID")
    bridge = await _bridge(runtime)
    task_id = await asyncio.to_thread(bridge.resolve_task, argument)
    version = _Cached(lambda: _task_version(bridge, task_id), bridge.store.db.generation)
    follower = OutputFollower()
    paths: dict[str, Path] = {}
    last: Any = None
    finished = False
    while True:
        current = await asyncio.to_thread(version)
        if current != last:
            last = current
            view = task_view(await asyncio.to_thread(bridge.get_task, task_id))
            finished = TaskStatus(view.status).finished
            if view.log_path:
                log = Path(view.log_path)
                paths = {"stdout": log, "stderr": log.with_suffix(".err")}
            yield "task", view.model_dump(mode="json")
        if paths:
            for chunk in await asyncio.to_thread(follower.read, paths):
                yield "output", chunk
            if await asyncio.to_thread(follower.pending, paths):
                continue  # catching up with a flood: read on at once
        await asyncio.sleep(FINISHED_INTERVAL if finished else POLL_INTERVAL)


WATCHES: dict[str, Watch] = {"agents": _watch_board, "agent_task": _watch_task}
