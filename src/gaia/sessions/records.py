"""What gaia remembers of a session, and how such a record is made.

A record is built from a spec (a session gaia creates), from live tmux state (a session
gaia adopts), or by merging live state into an older record (reconciliation keeps what
tmux cannot tell: the commands a pane was created with, environments, start directories).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from gaia.sessions.live import LiveSession
from gaia.sessions.spec import SessionSpec
from gaia.storage.types import utcnow

__all__ = [
    "ALIVE",
    "DEAD",
    "Keystroke",
    "PaneBuild",
    "PaneRecord",
    "SessionRecord",
    "WindowBuild",
    "WindowRecord",
    "from_epoch",
    "merge_live",
    "record_from_live",
    "record_from_spec",
]

ALIVE = "alive"
DEAD = "dead"


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Keystroke:
    """One command to type: ``enter`` presses Enter after it; ``suppress_history`` types a
    space first (shells with HISTCONTROL=ignorespace then keep it out of their history)."""

    text: str
    enter: bool = True
    sleep_before: float | None = None
    sleep_after: float | None = None
    suppress_history: bool = False


@dataclass
class PaneBuild:
    """How a pane is started and typed into; used when it is built, not remembered."""

    shell: str | None = None  # a program to run instead of the default shell
    keystrokes: list[Keystroke] = field(default_factory=list)


@dataclass
class WindowBuild:
    """What applies to a window while it is built; not remembered."""

    index: int | None = None
    shell: str | None = None
    options_after: dict[str, str | int | float | bool] = field(default_factory=dict)


@dataclass
class PaneRecord:
    id: str = field(default_factory=_new_id)
    tmux_id: str | None = None
    position: int = 0
    start_directory: str | None = None
    commands: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    active: bool = False
    created_at: datetime = field(default_factory=utcnow)
    build: PaneBuild | None = None


@dataclass
class WindowRecord:
    id: str = field(default_factory=_new_id)
    name: str = ""
    tmux_id: str | None = None
    position: int = 0
    layout: str | None = None
    start_directory: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    active: bool = False
    panes: list[PaneRecord] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    # tmux window options from a layout; applied when built, not recorded
    options: dict[str, str | int | float | bool] = field(default_factory=dict)
    build: WindowBuild | None = None


@dataclass
class SessionRecord:
    name: str
    socket: str
    id: str = field(default_factory=_new_id)
    status: str = ALIVE
    origin: str = "created"
    tmux_id: str | None = None
    start_directory: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    layout_file: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    last_used_at: datetime = field(default_factory=utcnow)
    last_activity_at: datetime | None = None
    dead_at: datetime | None = None
    windows: list[WindowRecord] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return self.status == ALIVE

    def panes(self) -> list[PaneRecord]:
        return [p for w in self.windows for p in w.panes]


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=utcnow().tzinfo)


def record_from_spec(
    spec: SessionSpec, socket: str, *, origin: str, layout_file: str | None
) -> SessionRecord:
    windows: list[WindowRecord] = []
    for position, window in enumerate(spec.windows):
        before = [*spec.shell_command_before, *window.shell_command_before]
        # tmuxp types with a leading space unless suppress_history is false somewhere
        suppress = window.suppress_history
        if suppress is None:
            suppress = spec.suppress_history
        panes: list[PaneRecord] = []
        for index, pane in enumerate(window.panes):
            commands = [*before, *pane.shell_command_before, *pane.shell_command]
            hide = pane.suppress_history if pane.suppress_history is not None else suppress
            keystrokes: list[Keystroke] = []
            enter, sleep_before, sleep_after = pane.enter, pane.sleep_before, pane.sleep_after
            for command in commands:
                # as tmuxp: a command's own setting also holds for the commands after it
                enter = command.enter if command.enter is not None else enter
                if command.sleep_before is not None:
                    sleep_before = command.sleep_before
                if command.sleep_after is not None:
                    sleep_after = command.sleep_after
                keystrokes.append(
                    Keystroke(
                        command.cmd,
                        enter=enter,
                        sleep_before=sleep_before,
                        sleep_after=sleep_after,
                        suppress_history=hide is not False and spec_suppresses(origin),
                    )
                )
            panes.append(
                PaneRecord(
                    position=index,
                    start_directory=pane.start_directory,
                    commands=[c.cmd for c in commands],
                    environment=dict(pane.environment or {}),
                    active=pane.focus,
                    build=PaneBuild(shell=pane.shell or window.window_shell, keystrokes=keystrokes),
                )
            )
        windows.append(
            WindowRecord(
                name=window.window_name or "",
                position=position,
                layout=window.layout,
                start_directory=window.start_directory,
                environment=dict(window.environment),
                active=window.focus,
                options=dict(window.options),
                panes=panes,
                build=WindowBuild(
                    index=window.window_index,
                    shell=(window.panes[0].shell if window.panes else None) or window.window_shell,
                    options_after=dict(window.options_after),
                ),
            )
        )
    return SessionRecord(
        name=spec.session_name,
        socket=socket,
        origin=origin,
        start_directory=spec.start_directory,
        environment=dict(spec.environment),
        width=spec.width,
        height=spec.height,
        layout_file=layout_file,
        windows=windows,
    )


def spec_suppresses(origin: str) -> bool:
    """tmuxp's default (a space before each command) holds for layout files; sessions
    made through the API or ``gaia session create`` type exactly what they were given."""
    return origin == "layout"


def record_from_live(live: LiveSession, socket: str) -> SessionRecord:
    """A record for a session gaia did not make (its objects must carry gaia ids)."""
    return SessionRecord(
        id=live.gaia_id or _new_id(),
        name=live.name,
        socket=socket,
        origin="adopted",
        tmux_id=live.tmux_id,
        start_directory=live.path or None,
        last_activity_at=from_epoch(live.activity),
        windows=merge_live(None, live),
    )


def merge_live(
    old: SessionRecord | None,
    live: LiveSession,
    commands: dict[str, list[str]] | None = None,
) -> list[WindowRecord]:
    """The windows and panes tmux has now, with what ``old`` knew of each kept.

    ``commands`` gives panes created just now the commands typed into them.
    """
    old_windows = {w.id: w for w in old.windows} if old else {}
    old_panes = {p.id: p for p in old.panes()} if old else {}
    windows: list[WindowRecord] = []
    for window in live.windows:
        if window.gaia_id is None:
            continue
        before = old_windows.get(window.gaia_id) or WindowRecord(id=window.gaia_id)
        panes: list[PaneRecord] = []
        for pane in window.panes:
            if pane.gaia_id is None:
                continue
            known = old_panes.get(pane.gaia_id) or PaneRecord(id=pane.gaia_id)
            panes.append(
                PaneRecord(
                    id=pane.gaia_id,
                    tmux_id=pane.tmux_id,
                    position=pane.index,
                    start_directory=pane.current_path or known.start_directory,
                    commands=(commands or {}).get(pane.gaia_id) or known.commands,
                    environment=known.environment,
                    active=pane.active,
                    created_at=known.created_at,
                )
            )
        windows.append(
            WindowRecord(
                id=window.gaia_id,
                name=window.name,
                tmux_id=window.tmux_id,
                position=window.index,
                layout=window.layout,
                start_directory=before.start_directory,
                environment=before.environment,
                active=window.active,
                panes=panes,
                created_at=before.created_at,
            )
        )
    return windows
