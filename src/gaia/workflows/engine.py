"""The scheduler: runs one workflow run's tasks as their dependencies complete.

Each ready task gets a coroutine; a semaphore of ``max_parallel`` slots caps how many
attempts run at once (a task waiting out its retry backoff gives its slot back).
Finished tasks report through a queue, so the main loop does O(1) work per completion
and a 2,000-task graph schedules as fast as processes can start.

Failure policy (``on_error``): ``fail`` cancels running tasks, skips the rest and fails
the run; ``continue`` records the failure and lets dependents run; ``retry`` retries
up to ``max_attempts`` (default 3) and then fails like ``fail``.

Durability: a task's end is committed to the database before its dependents start and
before listeners hear of it, so a crash at any point never makes ``resume`` re-run a task
whose completion was reported. If the database refuses it, the run fails with a reason
that names the storage failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia._duration import format_duration
from gaia.errors import StorageError
from gaia.storage.models import workflow_executions_table, workflow_tasks_table
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow
from gaia.workflows.backoff import retry_delay
from gaia.workflows.executors import TaskExecutor, TaskOutcome, TaskRun
from gaia.workflows.spec import TaskSpec, WorkflowSpec
from gaia.workflows.status import RunStatus, WorkflowTaskStatus

__all__ = ["RunEvent", "RunStatus", "TaskState", "WorkflowRunner", "WorkflowTaskStatus"]

log = logging.getLogger("gaia.workflows")

_TASKS = workflow_tasks_table
_EXECUTIONS = workflow_executions_table


@dataclass
class TaskState:
    """The scheduler's view of one task."""

    spec: TaskSpec
    row_id: str
    status: WorkflowTaskStatus = WorkflowTaskStatus.pending
    attempts: int = 0  # executions so far, across resumes: numbers the next attempt
    error: str | None = None
    exit_code: int | None = None
    duration: float | None = None
    result: dict[str, Any] = field(default_factory=dict)  # what the executor reported

    @property
    def key(self) -> str:
        return self.spec.id

    @property
    def satisfies_dependents(self) -> bool:
        if self.status is WorkflowTaskStatus.completed:
            return True
        return self.status is WorkflowTaskStatus.failed and self.spec.on_error == "continue"


@dataclass(frozen=True)
class RunEvent:
    """What a progress display needs to know; ``kind`` names the transition."""

    kind: str  # started | finished | retrying | skipped | cancelled
    task: str
    status: WorkflowTaskStatus
    attempt: int = 0
    duration: float | None = None
    error: str | None = None
    delay: float | None = None
    log_path: str | None = None


Listener = Callable[[RunEvent], None]

# What a task was doing when its run was stopped, as its error says it.
_CANCELLED_WHILE = {
    WorkflowTaskStatus.running: "killed while running",
    WorkflowTaskStatus.retrying: "not retried",
    WorkflowTaskStatus.pending: "not run",
}


@dataclass
class RunOptions:
    max_parallel: int
    kill_grace: float
    log_dir: Path
    base_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class _Stop:
    def __init__(self, status: RunStatus, reason: str) -> None:
        self.status = status
        self.reason = reason


class WorkflowRunner:
    """Runs the not-yet-completed tasks of one run to an end state."""

    def __init__(
        self,
        run_id: str,
        spec: WorkflowSpec,
        states: dict[str, TaskState],
        executors: Mapping[str, TaskExecutor],
        recorder: Recorder,
        options: RunOptions,
        listener: Listener | None = None,
    ) -> None:
        self.run_id = run_id
        self.spec = spec
        self.states = states
        self.executors = executors
        self.recorder = recorder
        self.options = options
        self.listener = listener
        self.error: str | None = None
        self.storage_failed = False  # the database refused to record part of the run
        self._slots = asyncio.Semaphore(options.max_parallel)
        self._done: asyncio.Queue[str | _Stop] = asyncio.Queue()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._base_env = {**options.environ, **spec.env}

    # -- control ---------------------------------------------------------------------

    def request_stop(self, status: RunStatus = RunStatus.cancelled, reason: str = "") -> None:
        """Stop the run: running tasks are killed, pending ones cancelled. Idempotent."""
        if not self._stopping:
            self._done.put_nowait(_Stop(status, reason or f"run was {status.value}"))

    # -- main loop -------------------------------------------------------------------

    async def run(self) -> RunStatus:
        graph = {key: list(st.spec.dependencies) for key, st in self.states.items()}
        dependents: dict[str, list[str]] = {key: [] for key in graph}
        remaining: dict[str, int] = {}
        for key, deps in graph.items():
            for dep in deps:
                dependents[dep].append(key)
            remaining[key] = sum(1 for d in deps if not self.states[d].satisfies_dependents)

        # Only pending tasks run: a start or resume makes every task that did not complete
        # pending; a retry of one task makes only it and its dependents pending, and the
        # other failed tasks stay as they are.
        for key, st in self.states.items():
            if st.status is WorkflowTaskStatus.pending and remaining[key] == 0:
                self._launch(st)

        outcome: RunStatus = RunStatus.completed
        try:
            while self._active:
                item = await self._done.get()
                if isinstance(item, _Stop):
                    outcome, self.error = item.status, item.reason
                    await self._cancel_active()
                    break
                self._active.pop(item)
                st = self.states[item]
                if st.status is WorkflowTaskStatus.failed and st.spec.on_error != "continue":
                    outcome = RunStatus.failed
                    self.error = f"task {st.key!r} failed: {st.error}"
                    await self._cancel_active()
                    break
                for child in dependents[item]:
                    remaining[child] -= 1
                    if remaining[child] == 0:
                        self._launch(self.states[child])
        except asyncio.CancelledError:
            self.error = "interrupted: gaia was stopped"
            await asyncio.shield(self._cancel_active())
            self._finish_leftovers(WorkflowTaskStatus.cancelled)
            raise

        self._finish_leftovers(
            WorkflowTaskStatus.skipped
            if outcome is RunStatus.failed
            else WorkflowTaskStatus.cancelled
        )
        unfinished = [
            st
            for st in self.states.values()
            if st.status is not WorkflowTaskStatus.completed and not st.satisfies_dependents
        ]
        if outcome is RunStatus.completed and unfinished:
            # A retry of one task leaves the run's other failed tasks failed; otherwise
            # unreachable unless the graph lied. Never say completed.
            outcome = RunStatus.failed
            failed = [st for st in unfinished if st.status is WorkflowTaskStatus.failed]
            first = (failed or unfinished)[0]
            self.error = f"task {first.key!r} is {first.status.value}: {first.error}"
        return outcome

    def _finish_leftovers(self, status: WorkflowTaskStatus) -> None:
        self._stopping = True
        for st in self.states.values():
            if st.status in (WorkflowTaskStatus.pending, WorkflowTaskStatus.retrying):
                self._set_final(st, status, "not run: " + (self.error or "run ended"))

    def _launch(self, st: TaskState) -> None:
        self._active[st.key] = asyncio.create_task(self._run_task(st), name=f"task:{st.key}")

    async def _cancel_active(self) -> None:
        self._stopping = True
        tasks = list(self._active.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._active.clear()

    # -- one task --------------------------------------------------------------------

    async def _run_task(self, st: TaskState) -> None:
        failures = 0
        try:
            while True:
                async with self._slots:
                    outcome = await self._attempt(st)
                if outcome.ok:
                    await self._end(st, WorkflowTaskStatus.completed, None, outcome.exit_code)
                    break
                failures += 1
                if failures >= st.spec.max_attempts or self._stopping:
                    await self._end(st, WorkflowTaskStatus.failed, outcome.error, outcome.exit_code)
                    break
                delay = retry_delay(st.spec.backoff, failures)
                st.status = WorkflowTaskStatus.retrying
                self.recorder.update(_TASKS, st.row_id, status=st.status, error=outcome.error)
                self._emit("retrying", st, error=outcome.error, delay=delay)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            what = _CANCELLED_WHILE.get(st.status)
            if what is not None:
                # The status already says cancelled; the error says when and why.
                self._set_final(
                    st, WorkflowTaskStatus.cancelled, f"{what}: {self.error or 'run stopped'}"
                )
            raise
        except StorageError as exc:
            # Dependents must not start on an end the database does not hold: stop here.
            self.storage_failed = True
            self.request_stop(
                RunStatus.failed, f"the database could not record task {st.key!r}: {exc}"
            )
            return
        self._done.put_nowait(st.key)

    async def _end(
        self, st: TaskState, status: WorkflowTaskStatus, error: str | None, exit_code: int | None
    ) -> None:
        """Record a task's end, wait until it is committed, and only then announce it."""
        self._set_final(st, status, error, exit_code, announce=False)
        await self.recorder.flushed()
        self._announce(st, error)

    async def _attempt(self, st: TaskState) -> TaskOutcome:
        st.attempts += 1
        attempt = st.attempts
        execution_id = uuid.uuid4().hex
        log_path = self.options.log_dir / f"{st.key}.{attempt}.log"
        started_at = utcnow()
        started = time.monotonic()
        st.status = WorkflowTaskStatus.running
        self.recorder.insert(
            _EXECUTIONS,
            {
                "id": execution_id,
                "workflow_id": self.run_id,
                "task_id": st.row_id,
                "attempt": attempt,
                "status": "running",
                "log_path": str(log_path),
                "started_at": started_at,
                "metadata": {},
            },
        )
        self.recorder.update(
            _TASKS,
            st.row_id,
            status=st.status,
            attempts=attempt,
            log_path=str(log_path),
            started_at=started_at,
            finished_at=None,
            error=None,
            exit_code=None,
            updated_at=started_at,
        )
        self._emit("started", st, attempt=attempt, log_path=str(log_path))
        run = TaskRun(
            workflow_id=self.run_id,
            task=st.spec,
            attempt=attempt,
            execution_id=execution_id,
            working_dir=self._working_dir(st.spec),
            env=self._task_env(st, attempt),
            log_path=log_path,
            kill_grace=self.options.kill_grace,
            dependency_results={
                dep: self.states[dep].result
                for dep in st.spec.dependencies
                if self.states[dep].result
            },
        )

        def on_start(pid: int | None) -> None:
            if pid is not None:
                self.recorder.update(_EXECUTIONS, execution_id, pid=pid)

        executor = self.executors[st.spec.effective_agent]
        try:
            async with asyncio.timeout(st.spec.timeout):
                outcome = await executor.execute(run, on_start)
        except TimeoutError:
            limit = format_duration(st.spec.timeout or 0)
            outcome = TaskOutcome(ok=False, error=f"timed out after {limit}")
        except asyncio.CancelledError:
            self._finish_execution(st, execution_id, started, "cancelled", None, "cancelled")
            raise
        except Exception as exc:  # an executor bug must fail the task, not the scheduler
            log.exception("executor for task %s crashed", st.key)
            outcome = TaskOutcome(ok=False, error=f"executor error: {exc}")
        status = "completed" if outcome.ok else "failed"
        self._finish_execution(st, execution_id, started, status, outcome.exit_code, outcome.error)
        if outcome.result:
            st.result = dict(outcome.result)
            self.recorder.update(_TASKS, st.row_id, metadata=st.result)
        return outcome

    def _finish_execution(
        self,
        st: TaskState,
        execution_id: str,
        started: float,
        status: str,
        exit_code: int | None,
        error: str | None,
    ) -> None:
        st.duration = time.monotonic() - started
        self.recorder.update(
            _EXECUTIONS,
            execution_id,
            status=status,
            exit_code=exit_code,
            error=error,
            finished_at=utcnow(),
            duration_ms=int(st.duration * 1000),
        )

    def _set_final(
        self,
        st: TaskState,
        status: WorkflowTaskStatus,
        error: str | None,
        exit_code: int | None = None,
        *,
        announce: bool = True,
    ) -> None:
        st.status, st.error, st.exit_code = status, error, exit_code
        now = utcnow()
        self.recorder.update(
            _TASKS,
            st.row_id,
            status=status,
            error=error,
            exit_code=exit_code,
            finished_at=now,
            updated_at=now,
        )
        if announce:
            self._announce(st, error)

    def _announce(self, st: TaskState, error: str | None) -> None:
        kind = {
            WorkflowTaskStatus.skipped: "skipped",
            WorkflowTaskStatus.cancelled: "cancelled",
        }.get(st.status, "finished")
        self._emit(kind, st, error=error)

    def _emit(
        self,
        kind: str,
        st: TaskState,
        *,
        attempt: int | None = None,
        error: str | None = None,
        delay: float | None = None,
        log_path: str | None = None,
    ) -> None:
        if self.listener is None:
            return
        event = RunEvent(
            kind=kind,
            task=st.key,
            status=st.status,
            attempt=attempt if attempt is not None else st.attempts,
            duration=st.duration if kind == "finished" else None,
            error=error,
            delay=delay,
            log_path=log_path,
        )
        try:
            self.listener(event)
        except Exception:  # a broken display must not break the run
            log.exception("progress listener failed")

    def _working_dir(self, spec: TaskSpec) -> Path:
        path = Path(spec.working_dir or self.spec.working_dir or ".").expanduser()
        return path if path.is_absolute() else self.options.base_dir / path

    def _task_env(self, st: TaskState, attempt: int) -> dict[str, str]:
        env = {**self._base_env, **st.spec.env}
        env["GAIA_WORKFLOW_ID"] = self.run_id
        env["GAIA_TASK_ID"] = st.key
        env["GAIA_TASK_ATTEMPT"] = str(attempt)
        return env
