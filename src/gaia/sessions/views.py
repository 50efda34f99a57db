"""What the API and CLI show of sessions (environment values are never included)."""

from __future__ import annotations

import time
from datetime import datetime

from pydantic import BaseModel

from gaia.sessions.live import LivePane, LiveSession
from gaia.sessions.records import SessionRecord, from_epoch

__all__ = [
    "CaptureView",
    "CleanupView",
    "PaneView",
    "ReconcileView",
    "RunView",
    "SessionView",
    "WindowView",
    "pane_view",
    "session_view",
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
    # what loading the layout file ignored or could not honour (file:line:column: ...)
    warnings: list[str] = []


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


def pane_view(pane: LivePane, commands: list[str] | None) -> PaneView:
    return PaneView(
        id=pane.gaia_id or "",
        tmux_id=pane.tmux_id,
        index=pane.index,
        active=pane.active,
        width=pane.width,
        height=pane.height,
        current_command=pane.current_command,
        current_path=pane.current_path,
        pid=pane.pid,
        commands=commands or [],
    )


def _recorded_windows(record: SessionRecord) -> list[WindowView]:
    return [
        WindowView(
            id=w.id,
            tmux_id=w.tmux_id,
            index=w.position,
            name=w.name,
            layout=w.layout,
            active=w.active,
            panes=[
                PaneView(
                    id=p.id,
                    tmux_id=p.tmux_id,
                    index=p.position,
                    active=p.active,
                    current_path=p.start_directory,
                    commands=p.commands,
                )
                for p in w.panes
            ],
        )
        for w in record.windows
    ]


def _live_windows(record: SessionRecord, live: LiveSession) -> list[WindowView]:
    commands = {p.id: p.commands for p in record.panes()}
    return [
        WindowView(
            id=w.gaia_id or "",
            tmux_id=w.tmux_id,
            index=w.index,
            name=w.name,
            layout=w.layout,
            active=w.active,
            panes=[pane_view(p, commands.get(p.gaia_id or "")) for p in w.panes],
        )
        for w in live.windows
    ]


def session_view(record: SessionRecord, live: LiveSession | None) -> SessionView:
    """The record, with what tmux shows now when the session is alive."""
    activity = record.last_used_at.timestamp()
    if live is not None:
        activity = max(activity, live.activity)
    elif record.last_activity_at is not None:
        activity = max(activity, record.last_activity_at.timestamp())
    return SessionView(
        id=record.id,
        name=live.name if live else record.name,
        status="alive" if live is not None or record.alive else "dead",
        origin=record.origin,
        tmux_id=live.tmux_id if live else record.tmux_id,
        socket=record.socket,
        start_directory=record.start_directory,
        attached=bool(live and live.attached),
        environment_keys=sorted(record.environment),
        layout_file=record.layout_file,
        created_at=record.created_at,
        last_used_at=record.last_used_at,
        last_activity_at=from_epoch(activity),
        idle_seconds=round(time.time() - activity, 1) if record.alive else None,
        dead_at=record.dead_at,
        windows=_live_windows(record, live) if live else _recorded_windows(record),
    )
