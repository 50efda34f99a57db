"""Settings: ``$GAIA_HOME/config.toml`` with ``GAIA_<KEY>`` environment overrides.

Precedence, highest first: keyword arguments, environment variables, config.toml,
defaults. There is no import-time instance: call ``load_settings()``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import Field

from gaia._fields import Duration
from gaia._textfile import MAX_DEFINITION_BYTES, TextFileError, read_text_file
from gaia.errors import ConfigError
from gaia.home import GaiaHome, default_home

__all__ = ["AgentSettings", "Settings", "default_tmux_socket", "load_settings"]

ENV_PREFIX = "GAIA_"

_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")
_LONG_NUMBER = re.compile(r"\d{4000,}")
_DEEP_NESTING = re.compile(r"[\[{](?:\s*[\[{]){99}")

AgentKind = Literal["claude", "gemini", "codex", "command", "system"]
TaskTypeName = Literal["shell", "code", "test", "review", "refactor"]


class AgentSettings(pydantic.BaseModel):
    """One ``[agents.<name>]`` table: how to run an agent CLI and how much of it at once."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    kind: AgentKind | None = Field(
        default=None, description="adapter; default: the table's name when built in, else command"
    )
    command: str | list[str] | None = Field(
        default=None,
        description="executable (or argv prefix); for kind=command the argv template with {prompt}",
    )
    args: list[str] = Field(default_factory=list, description="extra arguments for the CLI")
    env: dict[str, str] = Field(default_factory=dict, description="extra environment (never shown)")
    model: str | None = None
    max_concurrency: int = Field(default=2, ge=1, le=256)
    timeout: Duration | None = Field(default=None, gt=0)
    capabilities: list[TaskTypeName] | None = None
    permission_mode: str | None = Field(default=None, description="claude --permission-mode")
    approval_mode: str | None = Field(default=None, description="gemini --approval-mode")
    max_turns: int | None = Field(default=None, ge=1)
    output_format: Literal["json", "stream-json"] | None = Field(
        default=None, description="gemini --output-format"
    )
    enabled: bool = True


class Settings(pydantic.BaseModel):
    """Every configuration key gaia reads. Each one may be set as ``GAIA_<KEY>``.

    A plain pydantic model: ``load_settings`` merges config.toml and the environment
    itself, so that an error can name the file or variable a value came from (and every
    gaia command skips importing pydantic-settings, ~40 ms).
    """

    model_config = pydantic.ConfigDict(extra="forbid", validate_default=True, frozen=True)

    home: Path = Field(default_factory=default_home, exclude=True)
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite at $GAIA_HOME/gaia.db"
    )
    host: str = Field(default="127.0.0.1", description="address `gaia serve` binds")
    port: int = Field(default=8765, ge=0, le=65535, description="port `gaia serve` binds")
    max_request_body: int = Field(
        default=MAX_DEFINITION_BYTES,
        ge=1024,
        description="largest request body the daemon reads, in bytes (413 beyond)",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    tmux_socket: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="tmux -L socket name of gaia's own tmux server ('default' is the user's); "
        "default gaia-<hash of GAIA_HOME>",
    )
    session_idle_timeout: Duration = Field(
        default=24 * 3600.0, gt=0, description="the daemon destroys sessions idle this long"
    )
    session_reconcile_interval: Duration = Field(
        default=30.0, gt=0, description="how often the daemon matches session records with tmux"
    )
    workflow_max_parallel: int = Field(
        default=16, ge=1, description="default max_parallel for workflows that set none"
    )
    containment: Literal["auto", "cgroup", "process-group"] = Field(
        default="auto",
        description="how child processes are contained: a cgroup v2 each where gaia may "
        "create them (auto), always (cgroup), or by process group and sweep only",
    )
    kill_grace_period: Duration = Field(
        default=5.0, description="time between SIGTERM and SIGKILL when stopping a process tree"
    )
    heartbeat_interval: Duration = Field(
        default=2.0, gt=0, description="how often a run's owner proves it is alive"
    )
    stale_heartbeat: Duration = Field(
        default=30.0, gt=0, description="a run whose heartbeat is older than this is interrupted"
    )
    service_log_max_bytes: int = Field(
        default=10_000_000, ge=1000, description="a service log rotates beyond this size"
    )
    service_log_backups: int = Field(default=3, ge=0, description="rotated service logs kept")
    service_metrics_interval: Duration = Field(
        default=10.0, gt=0, description="how often service CPU and memory are sampled"
    )
    service_start_seconds: Duration = Field(
        default=1.0,
        ge=0,
        description="a started service must stay up this long (or be healthy) to count as started",
    )
    service_history_limit: int = Field(
        default=1000, ge=10, description="health and metric rows kept per service"
    )
    agents: dict[str, AgentSettings] = Field(
        default_factory=dict, description="[agents.<name>] tables: agent CLIs and their limits"
    )
    agent_workers: int = Field(
        default=8, ge=1, le=1024, description="agent tasks that may run at once, all agents"
    )
    agent_task_timeout: Duration = Field(
        default=1800.0, gt=0, description="timeout of an agent task that sets none"
    )
    agent_worktree_retention: Duration = Field(
        default=24 * 3600.0, ge=0, description="finished tasks' git worktrees are removed after"
    )
    agent_close_grace: Duration = Field(
        default=10.0, ge=0, description="on shutdown, running agent tasks get this long to finish"
    )

    @pydantic.model_validator(mode="before")
    @classmethod
    def _derive_tmux_socket(cls, data: Any) -> Any:
        # Unset (or empty), the socket is derived from the home so that two homes never
        # share a tmux server, and so each other's sessions; an explicit name still wins.
        if isinstance(data, dict) and not data.get("tmux_socket"):
            home = data.get("home")
            data = {**data, "tmux_socket": default_tmux_socket(Path(home) if home else None)}
        return data

    @property
    def gaia_home(self) -> GaiaHome:
        return GaiaHome(self.home)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.gaia_home.database_file}"


def default_tmux_socket(home: Path | None = None) -> str:
    """``gaia-<8 hex digits>``: a tmux socket name of its own for each GAIA_HOME directory."""
    root = (home or default_home()).expanduser().resolve()
    digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:8]
    return f"gaia-{digest}"


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        text = read_text_file(path, "config file")
    except TextFileError as exc:
        raise ConfigError(str(exc.problem)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_problem(path, text, str(exc))) from None
    except ValueError as exc:  # int() of a number past Python's 4,300-digit limit
        raise ConfigError(_toml_problem(path, text, str(exc), _LONG_NUMBER)) from None
    except RecursionError:  # arrays or inline tables nested a thousand deep
        raise ConfigError(_toml_problem(path, text, "nested too deeply", _DEEP_NESTING)) from None
    if "home" in data:
        raise ConfigError.invalid_key(
            "home", str(path), "the home directory is chosen with $GAIA_HOME, not in config.toml"
        )
    return data


def _toml_problem(path: Path, text: str, reason: str, where: re.Pattern[str] | None = None) -> str:
    """``path:line:column: invalid TOML: reason``, placed where tomllib said (its message
    ends "(at line 3, column 7)") or at the first match of ``where``."""
    line, column = 1, 1
    said = _TOML_AT.search(reason)
    if said is not None:
        line, column = int(said[1]), int(said[2])
        reason = reason[: said.start()].rstrip()
    elif reason.endswith("(at end of document)"):
        line, column = text.count("\n") + 1, len(text) - text.rfind("\n")
        reason = reason.removesuffix("(at end of document)") + "at the end of the file"
    elif where is not None and (found := where.search(text)) is not None:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return f"{path}:{line}:{column}: invalid TOML: {reason}"


def load_settings(
    home: Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read config.toml under ``home`` (default $GAIA_HOME or ~/.gaia) and the environment."""
    env = dict(os.environ if environ is None else environ)
    root = home or (Path(env["GAIA_HOME"]) if env.get("GAIA_HOME") else default_home())
    root = root.expanduser().resolve()
    config_file = GaiaHome(root).config_file
    file_values = _read_toml(config_file)
    env_keys = {
        name: f"{ENV_PREFIX}{name.upper()}"
        for name in Settings.model_fields
        if f"{ENV_PREFIX}{name.upper()}" in env
    }
    values: dict[str, Any] = dict(file_values)
    values.update({name: env[var] for name, var in env_keys.items() if name != "home"})
    values.update(overrides)
    values["home"] = root
    try:
        return Settings(**values)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "?"
        top = str(error["loc"][0]) if error["loc"] else ""
        if top in overrides:
            where = "arguments"
        elif top in env_keys:
            where = f"environment variable {env_keys[top]}"
        else:
            where = str(config_file)
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(k for k in Settings.model_fields if k != "home"))
            reason = f"unknown key (known keys: {known})"
        raise ConfigError.invalid_key(key, where, reason) from None
