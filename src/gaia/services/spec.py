"""The service definition format (JSON or YAML), as pydantic models.

The core fields are ``name``, ``command``, ``args``, ``port``, ``health_check`` and
``auto_restart``. With ``args`` the command is executed directly;
without them it is a shell command line (``npm run dev``) run by ``/bin/sh -c``.
"""

from __future__ import annotations

import signal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gaia._fields import Duration, EnvName, NoNul, StrictModel

__all__ = [
    "Condition",
    "HealthCheckSpec",
    "RestartBackoff",
    "RestartSpec",
    "ServiceSpec",
    "StopSpec",
]

ServiceName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$",
        description="letters, digits, '_', '-' and '.'",
    ),
]
Condition = Literal["started", "healthy", "completed_successfully"]


class HealthCheckSpec(StrictModel):
    """How to tell that a running service works; ``retries`` failures in a row = unhealthy."""

    type: Literal["http", "tcp", "exec"]
    endpoint: str | None = None
    expected_status: int | None = Field(default=None, ge=100, le=599)
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    command: NoNul | None = None
    interval: Duration = 30.0
    timeout: Duration = 5.0
    retries: int = Field(default=3, ge=1, le=100)
    initial_delay: Duration = 0.0

    @model_validator(mode="after")
    def _fields_for_type(self) -> HealthCheckSpec:
        endpoint = self.endpoint
        if self.type == "http" and endpoint and not endpoint.startswith(("http://", "https://")):
            raise ValueError("endpoint must be an http:// or https:// URL")
        if self.type == "exec" and not self.command:
            raise ValueError("an exec health check needs 'command'")
        if self.timeout <= 0:
            raise ValueError("timeout must be greater than zero")
        return self


class RestartBackoff(StrictModel):
    initial: Duration = 1.0
    multiplier: float = Field(default=2.0, ge=1.0)
    max: Duration = 30.0


class RestartSpec(StrictModel):
    """When a service is restarted after it exits, and when gaia gives up."""

    policy: Literal["no", "on_failure", "always"] = "on_failure"
    backoff: RestartBackoff = RestartBackoff()
    reset_after: Duration = Field(default=60.0, description="stable uptime that resets backoff")
    max_restarts: int = Field(default=10, ge=0)
    window: Duration = Field(default=60.0, description="max_restarts counts within this window")


class StopSpec(StrictModel):
    signal: str = "SIGTERM"
    timeout: Duration = 10.0

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        if name not in signal.Signals.__members__:
            raise ValueError(f"unknown signal {value!r}; use e.g. SIGTERM, SIGINT, SIGQUIT")
        return name

    @property
    def signum(self) -> int:
        return int(signal.Signals[self.signal])


class ServiceSpec(StrictModel):
    name: ServiceName
    description: str | None = None
    command: NoNul = Field(min_length=1)
    args: list[NoNul] = Field(default_factory=list)
    cwd: NoNul | None = None
    env: dict[EnvName, NoNul] = Field(default_factory=dict)
    env_file: NoNul | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    health_check: HealthCheckSpec | None = None
    auto_restart: bool | None = None
    restart: RestartSpec | None = None
    depends_on: dict[ServiceName, Condition] = Field(default_factory=dict)
    stop: StopSpec = StopSpec()
    # Like supervisord's startsecs: a start succeeds once the process has stayed up this
    # long or its health check passed, so a command that dies at once is reported as a
    # failed start rather than as running. 0 turns the wait off; None is the daemon's
    # service_start_seconds (1s).
    start_seconds: Duration | None = None

    @field_validator("env", mode="before")
    @classmethod
    def _stringify_env(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
        return value

    @field_validator("depends_on", mode="before")
    @classmethod
    def _list_means_started(cls, value: object) -> object:
        # `depends_on: [db]` is shorthand for `depends_on: {db: started}`.
        if isinstance(value, list):
            return {name: "started" for name in value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSpec:
        check = self.health_check
        if check is not None and check.type == "tcp" and check.port is None and self.port is None:
            raise ValueError("a tcp health check needs 'port' (or the service's 'port')")
        if check is not None and check.type == "http" and not check.endpoint and not self.port:
            raise ValueError("an http health check needs 'endpoint' (or the service's 'port')")
        if self.name in self.depends_on:
            raise ValueError(f"service {self.name!r} depends on itself")
        return self

    @property
    def restart_policy(self) -> RestartSpec:
        """``restart`` if given; else ``auto_restart: true`` means on_failure; else no."""
        if self.restart is not None:
            return self.restart
        return RestartSpec(policy="on_failure" if self.auto_restart else "no")

    @property
    def argv(self) -> list[str]:
        if self.args:
            return [self.command, *self.args]
        return ["/bin/sh", "-c", self.command]

    @property
    def health_endpoint(self) -> str | None:
        check = self.health_check
        if check is None or check.type != "http":
            return None
        return check.endpoint or f"http://127.0.0.1:{self.port}/"

    @property
    def health_port(self) -> int | None:
        check = self.health_check
        if check is None or check.type != "tcp":
            return None
        return check.port or self.port
