"""WorkflowManager: the workflows component's public face.

It creates runs from definitions, runs them in the current event loop (``gaia workflow
run`` and the daemon both do), stops them in this process or, through the database, in
another one, resumes them, and recovers runs whose owning process died.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import os
import signal
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gaia._owner import current_owner, owner_alive
from gaia._proc import any_alive, find_by_cookie, kill_cookie_holders, signal_all
from gaia.config import Settings
from gaia.errors import ConflictError, StorageError
from gaia.storage.db import Database
from gaia.storage.models import workflows_table
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow
from gaia.workflows.engine import (
    Listener,
    RunOptions,
    RunStatus,
    TaskState,
    WorkflowRunner,
)
from gaia.workflows.engine import WorkflowTaskStatus as TaskStatus
from gaia.workflows.executors import TaskExecutor
from gaia.workflows.layout import GraphLayouts
from gaia.workflows.retry import claim_retry
from gaia.workflows.run_view import attempts, graph_tasks
from gaia.workflows.spec import WorkflowSpec
from gaia.workflows.store import WorkflowStore
from gaia.workflows.summaries import list_summaries
from gaia.workflows.views import TaskDetail, WorkflowDetail, WorkflowSummary

if TYPE_CHECKING:  # the YAML loader is imported when a definition is loaded
    from gaia.workflows.loader import LoadedWorkflow

__all__ = ["RunResult", "WorkflowManager"]

log = logging.getLogger("gaia.workflows")

_W = workflows_table


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: RunStatus
    error: str | None
    tasks: dict[str, TaskState] = field(default_factory=dict)


class WorkflowManager:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        executors: Mapping[str, TaskExecutor] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.store = WorkflowStore(db)
        if executors is None:
            from gaia.workflows.agent_tasks import WorkflowExecutors

            executors = WorkflowExecutors()
        self.executors: Mapping[str, TaskExecutor] = executors
        self._owner = current_owner()
        self._runners: dict[str, WorkflowRunner] = {}
        self._background: dict[str, asyncio.Task[RunResult]] = {}
        self._recorder: Recorder | None = None
        self._layouts: GraphLayouts | None = None

    # -- definitions -----------------------------------------------------------------

    @property
    def known_agents(self) -> Collection[str]:
        return set(self.executors)

    def load_file(self, path: Path, overrides: Mapping[str, str] | None = None) -> LoadedWorkflow:
        from gaia.workflows.loader import load_workflow_file

        return load_workflow_file(path, overrides=overrides, known_agents=self.known_agents)

    def load_text(
        self,
        text: str,
        *,
        source: str = "<api>",
        overrides: Mapping[str, str] | None = None,
        base_dir: Path | None = None,
    ) -> LoadedWorkflow:
        from gaia.workflows.loader import load_workflow

        return load_workflow(
            text,
            source=source,
            overrides=overrides,
            known_agents=self.known_agents,
            base_dir=base_dir,
        )

    def create(self, loaded: LoadedWorkflow) -> str:
        """Store a validated workflow as a pending run; return the run id."""
        max_parallel = loaded.spec.max_parallel or self.settings.workflow_max_parallel
        return self.store.create(loaded, max_parallel)

    # -- running ---------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder:
        if self._recorder is None:
            self._recorder = Recorder(self.db, name="gaia-workflow-recorder")
        return self._recorder

    async def execute(
        self,
        run_id: str,
        *,
        resume: bool = False,
        listener: Listener | None = None,
        retry: str | None = None,
    ) -> RunResult:
        """Run (or resume) ``run_id`` in this event loop until it ends; ``retry``: run
        only that failed task again, with the dependents it held back (see retry_task)."""
        resume = resume or retry is not None
        runner = await self._claim(run_id, resume=resume, listener=listener, retry=retry)
        return await self._drive(runner, resume=resume)

    async def start(self, run_id: str, *, resume: bool = False) -> asyncio.Task[RunResult]:
        """Claim the run now (errors surface here), then run it in the background."""
        runner = await self._claim(run_id, resume=resume, listener=None)
        task = asyncio.create_task(self._drive(runner, resume=resume), name=f"workflow:{run_id}")
        self._background[run_id] = task
        task.add_done_callback(lambda t: self._background_done(run_id, t))
        return task

    async def retry_task(self, run_id: str, task_key: str) -> list[str]:
        """Run one failed task of an ended run again, in the background, with the
        dependents it kept from running; the run's other tasks keep their states.

        Returns the keys of the tasks that will run. ConflictError when the run is
        running or the task did not fail.
        """
        runner = await self._claim(run_id, resume=True, listener=None, retry=task_key)
        keys = [key for key, st in runner.states.items() if st.status is TaskStatus.pending]
        task = asyncio.create_task(self._drive(runner, resume=True), name=f"workflow:{run_id}")
        self._background[run_id] = task
        task.add_done_callback(lambda t: self._background_done(run_id, t))
        return keys

    async def _claim(
        self, run_id: str, *, resume: bool, listener: Listener | None, retry: str | None = None
    ) -> WorkflowRunner:
        if run_id in self._runners:
            raise ConflictError(f"workflow {run_id!r} is already running in this process")
        if self._recorder is not None and self._recorder.failure is not None and not self._runners:
            # It gave up on the database; a later run gets a fresh one, and fails visibly
            # in its turn if the database still refuses writes.
            await asyncio.to_thread(self._recorder.close)
            self._recorder = None
        if retry is not None:
            row, task_rows, _keys = await asyncio.to_thread(
                claim_retry, self.db, run_id, retry, self._owner
            )
        else:
            row, task_rows = await asyncio.to_thread(
                self.store.claim, run_id, self._owner, resume=resume
            )
        if resume:
            await asyncio.to_thread(self._end_earlier_attempts, run_id)
        spec = WorkflowSpec.model_validate(row.spec)
        log_dir = self.settings.gaia_home.workflow_logs / run_id
        log_dir.mkdir(parents=True, exist_ok=True)
        runner = WorkflowRunner(
            run_id,
            spec,
            self.store.task_states(spec, task_rows),
            self.executors,
            self.recorder,
            RunOptions(
                max_parallel=row.max_parallel,
                kill_grace=self.settings.kill_grace_period,
                log_dir=log_dir,
                base_dir=Path(row.base_dir),
                environ=dict(os.environ),
            ),
            listener,
        )
        self._runners[run_id] = runner
        return runner

    async def _drive(self, runner: WorkflowRunner, *, resume: bool) -> RunResult:
        run_id, name = runner.run_id, runner.spec.name
        log.info("workflow %s (%s) %s", name, run_id, "resumed" if resume else "started")
        heartbeat = asyncio.create_task(self._heartbeat(run_id, runner))
        try:
            status = await runner.run()
        except asyncio.CancelledError:
            # Cancelled from outside (the loop is going away): leave it resumable.
            self.recorder.update(
                _W,
                run_id,
                status=RunStatus.interrupted,
                error="interrupted: gaia was stopped",
                finished_at=utcnow(),
            )
            with contextlib.suppress(StorageError):
                await asyncio.shield(self.recorder.flushed())
            raise
        finally:
            heartbeat.cancel()
            self._runners.pop(run_id, None)
        now = utcnow()
        self.recorder.update(
            _W,
            run_id,
            status=status,
            error=runner.error,
            finished_at=now,
            updated_at=now,
            heartbeat_at=now,
        )
        error = runner.error
        try:
            await self.recorder.flushed()
        except StorageError as exc:
            # The database holds the run as running; once this process is gone, recovery
            # marks it interrupted. The caller hears the truth now.
            status = RunStatus.failed
            if not runner.storage_failed:  # else its error already says so
                lost = f"the database could not record the run's end: {exc}"
                error = f"{error}; {lost}" if error else lost
        log.info("workflow %s (%s) %s", name, run_id, status.value)
        return RunResult(run_id, status, error, runner.states)

    def _background_done(self, run_id: str, task: asyncio.Task[RunResult]) -> None:
        self._background.pop(run_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("workflow %s ended with an error: %s", run_id, task.exception())

    async def _heartbeat(self, run_id: str, runner: WorkflowRunner) -> None:
        interval = self.settings.heartbeat_interval
        while True:
            await asyncio.sleep(interval)
            self.recorder.update(_W, run_id, heartbeat_at=utcnow())
            try:
                if await asyncio.to_thread(self.store.stop_requested, run_id):
                    runner.request_stop(RunStatus.cancelled, "stopped by request")
            except Exception as exc:  # a missed check is retried next beat
                log.warning("could not check stop flag of %s: %s", run_id, exc)

    def stop(self, run_id: str, reason: str = "stopped by request") -> str:
        """Stop a run wherever it runs. Returns how: 'stopping', 'requested' or 'cancelled'."""
        runner = self._runners.get(run_id)
        if runner is not None:
            runner.request_stop(RunStatus.cancelled, reason)
            return "stopping"
        status = self.store.status(run_id)
        if status == RunStatus.pending and self.store.cancel_pending(run_id):
            return "cancelled"
        if status == RunStatus.running:
            self.store.request_stop(run_id)
            return "requested"
        raise ConflictError(
            f"cannot stop workflow {run_id!r}: it is not running (status: {status})"
        )

    async def shutdown(self, grace: float = 30.0) -> None:
        """Interrupt every run of this process (daemon stop): resumable later."""
        for runner in list(self._runners.values()):
            runner.request_stop(RunStatus.interrupted, "the gaia daemon stopped")
        tasks = list(self._background.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        self.close()

    def close(self) -> None:
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None

    # -- recovery --------------------------------------------------------------------

    def _end_earlier_attempts(self, run_id: str) -> None:
        """Make sure no earlier attempt of this run is alive before any task starts again.

        A dead runner's watchdog kills its tasks, but asynchronously; recovery kills what
        it finds, but the kill takes effect later. Either way a task must not run twice
        at once: kill and wait here, after the claim (nobody else owns the run now).
        """
        leftovers = find_by_cookie(f"{run_id}/", prefix=True)
        if not leftovers:
            return
        signal_all(leftovers, signal.SIGKILL)
        # Not our children: nothing signals their end. A zombie counts as gone.
        deadline = time.monotonic() + 10
        while any_alive(leftovers) and time.monotonic() < deadline:
            time.sleep(0.02)
        alive = [p for p in leftovers if any_alive([p])]
        if alive:
            pids = ", ".join(str(p.pid) for p in alive)
            reason = f"interrupted: earlier attempts of its tasks would not die (pids {pids})"
            self.store.mark_interrupted(run_id, self._owner.pid, reason)
            raise ConflictError(f"cannot resume workflow {run_id!r}: {reason}")
        log.warning("run %s: killed %d processes of earlier attempts", run_id, len(leftovers))

    def recover_interrupted(self) -> list[str]:
        """Mark runs whose owner died as interrupted and kill what they left running."""
        recovered = []
        now = utcnow()
        for run in self.store.running_owners():
            if run.id in self._runners or not self._owner_dead(run, now):
                continue
            reason = f"interrupted: the gaia process that ran it (pid {run.owner_pid}) died"
            if self.store.mark_interrupted(run.id, run.owner_pid, reason):
                killed = kill_cookie_holders(f"{run.id}/")
                log.warning(
                    "workflow run %s %s; killed %d leftover processes", run.id, reason, killed
                )
                recovered.append(run.id)
        return recovered

    def _owner_dead(self, run: Any, now: Any) -> bool:
        if run.owner_pid == self._owner.pid and run.owner_started_at == self._owner.started_at:
            return False  # ours, though not in _runners: starting right now
        alive = owner_alive(run.owner_pid, run.owner_host, run.owner_started_at)
        if alive is not None:
            return not alive
        # On another host: only its heartbeat tells.
        if run.heartbeat_at is None:
            return True
        return bool((now - run.heartbeat_at).total_seconds() > self.settings.stale_heartbeat)

    # -- views -----------------------------------------------------------------------

    def resolve(self, ident: str) -> str:
        return self.store.resolve(ident)

    # Reads only read. Runs of dead owners are recovered when a process opens its
    # Runtime and, in the daemon, every RECOVERY_INTERVAL: never as a side effect of a view.

    def list(
        self, status: str | None = None, limit: int = 100, *, name: str | None = None
    ) -> list[WorkflowSummary]:
        return list_summaries(self.db, status, limit, name=name)

    def count_by_status(self, name: str | None = None) -> dict[str, int]:
        return self.store.count_by_status(name)

    def get(self, run_id: str) -> WorkflowDetail:
        return self.store.detail(run_id)

    def task_statuses(self, run_id: str) -> tuple[WorkflowSummary, dict[str, str]]:
        """The run's summary and its tasks' statuses, cheaply (a poller's view)."""
        return self.store.task_statuses(run_id)

    def task(self, run_id: str, task_key: str) -> TaskDetail:
        return self.store.task(run_id, task_key)

    def graph_layout(self, run_id: str) -> bytes:
        """The run's DAG laid out for drawing, as JSON (computed once per run; blocking)."""
        if self._layouts is None:
            self._layouts = GraphLayouts(lambda ident: graph_tasks(self.db, ident))
        return self._layouts.get(run_id)

    def attempts(self, run_id: str) -> builtins.list[dict[str, Any]]:
        """Every attempt of every task of the run, by start time."""
        return attempts(self.db, run_id)

    def log_path(self, run_id: str, task_key: str, attempt: int | None = None) -> Path | None:
        """The log file of an attempt (default: the latest); None if it never ran."""
        detail = self.store.task(run_id, task_key)
        if attempt is None:
            return Path(detail.log_path) if detail.log_path else None
        for execution in detail.executions:
            if execution.attempt == attempt and execution.log_path:
                return Path(execution.log_path)
        return None
