"""Tables. Each component adds its own; all share ``Base.metadata`` for migrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gaia.storage.types import UTCDateTime, utcnow

__all__ = [
    "AgentExecutionRow",
    "AgentResultRow",
    "AgentRow",
    "AgentTaskRow",
    "Base",
    "ServiceEventRow",
    "ServiceHealthRow",
    "ServiceMetricRow",
    "ServiceRow",
    "SessionPaneRow",
    "SessionRow",
    "SessionWindowRow",
    "WorkflowExecutionRow",
    "WorkflowRow",
    "WorkflowTaskDependencyRow",
    "WorkflowTaskRow",
    "agent_executions_table",
    "agent_results_table",
    "agent_tasks_table",
    "agents_table",
    "service_events_table",
    "service_health_table",
    "service_metrics_table",
    "services_table",
    "session_panes_table",
    "session_windows_table",
    "sessions_table",
    "workflow_dependencies_table",
    "workflow_executions_table",
    "workflow_tasks_table",
    "workflows_table",
]


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


class WorkflowRow(_Timestamps, Base):
    """One run of a workflow definition (the original calls it a workflow)."""

    __tablename__ = "gaia_workflows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    source: Mapped[str] = mapped_column(Text)
    definition: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    base_dir: Mapped[str] = mapped_column(Text)
    max_parallel: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    owner_host: Mapped[str | None] = mapped_column(String(255))
    owner_started_at: Mapped[float | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    stop_requested_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (Index("ix_gaia_workflows_created_at", "created_at"),)


class WorkflowTaskRow(_Timestamps, Base):
    __tablename__ = "gaia_workflow_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_workflows.id", ondelete="CASCADE"), index=True
    )
    task_key: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    agent: Mapped[str] = mapped_column(String(100))
    command: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("workflow_id", "task_key", name="uq_gaia_workflow_tasks_key"),
    )


class WorkflowTaskDependencyRow(Base):
    __tablename__ = "gaia_workflow_task_dependencies"

    task_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_workflow_tasks.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_workflow_tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_workflows.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowExecutionRow(Base):
    """One attempt of one task: the execution history."""

    __tablename__ = "gaia_workflow_executions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_workflows.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(ForeignKey("gaia_workflow_tasks.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    pid: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (
        UniqueConstraint("task_id", "attempt", name="uq_gaia_workflow_executions_attempt"),
    )


class ServiceRow(_Timestamps, Base):
    """A registered service, its definition and its last known runtime state."""

    __tablename__ = "gaia_services"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20), index=True)
    health: Mapped[str] = mapped_column(String(20), default="unknown")
    desired_state: Mapped[str] = mapped_column(String(20), default="stopped")
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_started_at: Mapped[float | None] = mapped_column()
    restart_count: Mapped[int] = mapped_column(Integer, default=0)
    last_exit_code: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column()
    stopped_at: Mapped[datetime | None] = mapped_column()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class ServiceHealthRow(Base):
    __tablename__ = "gaia_service_health_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("gaia_services.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column()
    health: Mapped[str] = mapped_column(String(20))
    latency_ms: Mapped[float | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_gaia_service_health_service_time", "service_id", "checked_at"),)


class ServiceEventRow(Base):
    __tablename__ = "gaia_service_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("gaia_services.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (Index("ix_gaia_service_events_service_time", "service_id", "at"),)


class ServiceMetricRow(Base):
    __tablename__ = "gaia_service_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("gaia_services.id", ondelete="CASCADE"))
    sampled_at: Mapped[datetime] = mapped_column(default=utcnow)
    cpu_percent: Mapped[float] = mapped_column()
    rss_bytes: Mapped[int] = mapped_column(Integer)
    uptime_seconds: Mapped[float] = mapped_column()
    restart_count: Mapped[int] = mapped_column(Integer)
    process_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_gaia_service_metrics_service_time", "service_id", "sampled_at"),)


class SessionRow(_Timestamps, Base):
    """A tmux session gaia knows, alive or dead, with what it needs to recreate it.

    ``environment`` is kept to recreate the session and never shown.
    """

    __tablename__ = "gaia_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    origin: Mapped[str] = mapped_column(String(20))
    tmux_id: Mapped[str | None] = mapped_column(String(20))
    socket: Mapped[str] = mapped_column(String(200))
    start_directory: Mapped[str | None] = mapped_column(Text)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    layout_file: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime | None] = mapped_column()
    dead_at: Mapped[datetime | None] = mapped_column()


class SessionWindowRow(Base):
    __tablename__ = "gaia_session_windows"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_sessions.id", ondelete="CASCADE"), index=True
    )
    tmux_id: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    layout: Mapped[str | None] = mapped_column(Text)
    start_directory: Mapped[str | None] = mapped_column(Text)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionPaneRow(Base):
    __tablename__ = "gaia_session_panes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    window_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_session_windows.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_sessions.id", ondelete="CASCADE"), index=True
    )
    tmux_id: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    start_directory: Mapped[str | None] = mapped_column(Text)
    commands: Mapped[list[str]] = mapped_column(JSON, default=list)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentRow(_Timestamps, Base):
    """A registered agent: how gaia runs it and how many tasks it may run at once."""

    __tablename__ = "gaia_agents"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # builtin, config, api
    command: Mapped[list[str]] = mapped_column(JSON, default=list)
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_concurrency: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[float | None] = mapped_column()
    available: Mapped[bool] = mapped_column(default=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class AgentTaskRow(_Timestamps, Base):
    """One task for an agent: the queue is the rows whose status is ``queued``.

    ``seq`` orders tasks of equal priority first-in-first-out across restarts.
    """

    __tablename__ = "gaia_agent_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    requested_agent: Mapped[str] = mapped_column(String(100))
    agent_id: Mapped[str] = mapped_column(String(100), index=True)
    task_type: Mapped[str] = mapped_column(String(20))
    instruction: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    work_dir: Mapped[str | None] = mapped_column(Text)
    timeout: Mapped[float | None] = mapped_column()
    priority: Mapped[int] = mapped_column(Integer)
    isolation: Mapped[str] = mapped_column(String(10))
    visible: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    owner_pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)

    __table_args__ = (Index("ix_gaia_agent_tasks_queue", "status", "priority", "seq"),)


class AgentResultRow(Base):
    """What a finished task produced: text, usage and cost, and its branch when isolated."""

    __tablename__ = "gaia_agent_results"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_agent_tasks.id", ondelete="CASCADE"), unique=True
    )
    agent_id: Mapped[str] = mapped_column(String(100), index=True)
    success: Mapped[bool] = mapped_column()
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    session_id: Mapped[str | None] = mapped_column(String(100))
    cost_usd: Mapped[float | None] = mapped_column()
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    num_turns: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    branch: Mapped[str | None] = mapped_column(String(200))
    commit: Mapped[str | None] = mapped_column(String(64))
    base_commit: Mapped[str | None] = mapped_column(String(64))
    diff_stat: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class AgentExecutionRow(Base):
    """One run of an agent process for a task: where, which process, how it ended."""

    __tablename__ = "gaia_agent_executions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(
        ForeignKey("gaia_agent_tasks.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20))
    pid: Mapped[int | None] = mapped_column(Integer)
    work_dir: Mapped[str | None] = mapped_column(Text)
    worktree: Mapped[str | None] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# Core tables, for the hot paths that skip the ORM.
workflows_table = _table(WorkflowRow)
workflow_tasks_table = _table(WorkflowTaskRow)
workflow_dependencies_table = _table(WorkflowTaskDependencyRow)
workflow_executions_table = _table(WorkflowExecutionRow)
services_table = _table(ServiceRow)
service_health_table = _table(ServiceHealthRow)
service_events_table = _table(ServiceEventRow)
service_metrics_table = _table(ServiceMetricRow)
sessions_table = _table(SessionRow)
session_windows_table = _table(SessionWindowRow)
session_panes_table = _table(SessionPaneRow)
agents_table = _table(AgentRow)
agent_tasks_table = _table(AgentTaskRow)
agent_results_table = _table(AgentResultRow)
agent_executions_table = _table(AgentExecutionRow)
