"""The agent bridge: a persistent priority queue, a worker pool and per-agent limits.

Every task is a database row before it is queued, so a daemon restart finds the queue
where it left it. Which queued task starts next, within the per-agent limits and
``agent_workers``, is the scheduler's choice (gaia.agents.scheduler); running one task
is gaia.agents.runner's; taking over a stopped daemon's queue, gaia.agents.recovery's.

Lifecycle: ``created`` → ``running`` (start) → ``closing`` (close: no new tasks,
running ones get a grace period, then are cancelled) → ``closed``. Queued tasks stay
queued in the database across a close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from gaia.agents.base import Launcher
from gaia.agents.recovery import DAEMON_ORIGIN, PROCESS_ORIGIN, recover_queue
from gaia.agents.registry import AgentRegistry
from gaia.agents.results import resolve_when_recorded
from gaia.agents.runner import RunSetup, run_task
from gaia.agents.scheduler import LiveTask, Scheduler
from gaia.agents.stats import AgentStats, Counters
from gaia.agents.store import AgentStore, StoredTask
from gaia.agents.task import (
    AUTO_AGENT,
    AgentResult,
    AgentTask,
    TaskStatus,
)
from gaia.agents.worktree import remove_worktrees
from gaia.errors import (
    AgentError,
    ConflictError,
    NotFoundError,
    StorageError,
)
from gaia.storage.types import utcnow

__all__ = ["AgentBridge", "BridgeConfig", "BridgeState"]


class BridgeState(StrEnum):
    created = "created"
    running = "running"
    closing = "closing"
    closed = "closed"


@dataclass(frozen=True)
class BridgeConfig:
    workers: int = 8
    default_timeout: float = 1800.0
    kill_grace: float = 5.0
    close_grace: float = 10.0
    worktree_retention: float = 24 * 3600.0
    logs_dir: Path = Path("logs/agents")
    worktrees_dir: Path = Path("worktrees")


class AgentBridge:
    """Queues agent tasks, runs them within limits, records results and statistics."""

    def __init__(
        self,
        store: AgentStore,
        registry: AgentRegistry,
        config: BridgeConfig,
        *,
        launcher: Launcher,
        visible_launcher: Launcher | None = None,
        base_env: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.config = config
        self.launcher = launcher
        self.visible_launcher = visible_launcher
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.state = BridgeState.created
        self.origin = PROCESS_ORIGIN
        self._scheduler = Scheduler(self._limit)
        self._live = self._scheduler.live
        self._seq = 0
        self._counters: dict[str, Counters] = {}
        self.paused = False

    @property
    def trace(self) -> list[tuple[str, str]] | None:
        """Every start and finish in the order the queue saw them, once set to a list."""
        return self._scheduler.trace

    @trace.setter
    def trace(self, value: list[tuple[str, str]] | None) -> None:
        self._scheduler.trace = value

    @property
    def peak_concurrency(self) -> dict[str, int]:
        """The most tasks of each agent that ran at once."""
        return self._scheduler.peak_concurrency

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, *, adopt: bool = False) -> None:
        """Open for tasks; with ``adopt`` (the daemon), take over the queue a stopped
        daemon left: its queued tasks run, its running ones are marked interrupted."""
        adopted = await asyncio.to_thread(self._open, adopt)
        for task, seq in adopted:
            self._enqueue(task, seq, self._timeout_for(task))
        self._dispatch()

    def _open(self, adopt: bool) -> list[tuple[AgentTask, int]]:
        """Read the database (blocking); the queued tasks to adopt, in queue order."""
        if self.state is not BridgeState.created:
            raise AgentError(f"cannot start the agent bridge: it is {self.state}")
        self.origin = DAEMON_ORIGIN if adopt else PROCESS_ORIGIN
        self._seq = self.store.next_seq()
        self._counters = self.store.totals()
        self.state = BridgeState.running
        return recover_queue(self.store, self.origin) if adopt else []

    def close_store(self) -> None:
        """Flush and stop the recorder (for a bridge that never started, or after close)."""
        self.store.close()
        self.state = BridgeState.closed

    async def close(self, grace: float | None = None) -> None:
        """Stop taking tasks, give running ones ``grace`` seconds, then cancel them."""
        if self.state in (BridgeState.closing, BridgeState.closed):
            return
        if self.state is BridgeState.created:
            await asyncio.to_thread(self.close_store)
            return
        self.state = BridgeState.closing
        grace = self.config.close_grace if grace is None else grace
        runners = [live.runner for live in self._live.values() if live.runner is not None]
        if runners:
            _done, pending = await asyncio.wait(runners, timeout=grace)
            for runner in pending:
                runner.cancel()
            if pending:
                await asyncio.wait(pending)
        for live in list(self._live.values()):
            if not live.future.done():
                live.future.set_exception(
                    AgentError(
                        f"gaia is shutting down: task {live.task.id} stays queued and runs "
                        "when the agent bridge starts again"
                    )
                )
                live.future.exception()  # retrieved: nobody may be waiting
        self._live.clear()
        await asyncio.to_thread(self.store.close)
        self.state = BridgeState.closed

    def reconfigure(self, registry: AgentRegistry, config: BridgeConfig) -> None:
        """New agents and limits (a settings reload): queued tasks start if room appeared.

        A running task keeps the agent it started with; a queued task whose agent is
        gone fails clearly when its turn comes, as after an unregister.
        """
        self.registry = registry
        self.config = dataclasses.replace(
            config, logs_dir=self.config.logs_dir, worktrees_dir=self.config.worktrees_dir
        )
        self._dispatch()

    def pause(self) -> None:
        """Keep queueing tasks but start none until ``resume`` (running ones go on)."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._dispatch()

    # -- submitting ------------------------------------------------------------------

    def submit(self, task: AgentTask) -> asyncio.Future[AgentResult]:
        """Queue ``task`` (choosing its agent when ``auto``); the future gets its result."""
        self._admit(task)
        return self._queue_task(task)

    def submit_all(self, tasks: Sequence[AgentTask]) -> list[asyncio.Future[AgentResult]]:
        """Queue every task or none: all are checked before the first is queued."""
        for task in tasks:
            self._admit(task)
        return [self._queue_task(task) for task in tasks]

    def _admit(self, task: AgentTask) -> None:
        """Raise if ``task`` cannot be queued; change nothing but its resolved work_dir."""
        if self.state is BridgeState.created:
            self._open(adopt=False)  # a CLI process opens its bridge on its first task
        if self.state is not BridgeState.running:
            raise AgentError(f"the agent bridge is {self.state}: it takes no new tasks")
        if self.store.recorder.failure is not None:
            raise StorageError(
                f"the agent bridge takes no new tasks: the database refused writes "
                f"({self.store.recorder.failure})"
            )
        requested = task.agent_id or AUTO_AGENT
        if requested == AUTO_AGENT:
            self.choose_agent(str(task.task_type))  # raises when no agent fits
        else:
            self.registry.check_task(self.registry.require(requested), task)
        if task.work_dir is not None:
            task.work_dir = task.work_dir.expanduser().resolve()
            if not task.work_dir.is_dir():
                raise AgentError(f"work_dir {task.work_dir} is not a directory")

    def _queue_task(self, task: AgentTask) -> asyncio.Future[AgentResult]:
        requested = task.agent_id or AUTO_AGENT
        if requested == AUTO_AGENT:
            # Chosen now, not at admission, so that each choice counts the ones before it.
            task.agent_id = self.choose_agent(str(task.task_type))
        seq = self._seq
        self._seq += 1
        self.store.insert_task(task, requested, seq, self.origin)
        live = self._enqueue(task, seq, self._timeout_for(task))
        self._dispatch()
        return live.future

    async def execute(self, task: AgentTask) -> AgentResult:
        """ExecuteTask: queue the task and wait for its result (cancelling cancels it)."""
        future = self.submit(task)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await self.cancel(task.id)
            raise

    async def execute_parallel(self, tasks: Sequence[AgentTask]) -> list[AgentResult]:
        """ExecuteParallel: queue every task at once; the results come back in order."""
        futures = self.submit_all(tasks)
        try:
            return list(await asyncio.gather(*(asyncio.shield(f) for f in futures)))
        except asyncio.CancelledError:
            for task in tasks:
                await self.cancel(task.id, missing_ok=True)
            raise

    async def coordinate(self, tasks: Sequence[AgentTask]) -> list[AgentResult]:
        """CoordinateWorkflow: tasks without an agent go to the least busy one that fits.

        Tasks are assigned one by one, so each choice counts the ones before it.
        """
        for task in tasks:
            if not task.agent_id:
                task.agent_id = AUTO_AGENT
        return await self.execute_parallel(tasks)

    def choose_agent(self, task_type: str) -> str:
        """The available agent accepting ``task_type`` with the fewest active plus queued."""
        return self.registry.least_loaded(task_type, self.load)

    def load(self, agent_id: str) -> int:
        return self._scheduler.load(agent_id)

    # -- cancelling and reading ------------------------------------------------------

    async def cancel(self, task_id: str, *, missing_ok: bool = False) -> AgentResult | None:
        """Cancel a queued or running task; a running one has its process tree killed."""
        if task_id not in self._live and not missing_ok:
            task_id = await asyncio.to_thread(self.resolve_task, task_id)
        live = self._live.get(task_id)
        if live is None:
            if missing_ok:
                return None
            stored = await asyncio.to_thread(self.store.get, task_id)
            if stored is None:
                raise NotFoundError.of("agent task", task_id)
            if stored.status.finished:
                raise ConflictError(f"agent task {task_id} already finished ({stored.status})")
            raise ConflictError(
                f"agent task {task_id} belongs to another gaia process (pid {stored.owner_pid})"
            )
        not_started = AgentResult(
            task_id=task_id,
            agent_id=live.task.agent_id,
            status=TaskStatus.cancelled,
            error="cancelled before it started",
        )
        if live.runner is None:
            self._scheduler.withdraw(live)
            self._finish(live, not_started, None, None)
            return await asyncio.shield(live.future)
        live.runner.cancel()
        await asyncio.wait([live.runner])
        if not live.finished:  # cancelled before its first step: _run never ran
            self._finish(live, not_started, None, live.started)
        return await asyncio.shield(live.future)

    def resolve_task(self, ident: str) -> str:
        """The full id of the task that ``ident`` (a full id or a unique prefix) names."""
        if ident in self._live:
            return ident
        self.store.flush()  # tasks are written behind: a just-queued one must be found too
        return self.store.resolve(ident)

    def get_result(self, task_id: str) -> AgentResult | None:
        """GetResult: the result of a finished task, None while it is queued or running."""
        task_id = self.resolve_task(task_id)
        self.store.flush()  # results are written behind: make the newest visible
        stored = self.store.get(task_id)
        if stored is None:
            raise NotFoundError.of("agent task", task_id)
        return stored.result

    def get_task(self, task_id: str) -> StoredTask:
        stored = self.store.get(self.resolve_task(task_id))
        if stored is None:
            raise NotFoundError.of("agent task", task_id)
        return stored

    def stats(self, agent_id: str | None = None) -> list[AgentStats]:
        """GetAgentStats, for one agent or every agent that is registered or has history."""
        if agent_id is not None:
            if agent_id not in self.registry and agent_id not in self._counters:
                raise NotFoundError.of("agent", agent_id)
            ids = [agent_id]
        else:
            ids = list(dict.fromkeys([*self.registry.names(), *self._counters]))
        return [
            AgentStats.build(
                agent,
                self._counters.get(agent, Counters()),
                active=self._scheduler.active.get(agent, 0),
                queued=self._scheduler.queued(agent),
                peak=self.peak_concurrency.get(agent, 0),
            )
            for agent in ids
        ]

    # -- the queue -------------------------------------------------------------------

    def _timeout_for(self, task: AgentTask) -> float:
        if task.timeout:
            return task.timeout
        if task.agent_id in self.registry:
            agent_timeout = self.registry.get(task.agent_id).spec.timeout
            if agent_timeout:
                return agent_timeout
        return self.config.default_timeout

    def _enqueue(self, task: AgentTask, seq: int, timeout: float) -> LiveTask:
        return self._scheduler.enqueue(task, seq, timeout)

    def _limit(self, agent_id: str) -> int:
        if agent_id in self.registry:
            return self.registry.get(agent_id).spec.max_concurrency
        return 1  # unregistered since it was queued: started only to fail clearly

    def _dispatch(self) -> None:
        if self.state is not BridgeState.running or self.paused:
            return
        while (live := self._scheduler.next_to_start(self.config.workers)) is not None:
            live.started = time.monotonic()
            live.runner = asyncio.create_task(self._run(live), name=f"agent-task-{live.task.id}")

    # -- running one task ------------------------------------------------------------

    async def _run(self, live: LiveTask) -> None:
        setup = RunSetup(
            registry=self.registry,
            store=self.store,
            launcher=self.launcher,
            visible_launcher=self.visible_launcher,
            base_env=self.base_env,
            logs_dir=self.config.logs_dir,
            worktrees_dir=self.config.worktrees_dir,
            kill_grace=self.config.kill_grace,
            worktree_retention=self.config.worktree_retention,
        )
        result, execution_id = await run_task(live.task, live.timeout, setup)
        self._finish(live, result, execution_id, live.started)

    def _finish(
        self, live: LiveTask, result: AgentResult, execution_id: str | None, started: float | None
    ) -> None:
        if live.finished:
            return
        live.finished = True
        task = live.task
        elapsed_ms = None if started is None else int((time.monotonic() - started) * 1000)
        if result.duration_ms is None:
            result.duration_ms = elapsed_ms
        self.store.mark_finished(result, execution_id, elapsed_ms)
        self._counters.setdefault(task.agent_id, Counters()).add(result)
        self._scheduler.finished(live)
        if not live.future.done():
            resolve_when_recorded(self.store.recorder, live.future, result)
        self._dispatch()

    # -- housekeeping ----------------------------------------------------------------

    def save_registry(self) -> None:
        """Record the registered agents and whether each can run now (blocking)."""
        self.store.save_agents((agent.spec, agent.available()) for agent in self.registry.agents())

    def sweep_worktrees(self) -> int:
        """Remove worktrees of tasks finished longer ago than the retention (blocking)."""
        before = utcnow() - timedelta(seconds=self.config.worktree_retention)
        return remove_worktrees(self.store.finished_worktrees(before))
