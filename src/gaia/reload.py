"""Reloading a running daemon's settings: what changes live, and what needs a restart.

`gaia daemon reload`, SIGHUP and ``POST /api/orchestration/daemon/reload`` read
config.toml and the daemon's environment again. A setting that a component reads each
time it uses it, or hands to a process when it starts one, takes effect at once. A
setting that fixes what the daemon *is* (the address it listens on, its database, its
tmux server) keeps its old value until a restart, and the report says so. A config.toml
that does not load changes nothing: the daemon goes on with the settings it had.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from gaia import _containment
from gaia.agents.registry import AgentRegistry
from gaia.config import Settings, load_settings
from gaia.errors import ConfigError
from gaia.runtime import Runtime

__all__ = [
    "IDENTITY_SETTINGS",
    "LIVE_SETTINGS",
    "RESTART_SETTINGS",
    "ReloadError",
    "ReloadReport",
    "Reloader",
    "changed_settings",
    "reload_settings",
]

# Each live setting, and from when a new value counts.
LIVE_SETTINGS: Mapping[str, str] = {
    "log_level": "at once, in the component logs",
    "max_request_body": "from the next request",
    "session_idle_timeout": "from the next session cleanup",
    "session_reconcile_interval": "from the next reconciliation",
    "workflow_max_parallel": "for workflow runs started from now",
    "containment": "for processes started from now",
    "kill_grace_period": "for processes stopped from now",
    "heartbeat_interval": "for workflow runs started from now",
    "stale_heartbeat": "from the next recovery check",
    "service_log_max_bytes": "for service processes started from now",
    "service_log_backups": "for service processes started from now",
    "service_metrics_interval": "from the next sample",
    "service_start_seconds": "for services started from now",
    "service_history_limit": "from the next pruning",
    "agents": "at once: the agent registry and its limits",
    "agent_workers": "at once",
    "agent_task_timeout": "for agent tasks queued from now",
    "agent_worktree_retention": "from the next sweep",
    "agent_close_grace": "at the next shutdown",
}
# What the daemon is: these stay as they were until `gaia daemon restart`.
# Every setting is in one of these (tests/test_reload.py checks that a new one is placed).
RESTART_SETTINGS = frozenset({"host", "port", "database_url", "tmux_socket"})
# The home is the daemon's identity ($GAIA_HOME, never in config.toml): not reloadable.
IDENTITY_SETTINGS = frozenset({"home"})


class ReloadError(ConfigError):
    """config.toml (or a GAIA_* variable) does not load: nothing was changed."""

    http_status = 422


class ReloadReport(BaseModel):
    """What a reload found and did. Keys are setting names; ``agents.<name>`` for agents."""

    config_file: str
    changed: list[str] = Field(description="settings whose value differs from the daemon's")
    applied: list[str] = Field(description="changed settings now in effect")
    restart_needed: list[str] = Field(
        description="changed settings that keep their old value until `gaia daemon restart`"
    )


# What the API's reload route calls: reload_settings with the daemon's command-line options.
Reloader = Callable[[], Awaitable[ReloadReport]]


def changed_settings(old: Settings, new: Settings) -> list[str]:
    """Names of the settings that differ; an agent table counts as ``agents.<name>``."""
    changed: list[str] = []
    for name in Settings.model_fields:
        if name in IDENTITY_SETTINGS:
            continue
        before, after = getattr(old, name), getattr(new, name)
        if name == "agents":
            for agent in sorted(set(before) | set(after)):
                if before.get(agent) != after.get(agent):
                    changed.append(f"agents.{agent}")
        elif before != after:
            changed.append(name)
    return changed


@dataclasses.dataclass(frozen=True)
class _Loaded:
    settings: Settings  # what the daemon now runs with: live values new, the rest old
    registry: AgentRegistry
    report: ReloadReport


def _load(runtime: Runtime, overrides: Mapping[str, Any]) -> _Loaded:
    """Read config.toml and the environment (blocking: file reads, PATH look-ups)."""
    old = runtime.settings
    try:
        new = load_settings(home=runtime.home.root, **overrides)
        effective = old.model_copy(update={name: getattr(new, name) for name in LIVE_SETTINGS})
        # Built-in agents are looked for on PATH again: one installed since start appears.
        registry = AgentRegistry.discover(effective)
    except ConfigError as exc:
        raise ReloadError(
            f"{exc.message} (nothing was reloaded: the daemon keeps its settings)"
        ) from None
    changed = changed_settings(old, new)
    restart = [name for name in changed if name in RESTART_SETTINGS]
    report = ReloadReport(
        config_file=str(runtime.home.config_file),
        changed=changed,
        applied=[name for name in changed if name not in RESTART_SETTINGS],
        restart_needed=restart,
    )
    return _Loaded(effective, registry, report)


def _apply(runtime: Runtime, loaded: _Loaded) -> None:
    """Hand the new settings to every component (on the event loop; nothing blocks)."""
    settings = loaded.settings
    # Components that read their settings when they use them.
    runtime.settings = settings
    runtime.services.settings = settings
    runtime.sessions.settings = settings
    runtime.workflows.settings = settings
    # Components that were handed values when they were built.
    supervisor = runtime.services.supervisor
    supervisor.options = dataclasses.replace(
        supervisor.options,
        kill_grace=settings.kill_grace_period,
        log_max_bytes=settings.service_log_max_bytes,
        log_backups=settings.service_log_backups,
        start_seconds=settings.service_start_seconds,
    )
    _containment.configure(settings.containment)
    runtime.set_log_level(settings.log_level)
    registry = loaded.registry
    # Agents registered through the API last for the daemon's lifetime: a reload keeps them.
    for agent in runtime.agents.registry.agents():
        if agent.spec.source == "api":
            registry.register(agent, replace=True)
    runtime.agents.reconfigure(
        registry,
        dataclasses.replace(
            runtime.agents.config,
            workers=settings.agent_workers,
            default_timeout=settings.agent_task_timeout,
            kill_grace=settings.kill_grace_period,
            close_grace=settings.agent_close_grace,
            worktree_retention=settings.agent_worktree_retention,
        ),
    )


async def reload_settings(
    runtime: Runtime, overrides: Mapping[str, Any] | None = None
) -> ReloadReport:
    """Read the settings again and apply what can change while the daemon runs.

    ``overrides`` are what the daemon was started with on its command line (``gaia
    serve --port``): they still win over config.toml. Raises ReloadError, having changed
    nothing, when the settings do not load.
    """
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    loaded = await asyncio.to_thread(_load, runtime, given)
    _apply(runtime, loaded)
    await asyncio.to_thread(runtime.agents.save_registry)  # records the agents as they now are
    return loaded.report
