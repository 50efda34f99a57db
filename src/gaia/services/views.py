"""What the API and CLI show of services (env values are never included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

__all__ = ["EventView", "HealthView", "ServiceView"]


class ServiceView(BaseModel):
    id: str
    name: str
    description: str | None
    state: str
    health: str
    desired_state: str
    pid: int | None
    port: int | None
    command: list[str]
    cwd: str | None
    env_keys: list[str]
    depends_on: dict[str, str]
    health_check: str | None
    restart_policy: str
    restart_count: int
    last_exit_code: int | None
    uptime_seconds: float | None
    cpu_percent: float | None
    rss_bytes: int | None
    created_at: datetime


class HealthView(BaseModel):
    name: str
    health: str
    check: dict[str, Any] | None
    history: list[dict[str, Any]]


class EventView(BaseModel):
    at: datetime
    kind: str
    from_state: str | None
    to_state: str | None
    message: str | None
