"""What tmux has right now: sessions, windows and panes read in one ``list-panes`` call.

Each object gaia made or adopted carries its durable gaia id in a tmux user option
(``@gaia_session_id`` on the session, ``@gaia_window_id`` on the window, ``@gaia_pane_id``
on the pane). tmux reuses ``$1``/``@1``/``%1`` after a server restart; these options do
not survive one, so an id read back from tmux is always the object gaia recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gaia.sessions.tmux import FIELD_SEPARATOR, NoServerError, TmuxDriver

__all__ = [
    "PANE_OPTION",
    "SESSION_OPTION",
    "WINDOW_OPTION",
    "LivePane",
    "LiveSession",
    "LiveWindow",
    "snapshot",
]

SESSION_OPTION = "@gaia_session_id"
WINDOW_OPTION = "@gaia_window_id"
PANE_OPTION = "@gaia_pane_id"

_FIELDS = (
    "session_id",
    SESSION_OPTION,
    "session_name",
    "session_created",
    "session_attached",
    "session_path",
    "window_id",
    WINDOW_OPTION,
    "window_index",
    "window_name",
    "window_layout",
    "window_active",
    "window_activity",
    "window_width",
    "window_height",
    "pane_id",
    PANE_OPTION,
    "pane_index",
    "pane_active",
    "pane_width",
    "pane_height",
    "pane_current_command",
    "pane_current_path",
    "pane_pid",
    "pane_dead",
)
PANES_FORMAT = FIELD_SEPARATOR.join(f"#{{{name}}}" for name in _FIELDS)


@dataclass
class LivePane:
    tmux_id: str
    gaia_id: str | None
    index: int
    active: bool
    width: int
    height: int
    current_command: str
    current_path: str
    pid: int | None
    dead: bool


@dataclass
class LiveWindow:
    tmux_id: str
    gaia_id: str | None
    index: int
    name: str
    layout: str
    active: bool
    activity: float
    width: int
    height: int
    panes: list[LivePane] = field(default_factory=list)

    @property
    def active_pane(self) -> LivePane:
        return next((p for p in self.panes if p.active), self.panes[0])


@dataclass
class LiveSession:
    tmux_id: str
    gaia_id: str | None
    name: str
    created: float
    attached: int
    path: str
    windows: list[LiveWindow] = field(default_factory=list)

    @property
    def active_window(self) -> LiveWindow:
        return next((w for w in self.windows if w.active), self.windows[0])

    @property
    def activity(self) -> float:
        """Latest output in any window (tmux's session_activity only moves on input)."""
        return max([self.created, *(w.activity for w in self.windows)])

    def panes(self) -> list[tuple[LiveWindow, LivePane]]:
        return [(w, p) for w in self.windows for p in w.panes]


def _int(value: str, default: int = 0) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def parse(lines: list[str]) -> list[LiveSession]:
    sessions: dict[str, LiveSession] = {}
    windows: dict[str, LiveWindow] = {}
    for line in lines:
        values = line.split(FIELD_SEPARATOR)
        if len(values) != len(_FIELDS):
            continue  # a name with the separator in it: cannot be parsed, so skipped
        row = dict(zip(_FIELDS, values, strict=True))
        session = sessions.get(row["session_id"])
        if session is None:
            session = sessions[row["session_id"]] = LiveSession(
                tmux_id=row["session_id"],
                gaia_id=row[SESSION_OPTION] or None,
                name=row["session_name"],
                created=float(_int(row["session_created"])),
                attached=_int(row["session_attached"]),
                path=row["session_path"],
            )
        window = windows.get(row["window_id"])
        if window is None:
            window = windows[row["window_id"]] = LiveWindow(
                tmux_id=row["window_id"],
                gaia_id=row[WINDOW_OPTION] or None,
                index=_int(row["window_index"]),
                name=row["window_name"],
                layout=row["window_layout"],
                active=row["window_active"] == "1",
                activity=float(_int(row["window_activity"])),
                width=_int(row["window_width"]),
                height=_int(row["window_height"]),
            )
            session.windows.append(window)
        window.panes.append(
            LivePane(
                tmux_id=row["pane_id"],
                gaia_id=row[PANE_OPTION] or None,
                index=_int(row["pane_index"]),
                active=row["pane_active"] == "1",
                width=_int(row["pane_width"]),
                height=_int(row["pane_height"]),
                current_command=row["pane_current_command"],
                current_path=row["pane_current_path"],
                pid=_int(row["pane_pid"]) or None,
                dead=row["pane_dead"] == "1",
            )
        )
    for session in sessions.values():
        session.windows.sort(key=lambda w: w.index)
        for window in session.windows:
            window.panes.sort(key=lambda p: p.index)
    return list(sessions.values())


def snapshot(driver: TmuxDriver, session: str | None = None) -> list[LiveSession]:
    """Every session on gaia's tmux server (or the one ``session`` names); none if it is down."""
    scope = ["-s", "-t", session] if session else ["-a"]
    try:
        return parse(driver.execute(["list-panes", *scope, "-F", PANES_FORMAT]))
    except NoServerError:
        return []
