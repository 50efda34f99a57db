"""The bridge's worker pool: which queued task starts next, within every limit.

One heap per agent (``AgentQueues``) orders its tasks by priority, then by arrival. The
scheduler starts the best waiting task whose agent has a free slot, while fewer than
``workers`` tasks run. A full agent therefore never holds a worker that another agent's
task could use, and a task never starts while a higher-priority task that could start
is waiting (no priority inversion). It counts, and never awaits: the bridge starts and
finishes the tasks it picks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from gaia.agents.queue import AgentQueues
from gaia.agents.task import AgentResult, AgentTask

__all__ = ["LiveTask", "Scheduler"]


@dataclass
class LiveTask:
    """A task a bridge owns, from queued to finished."""

    task: AgentTask
    timeout: float
    future: asyncio.Future[AgentResult]
    runner: asyncio.Task[None] | None = None
    started: float | None = None
    finished: bool = False  # recorded; its future resolves once the database holds it


class Scheduler:
    """Live tasks, the queue, and what runs per agent; ``limit(agent)`` is its cap."""

    def __init__(self, limit: Callable[[str], int]) -> None:
        self.limit = limit
        self.live: dict[str, LiveTask] = {}
        self.queue = AgentQueues()
        self.active: dict[str, int] = {}
        self.running = 0
        self.peak_concurrency: dict[str, int] = {}
        # When a list, every start and finish is appended in the exact order the queue saw
        # them, so that a benchmark can check priority order and limits from outside.
        self.trace: list[tuple[str, str]] | None = None

    def enqueue(self, task: AgentTask, seq: int, timeout: float) -> LiveTask:
        future: asyncio.Future[AgentResult] = asyncio.get_running_loop().create_future()
        live = LiveTask(task=task, timeout=timeout, future=future)
        self.live[task.id] = live
        self.queue.push(task.agent_id, task.priority, seq, task.id)
        return live

    def withdraw(self, live: LiveTask) -> None:
        """A queued task leaves the queue (cancelled before it started)."""
        # The heap entry stays; next_to_start drops entries whose task is no longer live.
        self.queue.withdraw(live.task.agent_id)

    def load(self, agent_id: str) -> int:
        """Tasks of ``agent_id`` running or queued."""
        return self.active.get(agent_id, 0) + self.queue.queued(agent_id)

    def queued(self, agent_id: str) -> int:
        return self.queue.queued(agent_id)

    def next_to_start(self, workers: int) -> LiveTask | None:
        """The task to start now, counted as running; None while none may start."""
        if self.running >= workers:
            return None
        picked = self.queue.pop_best(self._has_room, self._waiting)
        if picked is None:
            return None
        agent_id, task_id = picked
        live = self.live[task_id]
        active = self.active.get(agent_id, 0) + 1
        self.active[agent_id] = active
        self.peak_concurrency[agent_id] = max(self.peak_concurrency.get(agent_id, 0), active)
        self.running += 1
        if self.trace is not None:
            self.trace.append(("start", task_id))
        return live

    def finished(self, live: LiveTask) -> None:
        """``live`` is done: its slot (if it had started) is free, and it is no longer live."""
        task = live.task
        if live.runner is not None:
            self.active[task.agent_id] -= 1
            self.running -= 1
            if self.trace is not None:
                self.trace.append(("finish", task.id))
        self.live.pop(task.id, None)

    def _waiting(self, task_id: str) -> bool:
        live = self.live.get(task_id)
        return live is not None and live.runner is None

    def _has_room(self, agent_id: str) -> bool:
        return self.active.get(agent_id, 0) < self.limit(agent_id)
