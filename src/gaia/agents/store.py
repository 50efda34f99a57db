"""Persistence of agents, tasks, executions and results.

Hot-path writes (a task queued, started, finished) go through the write-behind
``Recorder`` so the event loop never waits on SQLite; reads go straight to the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, Select, delete, func, select, update

from gaia._owner import current_owner, owner_alive
from gaia.agents.base import AgentSpec
from gaia.agents.stats import Counters
from gaia.agents.task import AgentResult, AgentTask, Isolation, TaskStatus, TaskType
from gaia.errors import BadRequestError, NotFoundError
from gaia.storage.db import Database
from gaia.storage.models import (
    agent_executions_table,
    agent_results_table,
    agent_tasks_table,
    agents_table,
)
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow

__all__ = ["AgentStore", "StoredOwner", "StoredTask"]

_TASKS = agent_tasks_table
_RESULTS = agent_results_table
_EXECUTIONS = agent_executions_table
_AGENTS = agents_table


@dataclass(frozen=True)
class StoredOwner:
    """Who queued or ran a task, as recorded (host and create time: older rows lack them)."""

    pid: int | None
    host: str | None
    started_at: float | None

    def alive(self) -> bool:
        """Whether that process still runs; one on another host is taken to."""
        found = owner_alive(self.pid, self.host, self.started_at)
        return True if found is None else found


@dataclass
class StoredTask:
    """A task row with its result, as the API and CLI show it."""

    task: AgentTask
    requested_agent: str
    status: TaskStatus
    seq: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    owner_pid: int | None
    result: AgentResult | None
    log_path: str | None
    worktree: str | None
    review: str | None = None  # "merged" or "discarded" (gaia.agents.merge), else None


def task_from_row(row: Row[Any]) -> AgentTask:
    return AgentTask(
        id=row.id,
        instruction=row.instruction,
        agent_id=row.agent_id,
        task_type=TaskType(row.task_type),
        context=dict(row.context or {}),
        work_dir=None if row.work_dir is None else Path(row.work_dir),
        timeout=row.timeout,
        priority=row.priority,
        isolation=Isolation(row.isolation),
        visible=bool(row.visible),
        meta=dict(row.metadata or {}),
    )


def result_from_row(row: Row[Any], status: TaskStatus) -> AgentResult:
    return AgentResult(
        task_id=row.task_id,
        agent_id=row.agent_id,
        status=status,
        output=row.output or "",
        error=row.error,
        exit_code=row.exit_code,
        session_id=row.session_id,
        cost_usd=row.cost_usd,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        num_turns=row.num_turns,
        duration_ms=row.duration_ms,
        branch=row.branch,
        commit=row.commit,
        base_commit=row.base_commit,
        diff_stat=dict(row.diff_stat or {}),
        meta=dict(row.metadata or {}),
    )


MIN_PREFIX = 4  # shortest id prefix taken for a task id, as for workflow run ids


def _review_of(execution: Row[Any] | None) -> str | None:
    review = (execution.metadata or {}).get("review") if execution is not None else None
    return str(review["state"]) if isinstance(review, dict) and "state" in review else None


class AgentStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.recorder = Recorder(db, name="gaia-agents-recorder", linger=0.02)
        self.owner = current_owner()
        self.pid = self.owner.pid

    # -- agents ----------------------------------------------------------------------

    def save_agents(self, specs: Iterable[tuple[AgentSpec, bool]]) -> None:
        """Record the registered agents (replacing the previous list of this kind)."""
        now = utcnow()
        rows = [
            {
                "id": spec.id,
                "kind": spec.kind,
                "source": spec.source,
                "command": list(spec.command),
                "capabilities": sorted(spec.capabilities),
                "max_concurrency": spec.max_concurrency,
                "timeout": spec.timeout,
                "available": available,
                "metadata": {"model": spec.model, "args": list(spec.args)},
                "created_at": now,
                "updated_at": now,
            }
            for spec, available in specs
        ]
        with self.db.write() as conn:
            conn.execute(delete(_AGENTS))
            if rows:
                conn.execute(_AGENTS.insert(), rows)

    # -- tasks -----------------------------------------------------------------------

    def next_seq(self) -> int:
        with self.db.read() as conn:
            value = conn.execute(select(func.max(_TASKS.c.seq))).scalar()
        return int(value or 0) + 1

    def insert_task(self, task: AgentTask, requested: str, seq: int, origin: str) -> None:
        now = utcnow()
        self.recorder.insert(
            _TASKS,
            {
                "id": task.id,
                "seq": seq,
                "requested_agent": requested,
                "agent_id": task.agent_id,
                "task_type": str(task.task_type),
                "instruction": task.instruction,
                "context": task.context,
                "work_dir": None if task.work_dir is None else str(task.work_dir),
                "timeout": task.timeout,
                "priority": task.priority,
                "isolation": str(task.effective_isolation),
                "visible": task.visible,
                "status": TaskStatus.queued.value,
                "error": None,
                "owner_pid": self.owner.pid,
                "owner_host": self.owner.host,
                "owner_started_at": self.owner.started_at,
                "started_at": None,
                "finished_at": None,
                "metadata": {**task.meta, "origin": origin},
                "created_at": now,
                "updated_at": now,
            },
        )

    def mark_started(self, task_id: str, execution_id: str, agent_id: str, **values: Any) -> None:
        now = utcnow()
        self.recorder.update(
            _TASKS, task_id, status=TaskStatus.running.value, started_at=now, updated_at=now
        )
        self.recorder.insert(
            _EXECUTIONS,
            {
                "id": execution_id,
                "task_id": task_id,
                "agent_id": agent_id,
                "status": TaskStatus.running.value,
                "pid": None,
                "work_dir": values.get("work_dir"),
                "worktree": values.get("worktree"),
                "log_path": values.get("log_path"),
                "exit_code": None,
                "error": None,
                "started_at": now,
                "finished_at": None,
                "duration_ms": None,
                "metadata": values.get("meta", {}),
            },
        )

    def set_pid(self, execution_id: str, pid: int | None) -> None:
        self.recorder.update(_EXECUTIONS, execution_id, pid=pid)

    def mark_finished(
        self, result: AgentResult, execution_id: str | None, duration_ms: int | None
    ) -> None:
        now = utcnow()
        self.recorder.update(
            _TASKS,
            result.task_id,
            status=result.status.value,
            error=result.error,
            finished_at=now,
            updated_at=now,
        )
        if execution_id is not None:
            self.recorder.update(
                _EXECUTIONS,
                execution_id,
                status=result.status.value,
                exit_code=result.exit_code,
                error=result.error,
                finished_at=now,
                duration_ms=duration_ms,
            )
        self.recorder.insert(
            _RESULTS,
            {
                "id": str(uuid.uuid4()),
                "task_id": result.task_id,
                "agent_id": result.agent_id,
                "success": result.success,
                "output": result.output,
                "error": result.error,
                "exit_code": result.exit_code,
                "session_id": result.session_id,
                "cost_usd": result.cost_usd,
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
                "num_turns": result.num_turns,
                "duration_ms": result.duration_ms,
                "branch": result.branch,
                "commit": result.commit,
                "base_commit": result.base_commit,
                "diff_stat": result.diff_stat,
                "created_at": now,
                "metadata": result.meta,
            },
        )

    def flush(self) -> None:
        self.recorder.flush()

    def close(self) -> None:
        self.recorder.close()

    # -- reads -----------------------------------------------------------------------

    def queued_tasks(self) -> list[tuple[AgentTask, int, StoredOwner, str]]:
        """Queued tasks in queue order: (task, seq, owner, origin)."""
        query = (
            select(_TASKS)
            .where(_TASKS.c.status == TaskStatus.queued.value)
            .order_by(_TASKS.c.priority.desc(), _TASKS.c.seq)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            (
                task_from_row(row),
                row.seq,
                StoredOwner(row.owner_pid, row.owner_host, row.owner_started_at),
                str((row.metadata or {}).get("origin", "daemon")),
            )
            for row in rows
        ]

    def running_tasks(self) -> list[tuple[str, StoredOwner]]:
        query = select(
            _TASKS.c.id, _TASKS.c.owner_pid, _TASKS.c.owner_host, _TASKS.c.owner_started_at
        ).where(_TASKS.c.status == TaskStatus.running.value)
        with self.db.read() as conn:
            return [
                (row.id, StoredOwner(row.owner_pid, row.owner_host, row.owner_started_at))
                for row in conn.execute(query)
            ]

    def claim(self, task_ids: list[str]) -> None:
        """Make this process the owner of tasks it adopted from a stopped one."""
        if not task_ids:
            return
        with self.db.write() as conn:
            conn.execute(
                update(_TASKS)
                .where(_TASKS.c.id.in_(task_ids))
                .values(
                    owner_pid=self.owner.pid,
                    owner_host=self.owner.host,
                    owner_started_at=self.owner.started_at,
                )
            )

    def abandon(self, task_ids: list[str], status: TaskStatus, error: str) -> None:
        """Finish tasks whose owner died: they will not run (again)."""
        if not task_ids:
            return
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(
                update(_TASKS)
                .where(_TASKS.c.id.in_(task_ids))
                .values(status=status.value, error=error, finished_at=now, updated_at=now)
            )
            conn.execute(
                update(_EXECUTIONS)
                .where(_EXECUTIONS.c.task_id.in_(task_ids), _EXECUTIONS.c.finished_at.is_(None))
                .values(status=status.value, error=error, finished_at=now)
            )

    def resolve(self, ident: str) -> str:
        """A full task id from a full id or a unique prefix of at least 4 characters.

        ``gaia agent tasks`` shows 8 characters of an id; as git does with commits, any
        unambiguous prefix of that length (or longer, or shorter down to 4) names the task.
        """
        with self.db.read() as conn:
            if conn.execute(select(_TASKS.c.id).where(_TASKS.c.id == ident)).first():
                return ident
            if len(ident) >= MIN_PREFIX:
                # Escaped, so that % and _ in what was typed match only themselves.
                escaped = ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                query = select(_TASKS.c.id).where(_TASKS.c.id.like(escaped + "%", escape="\\"))
                rows = conn.execute(query.limit(2)).all()
                if len(rows) == 1:
                    return str(rows[0][0])
                if len(rows) > 1:
                    raise BadRequestError(
                        f"agent task id prefix {ident!r} is ambiguous: more than one task id "
                        "starts with it; give more characters"
                    )
        raise NotFoundError.of("agent task", ident)

    def get(self, task_id: str) -> StoredTask | None:
        found = self._stored(select(_TASKS).where(_TASKS.c.id == task_id))
        return found[0] if found else None

    def list_tasks(self, *, status: str | None = None, limit: int = 50) -> list[StoredTask]:
        """The newest tasks first."""
        query = select(_TASKS).order_by(_TASKS.c.seq.desc()).limit(limit)
        if status is not None:
            query = query.where(_TASKS.c.status == status)
        return self._stored(query)

    def _stored(self, query: Select[Any]) -> list[StoredTask]:
        """Tasks with their result and latest execution: three queries for any number."""
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            ids = [row.id for row in rows]
            results = {
                r.task_id: r
                for r in conn.execute(select(_RESULTS).where(_RESULTS.c.task_id.in_(ids)))
            }
            executions: dict[str, Row[Any]] = {}
            for run in conn.execute(
                select(_EXECUTIONS)
                .where(_EXECUTIONS.c.task_id.in_(ids))
                .order_by(_EXECUTIONS.c.started_at)
            ):
                executions[run.task_id] = run  # the latest wins
        stored = []
        for row in rows:
            status = TaskStatus(row.status)
            result, latest = results.get(row.id), executions.get(row.id)
            stored.append(
                StoredTask(
                    task=task_from_row(row),
                    requested_agent=row.requested_agent,
                    status=status,
                    seq=row.seq,
                    error=row.error,
                    created_at=row.created_at,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    owner_pid=row.owner_pid,
                    result=None if result is None else result_from_row(result, status),
                    log_path=None if latest is None else latest.log_path,
                    worktree=None if latest is None else latest.worktree,
                    review=_review_of(latest),
                )
            )
        return stored

    def totals(self) -> dict[str, Counters]:
        """Counters of finished tasks per agent, for the statistics."""
        query = (
            select(
                _TASKS.c.agent_id,
                _TASKS.c.status,
                func.count(),
                func.coalesce(func.sum(_RESULTS.c.duration_ms), 0),
                func.count(_RESULTS.c.duration_ms),
                func.coalesce(func.sum(_RESULTS.c.input_tokens), 0),
                func.coalesce(func.sum(_RESULTS.c.output_tokens), 0),
                func.coalesce(func.sum(_RESULTS.c.cost_usd), 0.0),
            )
            .select_from(_TASKS.outerjoin(_RESULTS, _RESULTS.c.task_id == _TASKS.c.id))
            .where(
                _TASKS.c.status.in_(
                    [s.value for s in TaskStatus if s.finished],
                )
            )
            .group_by(_TASKS.c.agent_id, _TASKS.c.status)
        )
        totals: dict[str, Counters] = {}
        with self.db.read() as conn:
            for (
                agent_id,
                status,
                count,
                duration,
                timed,
                tokens_in,
                tokens_out,
                cost,
            ) in conn.execute(query).all():
                entry = totals.setdefault(agent_id, Counters())
                entry.total += count
                if status == TaskStatus.succeeded:
                    entry.succeeded += count
                elif status == TaskStatus.cancelled:
                    entry.cancelled += count
                else:
                    entry.failed += count
                entry.duration_ms += int(duration)
                entry.timed += int(timed)
                entry.input_tokens += int(tokens_in)
                entry.output_tokens += int(tokens_out)
                entry.cost_usd += float(cost)
        return totals

    def finished_worktrees(self, before: datetime) -> list[tuple[str, str]]:
        """(repository, worktree path) of tasks finished before ``before``."""
        query = (
            select(_EXECUTIONS.c.metadata, _EXECUTIONS.c.worktree)
            .where(
                _EXECUTIONS.c.worktree.is_not(None),
                _EXECUTIONS.c.finished_at.is_not(None),
                _EXECUTIONS.c.finished_at < before,
            )
            .order_by(_EXECUTIONS.c.finished_at)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [(str(row.metadata.get("repo", "")), row.worktree) for row in rows]
