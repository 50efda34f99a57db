"""The agent bridge: a persistent priority queue, a worker pool and per-agent limits.

Every task is a database row before it is queued, so a daemon restart finds the queue
where it left it. In memory each agent has a heap ordered by (priority descending,
sequence number); one dispatcher starts the best queued task whose agent has a free
slot, while fewer than ``agent_workers`` tasks run. A full agent therefore never holds
a worker that another agent's task could use, and a task never starts while a
higher-priority task that could start is waiting (no priority inversion).

Lifecycle: ``created`` → ``running`` (start) → ``closing`` (close: no new tasks,
running ones get a grace period, then are cancelled) → ``closed``. Queued tasks stay
queued in the database across a close.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from gaia._duration import format_duration
from gaia.agents.base import Agent, AgentRun, Launcher
from gaia.agents.queue import AgentQueues
from gaia.agents.registry import AgentRegistry
from gaia.agents.results import resolve_when_recorded
from gaia.agents.stats import AgentStats, Counters
from gaia.agents.store import AgentStore, StoredOwner, StoredTask
from gaia.agents.task import (
    AUTO_AGENT,
    AgentOutput,
    AgentResult,
    AgentTask,
    TaskStatus,
)
from gaia.agents.workspace import (
    Workspace,
    commit_workspace,
    prepare_workspace,
    result_from_output,
)
from gaia.agents.worktree import remove_worktree
from gaia.errors import (
    AgentError,
    AgentUnavailableError,
    ConflictError,
    GaiaError,
    NotFoundError,
    StorageError,
)
from gaia.storage.types import utcnow

__all__ = ["AgentBridge", "BridgeConfig", "BridgeState"]

log = logging.getLogger("gaia.agents")

# Whose queue a task is in. The daemon adopts the queued tasks a stopped daemon left;
# tasks of another process (an in-process workflow run) are resubmitted by their run.
DAEMON_ORIGIN = "daemon"
PROCESS_ORIGIN = "process"


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


@dataclass
class _Live:
    """A task this bridge owns, from queued to finished."""

    task: AgentTask
    timeout: float
    future: asyncio.Future[AgentResult]
    runner: asyncio.Task[None] | None = None
    started: float | None = None
    finished: bool = False  # recorded; its future resolves once the database holds it


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
        self._live: dict[str, _Live] = {}
        self._queue = AgentQueues()
        self._active: dict[str, int] = {}
        self._running = 0
        self._seq = 0
        self._counters: dict[str, Counters] = {}
        self.peak_concurrency: dict[str, int] = {}
        # When a list, every start and finish is appended in the exact order the queue saw
        # them, so that a benchmark can check priority order and limits from outside.
        self.trace: list[tuple[str, str]] | None = None
        self.paused = False

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
        return self._recover() if adopt else []

    def _recover(self) -> list[tuple[AgentTask, int]]:
        dead = [tid for tid, owner in self.store.running_tasks() if not self._owner_alive(owner)]
        self.store.abandon(
            dead, TaskStatus.failed, "interrupted: the gaia process running it stopped"
        )
        adopted: list[tuple[AgentTask, int]] = []
        orphaned: list[str] = []
        for task, seq, owner, origin in self.store.queued_tasks():
            if self._owner_alive(owner):
                continue
            if origin != self.origin:
                orphaned.append(task.id)  # a workflow run's task: the run will resubmit it
                continue
            adopted.append((task, seq))
        self.store.claim([task.id for task, _ in adopted])
        self.store.abandon(orphaned, TaskStatus.cancelled, "interrupted: its owner stopped")
        if adopted or dead:
            log.info("agent queue recovered: %d queued, %d interrupted", len(adopted), len(dead))
        return adopted

    def _owner_alive(self, owner: StoredOwner) -> bool:
        # Tasks this very process recorded (a daemon's earlier bridge) are not running.
        return owner.pid != os.getpid() and owner.alive()

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
        candidates = self.registry.accepting(task_type, ai_only=task_type not in ("shell",))
        if not candidates:
            candidates = self.registry.accepting(task_type)
        if not candidates:
            raise AgentUnavailableError(
                f"no available agent takes {task_type} tasks "
                f"(registered: {', '.join(self.registry.names()) or 'none'})"
            )
        best: Agent = min(candidates, key=lambda agent: self.load(agent.spec.id))
        return best.spec.id

    def load(self, agent_id: str) -> int:
        return self._active.get(agent_id, 0) + self._queue.queued(agent_id)

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
        if live.runner is None:
            self._dequeue(live)
            result = AgentResult(
                task_id=task_id,
                agent_id=live.task.agent_id,
                status=TaskStatus.cancelled,
                error="cancelled before it started",
            )
            self._finish(live, result, None, None)
            return await asyncio.shield(live.future)
        live.runner.cancel()
        await asyncio.wait([live.runner])
        if not live.finished:  # cancelled before its first step: _run never ran
            self._finish(
                live,
                AgentResult(
                    task_id=task_id,
                    agent_id=live.task.agent_id,
                    status=TaskStatus.cancelled,
                    error="cancelled before it started",
                ),
                None,
                live.started,
            )
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
                active=self._active.get(agent, 0),
                queued=self._queue.queued(agent),
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

    def _enqueue(self, task: AgentTask, seq: int, timeout: float) -> _Live:
        future: asyncio.Future[AgentResult] = asyncio.get_running_loop().create_future()
        live = _Live(task=task, timeout=timeout, future=future)
        self._live[task.id] = live
        agent_id = task.agent_id
        self._queue.push(agent_id, task.priority, seq, task.id)
        return live

    def _dequeue(self, live: _Live) -> None:
        # The heap entry stays; _dispatch drops entries whose task is no longer live.
        self._queue.withdraw(live.task.agent_id)

    def _limit(self, agent_id: str) -> int:
        if agent_id in self.registry:
            return self.registry.get(agent_id).spec.max_concurrency
        return 1  # unregistered since it was queued: started only to fail clearly

    def _dispatch(self) -> None:
        if self.state is not BridgeState.running or self.paused:
            return
        while self._running < self.config.workers:
            picked = self._queue.pop_best(self._has_room, self._waiting)
            if picked is None:
                return
            best_agent, task_id = picked
            live = self._live[task_id]
            active = self._active.get(best_agent, 0) + 1
            self._active[best_agent] = active
            self.peak_concurrency[best_agent] = max(
                self.peak_concurrency.get(best_agent, 0), active
            )
            self._running += 1
            if self.trace is not None:
                self.trace.append(("start", live.task.id))
            live.started = time.monotonic()
            live.runner = asyncio.create_task(self._run(live), name=f"agent-task-{live.task.id}")

    def _waiting(self, task_id: str) -> bool:
        live = self._live.get(task_id)
        return live is not None and live.runner is None

    def _has_room(self, agent_id: str) -> bool:
        return self._active.get(agent_id, 0) < self._limit(agent_id)

    # -- running one task ------------------------------------------------------------

    async def _run(self, live: _Live) -> None:
        task = live.task
        execution_id = str(uuid.uuid4())
        prepared: Workspace | None = None
        result: AgentResult
        try:
            agent = self.registry.require(task.agent_id)
            prepared = await prepare_workspace(task, self.config.worktrees_dir)
            log_path = self.config.logs_dir / f"{task.id}.log"
            self.store.mark_started(
                task.id,
                execution_id,
                task.agent_id,
                work_dir=str(prepared.cwd),
                worktree=None if prepared.worktree is None else str(prepared.worktree.path),
                log_path=str(log_path),
                meta=prepared.meta,
            )
            output = await self._execute(agent, live, prepared.cwd, log_path, execution_id)
            result = result_from_output(task, output)
            if prepared.worktree is not None:
                await commit_workspace(prepared.worktree, task, result)
        except asyncio.CancelledError:
            result = AgentResult(
                task_id=task.id,
                agent_id=task.agent_id,
                status=TaskStatus.cancelled,
                error="cancelled while running",
            )
        except TimeoutError:
            result = AgentResult(
                task_id=task.id,
                agent_id=task.agent_id,
                status=TaskStatus.timed_out,
                error=f"timed out after {format_duration(live.timeout)}",
            )
            if prepared is not None and prepared.worktree is not None:
                await commit_workspace(prepared.worktree, task, result)
        except GaiaError as exc:
            result = AgentResult(
                task_id=task.id, agent_id=task.agent_id, status=TaskStatus.failed, error=str(exc)
            )
        except Exception as exc:  # an adapter bug must fail the task, not the bridge
            log.exception("agent task %s crashed", task.id)
            result = AgentResult(
                task_id=task.id,
                agent_id=task.agent_id,
                status=TaskStatus.failed,
                error=f"internal error: {exc!r}",
            )
        if prepared is not None:
            result.meta.update(prepared.meta)
        if prepared is not None and prepared.worktree is not None:
            result.meta["worktree"] = str(prepared.worktree.path)
            if self.config.worktree_retention <= 0:
                await asyncio.to_thread(
                    remove_worktree, prepared.worktree.repo, prepared.worktree.path
                )
        self._finish(live, result, execution_id if prepared is not None else None, live.started)

    async def _execute(
        self, agent: Agent, live: _Live, cwd: Path, log_path: Path, execution_id: str
    ) -> AgentOutput:
        task = live.task
        launcher = self.launcher
        if task.visible:
            if self.visible_launcher is None:
                raise AgentError("visible runs need tmux, which is not available here")
            launcher = self.visible_launcher
        run = AgentRun(
            task=task,
            prompt=task.prompt,
            cwd=cwd,
            log_path=log_path,
            stderr_path=log_path.with_suffix(".err"),
            cookie=f"agent/{task.id}",
            kill_grace=self.config.kill_grace,
            launcher=launcher,
            env={**self.base_env, **task.env},
            on_start=lambda pid: self.store.set_pid(execution_id, pid),
        )
        async with asyncio.timeout(live.timeout):
            return await agent.execute(run)

    def _finish(
        self, live: _Live, result: AgentResult, execution_id: str | None, started: float | None
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
        if live.runner is not None:
            self._active[task.agent_id] -= 1
            self._running -= 1
            if self.trace is not None:
                self.trace.append(("finish", task.id))
        self._live.pop(task.id, None)
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
        removed = 0
        for repo, path in self.store.finished_worktrees(before):
            if Path(path).exists():
                remove_worktree(Path(repo), Path(path))
                removed += 1
        return removed
