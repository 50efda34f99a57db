"""What the API and CLI show of sessions (environment values are never included)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

__all__ = [
    "CaptureView",
    "CleanupView",
    "PaneView",
    "ReconcileView",
    "RunView",
    "SessionView",
    "WindowView",
]


class PaneView(BaseModel):
    id: str
    tmux_id: str | None
    index: int
    active: bool
    width: int | None = None
    height: int | None = None
    current_command: str | None = None
    current_path: str | None = None
    pid: int | None = None
    commands: list[str] = []


class WindowView(BaseModel):
    id: str
    tmux_id: str | None
    index: int
    name: str
    layout: str | None
    active: bool
    panes: list[PaneView]


class SessionView(BaseModel):
    id: str
    name: str
    status: str
    origin: str
    tmux_id: str | None
    socket: str
    start_directory: str | None
    attached: bool
    environment_keys: list[str]
    layout_file: str | None
    created_at: datetime
    last_used_at: datetime
    last_activity_at: datetime | None
    idle_seconds: float | None
    dead_at: datetime | None
    windows: list[WindowView]


class CaptureView(BaseModel):
    session_id: str
    window_id: str
    pane_id: str
    lines: list[str]
    content: str


class RunView(BaseModel):
    session_id: str
    window_id: str
    pane_id: str
    command: str
    exit_status: int | None
    timed_out: bool
    duration_seconds: float
    output: str
    truncated: bool


class CleanupView(BaseModel):
    id: str
    name: str
    idle_seconds: float
    destroyed: bool


class ReconcileView(BaseModel):
    adopted: list[str]
    died: list[str]
    alive: int
