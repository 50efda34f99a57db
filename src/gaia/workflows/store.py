"""Workflow runs in the database: create, claim, read, stop and recover them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from gaia._owner import Owner
from gaia.errors import BadRequestError, ConflictError, NotFoundError
from gaia.storage.db import Database
from gaia.storage.models import (
    workflow_dependencies_table,
    workflow_executions_table,
    workflow_tasks_table,
    workflows_table,
)
from gaia.storage.types import utcnow
from gaia.workflows.engine import RunStatus, TaskState, WorkflowTaskStatus
from gaia.workflows.spec import WorkflowSpec
from gaia.workflows.summaries import name_pattern

if TYPE_CHECKING:
    from gaia.workflows.loader import LoadedWorkflow

from gaia.workflows.views import (
    ExecutionView,
    TaskDetail,
    TaskView,
    WorkflowDetail,
    WorkflowSummary,
    seconds_between,
)

__all__ = ["Owner", "WorkflowStore"]

W = workflows_table
T = workflow_tasks_table
D = workflow_dependencies_table
E = workflow_executions_table

RESUMABLE = (RunStatus.failed, RunStatus.cancelled, RunStatus.interrupted)
ACTIVE_TASK = (WorkflowTaskStatus.running, WorkflowTaskStatus.retrying)


class WorkflowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- create ----------------------------------------------------------------------

    def create(self, loaded: LoadedWorkflow, max_parallel: int) -> str:
        """Insert a pending run with its tasks and dependency edges; return its id."""
        run_id = str(uuid.uuid4())
        now = utcnow()
        spec = loaded.spec
        task_ids = {task.id: str(uuid.uuid4()) for task in spec.tasks}
        written = {task.id: task.command for task in loaded.written.tasks}
        with self.db.write() as conn:
            conn.execute(
                W.insert().values(
                    id=run_id,
                    name=spec.name,
                    description=spec.description,
                    status=RunStatus.pending,
                    source=loaded.source,
                    definition=loaded.text,
                    spec=spec.model_dump(mode="json"),
                    base_dir=str(loaded.base_dir),
                    max_parallel=max_parallel,
                    metadata={"variables": loaded.variables},
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                T.insert(),
                [
                    {
                        "id": task_ids[task.id],
                        "workflow_id": run_id,
                        "task_key": task.id,
                        "position": position,
                        "type": task.type.value,
                        "agent": task.effective_agent,
                        "command": written[task.id],  # as written: no env values
                        "description": task.description,
                        "status": WorkflowTaskStatus.pending,
                        "attempts": 0,
                        "config": {
                            "timeout": task.timeout,
                            "on_error": task.on_error,
                            "max_attempts": task.max_attempts,
                            "env_keys": sorted(task.env),
                        },
                        "metadata": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for position, task in enumerate(spec.tasks)
                ],
            )
            edges = [
                {
                    "task_id": task_ids[task.id],
                    "depends_on_id": task_ids[dep],
                    "workflow_id": run_id,
                    "created_at": now,
                }
                for task in spec.tasks
                for dep in dict.fromkeys(task.dependencies)
            ]
            if edges:
                conn.execute(D.insert(), edges)
        return run_id

    # -- ids -------------------------------------------------------------------------

    def resolve(self, ident: str) -> str:
        """A full run id from a full id or a unique prefix of at least 4 characters."""
        with self.db.read() as conn:
            if conn.execute(select(W.c.id).where(W.c.id == ident)).first():
                return ident
            if len(ident) >= 4:
                rows = conn.execute(
                    select(W.c.id).where(W.c.id.like(ident.replace("%", "") + "%")).limit(2)
                ).all()
                if len(rows) == 1:
                    return str(rows[0][0])
                if len(rows) > 1:
                    raise BadRequestError(f"workflow id prefix {ident!r} is ambiguous; give more")
        raise NotFoundError.of("workflow", ident)

    def row(self, conn: Connection, run_id: str) -> Any:
        row = conn.execute(select(W).where(W.c.id == run_id)).first()
        if row is None:
            raise NotFoundError.of("workflow", run_id)
        return row

    # -- claiming and running --------------------------------------------------------

    def claim(self, run_id: str, owner: Owner, *, resume: bool) -> tuple[Any, list[Any]]:
        """Mark the run running and owned by ``owner``; return (run row, task rows).

        On resume, every task that did not complete goes back to pending.
        """
        allowed = RESUMABLE if resume else (RunStatus.pending,)
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(W)
                .where(W.c.id == run_id, W.c.status.in_(allowed))
                .values(
                    status=RunStatus.running,
                    owner_pid=owner.pid,
                    owner_host=owner.host,
                    owner_started_at=owner.started_at,
                    heartbeat_at=now,
                    stop_requested_at=None,
                    started_at=func.coalesce(W.c.started_at, now),
                    finished_at=None,
                    error=None,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                row = self.row(conn, run_id)
                raise ConflictError(_claim_refusal(row, resume))
            if resume:
                conn.execute(
                    update(T)
                    .where(T.c.workflow_id == run_id, T.c.status != WorkflowTaskStatus.completed)
                    .values(
                        status=WorkflowTaskStatus.pending,
                        error=None,
                        exit_code=None,
                        updated_at=now,
                    )
                )
            row = self.row(conn, run_id)
            tasks = conn.execute(
                select(T).where(T.c.workflow_id == run_id).order_by(T.c.position)
            ).all()
        return row, list(tasks)

    @staticmethod
    def task_states(spec: WorkflowSpec, task_rows: Iterable[Any]) -> dict[str, TaskState]:
        by_key = {row.task_key: row for row in task_rows}
        return {
            task.id: TaskState(
                spec=task,
                row_id=by_key[task.id].id,
                status=WorkflowTaskStatus(by_key[task.id].status),
                attempts=by_key[task.id].attempts,
                # A task finished by an earlier run keeps its duration, so that the summary
                # after a resume shows it rather than "-".
                duration=seconds_between(by_key[task.id].started_at, by_key[task.id].finished_at),
                result=dict(by_key[task.id].metadata or {}),
            )
            for task in spec.tasks
        }

    def request_stop(self, run_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(W).where(W.c.id == run_id).values(stop_requested_at=utcnow()))

    def stop_requested(self, run_id: str) -> bool:
        with self.db.read() as conn:
            value = conn.execute(select(W.c.stop_requested_at).where(W.c.id == run_id)).scalar()
        return value is not None

    def cancel_pending(self, run_id: str) -> bool:
        """Cancel a run nobody has started; False if it started meanwhile."""
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(W)
                .where(W.c.id == run_id, W.c.status == RunStatus.pending)
                .values(
                    status=RunStatus.cancelled,
                    finished_at=now,
                    updated_at=now,
                    error="cancelled before it started",
                )
            )
            if result.rowcount:
                conn.execute(
                    update(T)
                    .where(T.c.workflow_id == run_id)
                    .values(status=WorkflowTaskStatus.cancelled, updated_at=now)
                )
        return bool(result.rowcount)

    # -- recovery --------------------------------------------------------------------

    def running_owners(self) -> list[Any]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(
                        W.c.id,
                        W.c.owner_pid,
                        W.c.owner_host,
                        W.c.owner_started_at,
                        W.c.heartbeat_at,
                    ).where(W.c.status == RunStatus.running)
                ).all()
            )

    def mark_interrupted(self, run_id: str, owner_pid: int | None, reason: str) -> bool:
        """Interrupt a run whose owner died; False if someone else got there first."""
        now = utcnow()
        with self.db.write() as conn:
            result = conn.execute(
                update(W)
                .where(
                    W.c.id == run_id,
                    W.c.status == RunStatus.running,
                    W.c.owner_pid == owner_pid,
                )
                .values(status=RunStatus.interrupted, error=reason, finished_at=now, updated_at=now)
            )
            if not result.rowcount:
                return False
            conn.execute(
                update(T)
                .where(T.c.workflow_id == run_id, T.c.status.in_(ACTIVE_TASK))
                .values(
                    status=WorkflowTaskStatus.cancelled,
                    error=reason,
                    finished_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                update(E)
                .where(E.c.workflow_id == run_id, E.c.status == "running")
                .values(status="interrupted", error=reason, finished_at=now)
            )
        return True

    # -- views -----------------------------------------------------------------------

    def list(
        self,
        status: str | None = None,
        limit: int = 100,
        *,
        name: str | None = None,
        ids: Collection[str] | None = None,
    ) -> list[WorkflowSummary]:
        """The newest ``limit`` runs: with ``status``, whose name contains ``name``
        (ignoring ASCII case), among ``ids``, if given."""
        with self.db.read() as conn:
            # Only what a summary shows: the stored definition (spec) is JSON of every
            # task, and decoding it for each listed run was most of a list's cost.
            query = select(*_summary_columns()).order_by(W.c.created_at.desc()).limit(limit)
            if status:
                query = query.where(W.c.status == status)
            if name:
                query = query.where(W.c.name.ilike(name_pattern(name), escape="\\"))
            if ids is not None:
                query = query.where(W.c.id.in_(list(ids)))
            rows = conn.execute(query).all()
            counts = self._counts(conn, [r.id for r in rows])
        return [_summary(row, counts.get(row.id, {})) for row in rows]

    def count_by_status(self, name: str | None = None) -> dict[str, int]:
        """How many runs there are in each status (whose name contains ``name``)."""
        query = select(W.c.status, func.count()).group_by(W.c.status)
        if name:
            query = query.where(W.c.name.ilike(name_pattern(name), escape="\\"))
        with self.db.read() as conn:
            return {str(status): int(n) for status, n in conn.execute(query).all()}

    def detail(self, run_id: str) -> WorkflowDetail:
        with self.db.read() as conn:
            row = self.row(conn, run_id)
            tasks = conn.execute(
                select(T).where(T.c.workflow_id == run_id).order_by(T.c.position)
            ).all()
            counts = self._counts(conn, [run_id]).get(run_id, {})
        spec = row.spec or {}
        deps = {t["id"]: t.get("dependencies", []) for t in spec.get("tasks", [])}
        summary = _summary(row, counts)
        return WorkflowDetail(
            **summary.model_dump(),
            variables=(row.metadata or {}).get("variables", {}),
            max_parallel=row.max_parallel,
            base_dir=row.base_dir,
            tasks=[_task_view(t, deps.get(t.task_key, [])) for t in tasks],
        )

    def task(self, run_id: str, task_key: str) -> TaskDetail:
        with self.db.read() as conn:
            row = self.row(conn, run_id)
            task = conn.execute(
                select(T).where(T.c.workflow_id == run_id, T.c.task_key == task_key)
            ).first()
            if task is None:
                raise NotFoundError(
                    f"workflow {run_id!r} has no task {task_key!r}",
                    details={"kind": "task", "id": task_key},
                )
            executions = conn.execute(
                select(E).where(E.c.task_id == task.id).order_by(E.c.attempt)
            ).all()
        deps = {t["id"]: t.get("dependencies", []) for t in (row.spec or {}).get("tasks", [])}
        view = _task_view(task, deps.get(task_key, []))
        return TaskDetail(
            **view.model_dump(),
            workflow_id=run_id,
            executions=[ExecutionView.model_validate(e, from_attributes=True) for e in executions],
        )

    def counts(self, run_id: str) -> dict[str, int]:
        """Task counts by status."""
        with self.db.read() as conn:
            return self._counts(conn, [run_id]).get(run_id, {})

    def name(self, run_id: str) -> str:
        with self.db.read() as conn:
            return str(self.row(conn, run_id).name)

    def task_statuses(self, run_id: str) -> tuple[WorkflowSummary, dict[str, str]]:
        """The run's summary and each task's status: what a status poll needs, without
        the stored definition and the task details that ``detail`` decodes and builds
        (for 2,000 tasks, a few ms against ~100)."""
        with self.db.read() as conn:
            row = conn.execute(select(*_summary_columns()).where(W.c.id == run_id)).first()
            if row is None:
                raise NotFoundError.of("workflow", run_id)
            tasks = conn.execute(
                select(T.c.task_key, T.c.status)
                .where(T.c.workflow_id == run_id)
                .order_by(T.c.position)
            ).all()
        statuses = {str(key): str(status) for key, status in tasks}
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        return _summary(row, counts), statuses

    def status(self, run_id: str) -> str:
        with self.db.read() as conn:
            return str(self.row(conn, run_id).status)

    @staticmethod
    def _counts(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        if not run_ids:
            return {}
        rows = conn.execute(
            select(T.c.workflow_id, T.c.status, func.count())
            .where(T.c.workflow_id.in_(run_ids))
            .group_by(T.c.workflow_id, T.c.status)
        ).all()
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for run_id, status, count in rows:
            counts[run_id][status] = count
        return counts


def _claim_refusal(row: Any, resume: bool) -> str:
    name = f"workflow {row.name!r} ({row.id})"
    if row.status == RunStatus.running:
        return f"cannot start {name}: it is already running (pid {row.owner_pid})"
    if resume and row.status == RunStatus.completed:
        return f"cannot resume {name}: it completed; there is nothing left to run"
    if resume and row.status == RunStatus.pending:
        return f"cannot resume {name}: it never started; start it instead"
    if not resume:
        return f"cannot start {name}: it is {row.status}; resume it to re-run what did not complete"
    return f"cannot resume {name}: it is {row.status}"


def _summary_columns() -> list[Any]:
    """The columns ``_summary`` reads."""
    return [
        W.c.id,
        W.c.name,
        W.c.description,
        W.c.status,
        W.c.source,
        W.c.error,
        W.c.created_at,
        W.c.started_at,
        W.c.finished_at,
        W.c.owner_pid,
    ]


def _summary(row: Any, counts: dict[str, int]) -> WorkflowSummary:
    end: datetime | None = row.finished_at or (utcnow() if row.started_at else None)
    return WorkflowSummary(
        id=row.id,
        name=row.name,
        description=row.description,
        status=row.status,
        source=row.source,
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=seconds_between(row.started_at, end),
        owner_pid=row.owner_pid if row.status == RunStatus.running else None,
        task_counts=counts,
    )


def _task_view(row: Any, dependencies: list[str]) -> TaskView:
    config = row.config or {}
    return TaskView(
        id=row.task_key,
        type=row.type,
        agent=row.agent,
        command=row.command,
        description=row.description,
        dependencies=dependencies,
        status=row.status,
        attempts=row.attempts,
        exit_code=row.exit_code,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_seconds=seconds_between(row.started_at, row.finished_at),
        log_path=row.log_path,
        timeout_seconds=config.get("timeout"),
        on_error=config.get("on_error", "fail"),
        max_attempts=config.get("max_attempts", 1),
        env_keys=config.get("env_keys", []),
    )
