"""Tables. Each component adds its own; all share ``metadata`` for migrations."""

from __future__ import annotations

from typing import Any

# Core only: importing sqlalchemy.orm would cost every gaia command tens of milliseconds.
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gaia.storage.types import UTCDateTime, utcnow

__all__ = [
    "agent_executions_table",
    "agent_results_table",
    "agent_tasks_table",
    "agents_table",
    "metadata",
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

metadata = MetaData()


def _parent_id(name: str, parent: str, **options: Any) -> Column[Any]:
    """A column holding the id of a row of table ``parent``; deleted with that row."""
    return Column(name, String(36), ForeignKey(f"{parent}.id", ondelete="CASCADE"), **options)


def _timestamps() -> tuple[Column[Any], Column[Any]]:
    return (
        Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
        Column("updated_at", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow),
    )


# One run of a workflow definition (the API calls a run a workflow).
workflows_table = Table(
    "gaia_workflows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, index=True),
    Column("description", Text()),
    Column("status", String(20), nullable=False, index=True),
    Column("source", Text(), nullable=False),
    Column("definition", Text(), nullable=False),
    Column("spec", JSON(), nullable=False),
    Column("base_dir", Text(), nullable=False),
    Column("max_parallel", Integer(), nullable=False),
    Column("error", Text()),
    Column("owner_pid", Integer()),
    Column("owner_host", String(255)),
    Column("owner_started_at", Double()),
    Column("heartbeat_at", UTCDateTime()),
    Column("stop_requested_at", UTCDateTime()),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("metadata", JSON(), nullable=False, default=dict),
    *_timestamps(),
    Index("ix_gaia_workflows_created_at", "created_at"),
    Index("ix_gaia_workflows_updated_at", "updated_at"),
)

workflow_tasks_table = Table(
    "gaia_workflow_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("workflow_id", "gaia_workflows", nullable=False, index=True),
    Column("task_key", String(128), nullable=False),
    Column("position", Integer(), nullable=False),
    Column("type", String(20), nullable=False),
    Column("agent", String(100), nullable=False),
    Column("command", Text(), nullable=False),
    Column("description", Text()),
    Column("status", String(20), nullable=False, index=True),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("exit_code", Integer()),
    Column("error", Text()),
    Column("log_path", Text()),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("config", JSON(), nullable=False, default=dict),
    Column("metadata", JSON(), nullable=False, default=dict),
    *_timestamps(),
    UniqueConstraint("workflow_id", "task_key", name="uq_gaia_workflow_tasks_key"),
)

workflow_dependencies_table = Table(
    "gaia_workflow_task_dependencies",
    metadata,
    _parent_id("task_id", "gaia_workflow_tasks", primary_key=True),
    _parent_id("depends_on_id", "gaia_workflow_tasks", primary_key=True, index=True),
    _parent_id("workflow_id", "gaia_workflows", nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

# One attempt of one task: the execution history.
workflow_executions_table = Table(
    "gaia_workflow_executions",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("workflow_id", "gaia_workflows", nullable=False, index=True),
    _parent_id("task_id", "gaia_workflow_tasks", nullable=False),
    Column("attempt", Integer(), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("pid", Integer()),
    Column("exit_code", Integer()),
    Column("error", Text()),
    Column("log_path", Text()),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("duration_ms", Integer()),
    Column("metadata", JSON(), nullable=False, default=dict),
    UniqueConstraint("task_id", "attempt", name="uq_gaia_workflow_executions_attempt"),
)

# A registered service, its definition and its last known runtime state.
services_table = Table(
    "gaia_services",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("spec", JSON(), nullable=False),
    Column("state", String(20), nullable=False, index=True),
    Column("health", String(20), nullable=False, default="unknown"),
    Column("desired_state", String(20), nullable=False, default="stopped"),
    Column("pid", Integer()),
    Column("pid_started_at", Double()),
    Column("restart_count", Integer(), nullable=False, default=0),
    Column("last_exit_code", Integer()),
    Column("started_at", UTCDateTime()),
    Column("stopped_at", UTCDateTime()),
    Column("metadata", JSON(), nullable=False, default=dict),
    *_timestamps(),
)

service_health_table = Table(
    "gaia_service_health_history",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _parent_id("service_id", "gaia_services", nullable=False),
    Column("checked_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("ok", Boolean(), nullable=False),
    Column("health", String(20), nullable=False),
    Column("latency_ms", Double()),
    Column("detail", Text()),
    Index("ix_gaia_service_health_service_time", "service_id", "checked_at"),
)

service_events_table = Table(
    "gaia_service_events",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _parent_id("service_id", "gaia_services", nullable=False),
    Column("at", UTCDateTime(), nullable=False, default=utcnow),
    Column("kind", String(40), nullable=False),
    Column("from_state", String(20)),
    Column("to_state", String(20)),
    Column("message", Text()),
    Column("metadata", JSON(), nullable=False, default=dict),
    Index("ix_gaia_service_events_service_time", "service_id", "at"),
)

service_metrics_table = Table(
    "gaia_service_metrics",
    metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    _parent_id("service_id", "gaia_services", nullable=False),
    Column("sampled_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("cpu_percent", Double(), nullable=False),
    Column("rss_bytes", Integer(), nullable=False),
    Column("uptime_seconds", Double(), nullable=False),
    Column("restart_count", Integer(), nullable=False),
    Column("process_count", Integer(), nullable=False),
    Index("ix_gaia_service_metrics_service_time", "service_id", "sampled_at"),
)

# A tmux session gaia knows, alive or dead, with what it needs to recreate it.
# ``environment`` is kept to recreate the session and never shown.
sessions_table = Table(
    "gaia_sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, index=True),
    Column("status", String(10), nullable=False, index=True),
    Column("origin", String(20), nullable=False),
    Column("tmux_id", String(20)),
    Column("socket", String(200), nullable=False),
    Column("start_directory", Text()),
    Column("environment", JSON(), nullable=False, default=dict),
    Column("width", Integer()),
    Column("height", Integer()),
    Column("layout_file", Text()),
    Column("last_used_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("last_activity_at", UTCDateTime()),
    Column("dead_at", UTCDateTime()),
    *_timestamps(),
)

session_windows_table = Table(
    "gaia_session_windows",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("session_id", "gaia_sessions", nullable=False, index=True),
    Column("tmux_id", String(20)),
    Column("position", Integer(), nullable=False),
    Column("name", String(200), nullable=False),
    Column("layout", Text()),
    Column("start_directory", Text()),
    Column("environment", JSON(), nullable=False, default=dict),
    Column("active", Boolean(), nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

session_panes_table = Table(
    "gaia_session_panes",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("window_id", "gaia_session_windows", nullable=False, index=True),
    _parent_id("session_id", "gaia_sessions", nullable=False, index=True),
    Column("tmux_id", String(20)),
    Column("position", Integer(), nullable=False),
    Column("start_directory", Text()),
    Column("commands", JSON(), nullable=False, default=list),
    Column("environment", JSON(), nullable=False, default=dict),
    Column("active", Boolean(), nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
)

# A registered agent: how gaia runs it and how many tasks it may run at once.
agents_table = Table(
    "gaia_agents",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("source", String(20), nullable=False),  # builtin, config, api
    Column("command", JSON(), nullable=False, default=list),
    Column("capabilities", JSON(), nullable=False, default=list),
    Column("max_concurrency", Integer(), nullable=False),
    Column("timeout", Double()),
    Column("available", Boolean(), nullable=False, default=True),
    Column("metadata", JSON(), nullable=False, default=dict),
    *_timestamps(),
)

# One task for an agent: the queue is the rows whose status is ``queued``.
# ``seq`` orders tasks of equal priority first-in-first-out across restarts.
agent_tasks_table = Table(
    "gaia_agent_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("seq", Integer(), nullable=False),
    Column("requested_agent", String(100), nullable=False),
    Column("agent_id", String(100), nullable=False, index=True),
    Column("task_type", String(20), nullable=False),
    Column("instruction", Text(), nullable=False),
    Column("context", JSON(), nullable=False, default=dict),
    Column("work_dir", Text()),
    Column("timeout", Double()),
    Column("priority", Integer(), nullable=False),
    Column("isolation", String(10), nullable=False),
    Column("visible", Boolean(), nullable=False, default=False),
    Column("status", String(20), nullable=False),
    Column("error", Text()),
    Column("owner_pid", Integer()),
    Column("owner_host", String(255)),
    Column("owner_started_at", Double()),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("metadata", JSON(), nullable=False, default=dict),
    *_timestamps(),
    Index("ix_gaia_agent_tasks_queue", "status", "priority", "seq"),
)

# What a finished task produced: text, usage and cost, and its branch when isolated.
agent_results_table = Table(
    "gaia_agent_results",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("task_id", "gaia_agent_tasks", nullable=False, unique=True),
    Column("agent_id", String(100), nullable=False, index=True),
    Column("success", Boolean(), nullable=False),
    Column("output", Text()),
    Column("error", Text()),
    Column("exit_code", Integer()),
    Column("session_id", String(100)),
    Column("cost_usd", Double()),
    Column("input_tokens", Integer()),
    Column("output_tokens", Integer()),
    Column("num_turns", Integer()),
    Column("duration_ms", Integer()),
    Column("branch", String(200)),
    Column("commit", String(64)),
    Column("base_commit", String(64)),
    Column("diff_stat", JSON(), nullable=False, default=dict),
    Column("created_at", UTCDateTime(), nullable=False, default=utcnow),
    Column("metadata", JSON(), nullable=False, default=dict),
)

# One run of an agent process for a task: where, which process, how it ended.
agent_executions_table = Table(
    "gaia_agent_executions",
    metadata,
    Column("id", String(36), primary_key=True),
    _parent_id("task_id", "gaia_agent_tasks", nullable=False, index=True),
    Column("agent_id", String(100), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("pid", Integer()),
    Column("work_dir", Text()),
    Column("worktree", Text()),
    Column("log_path", Text()),
    Column("exit_code", Integer()),
    Column("error", Text()),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("duration_ms", Integer()),
    Column("metadata", JSON(), nullable=False, default=dict),
)
