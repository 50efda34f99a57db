"""Live watches of the sessions views (see gaia.live).

``sessions``: every session, alive and dead, with its windows and panes. ``session:REF``:
one of them (id, id prefix or name). ``pane:SESSION/WINDOW/PANE``: a pane's text (each
part URL-encoded, so names may hold ``/``; an empty WINDOW or PANE means the active one).

tmux is asked at most once a second per page: the session list is one ``list-panes``
shared by every watcher (reconciling with the records only when they disagree, so an
idle page writes nothing); a watched pane is one tmux call a second that lists its
session's panes and captures its text, sent on only when the text changed, and the
session's own watch uses that list instead of asking again. All tmux and database calls
run in threads; nothing runs while nobody watches.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from gaia.errors import ConflictError, GaiaError, NoServerError, NotFoundError
from gaia.live.base import LiveEvent, Watch, WatchError, changes
from gaia.runtime import Runtime
from gaia.sessions.live import (
    PANE_OPTION,
    PANES_FORMAT,
    LivePane,
    LiveSession,
    LiveWindow,
    parse,
    snapshot,
)
from gaia.sessions.manager import SessionManager
from gaia.sessions.reconcile import reconcile
from gaia.sessions.records import SessionRecord
from gaia.sessions.targets import pick
from gaia.sessions.tmux import FIELD_SEPARATOR
from gaia.sessions.views import session_view

__all__ = [
    "PREVIEW_HISTORY",
    "WATCHES",
    "PanePreview",
    "SessionState",
    "parse_pane_argument",
    "session_states",
]

TMUX_INTERVAL = 1.0  # seconds: at most one list-panes, and one capture per pane, this often
PREVIEW_HISTORY = 200  # lines of history above the visible screen in a pane's preview
# idle_seconds moves every second by itself; pages compute it from last_activity_at.
_VOLATILE = {"idle_seconds"}


def _drifted(records: list[SessionRecord], lives: list[LiveSession]) -> bool:
    """Records and tmux disagree: a session died, or tmux has something gaia has no id for."""
    known = {r.id for r in records}
    alive = {r.id for r in records if r.alive}
    live_ids = set()
    for live in lives:
        if live.gaia_id is None or live.gaia_id not in known:
            return True
        live_ids.add(live.gaia_id)
        for window in live.windows:
            if window.gaia_id is None or any(p.gaia_id is None for p in window.panes):
                return True
    return alive != live_ids


def session_states(manager: SessionManager) -> dict[str, Any]:
    """Every session as the API shows it, and ``problem``: why tmux could not be asked.

    Reconciles (which writes) only when the records and tmux disagree.
    """
    records = manager.store.all()
    try:
        lives = snapshot(manager.driver)
        if _drifted(records, lives):
            lives = reconcile(manager.driver, manager.store).lives
            records = manager.store.all()
    except GaiaError as exc:  # tmux missing or failing: the records are still worth showing
        views = [session_view(r, None) for r in records]
        return {
            "sessions": [v.model_dump(mode="json", exclude=_VOLATILE) for v in views],
            "problem": str(exc),
        }
    by_id = {live.gaia_id: live for live in lives}
    views = [session_view(r, by_id.get(r.id)) for r in records]
    return {
        "sessions": [v.model_dump(mode="json", exclude=_VOLATILE) for v in views],
        "problem": None,
    }


class _SharedStates:
    """The latest session states, fetched at most once per ``TMUX_INTERVAL`` for all watchers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[float, dict[str, Any]]] = {}

    def get(self, manager: SessionManager) -> dict[str, Any]:
        with self._lock:  # one thread asks tmux; the others wait and share its answer
            cached = self._cache.get(id(manager))
            now = time.monotonic()
            if cached is not None and now - cached[0] < TMUX_INTERVAL * 0.9:
                return cached[1]
            value = session_states(manager)
            self._cache[id(manager)] = (time.monotonic(), value)
            return value


_shared = _SharedStates()


async def _watch_sessions(runtime: Runtime, _argument: str) -> AsyncIterator[LiveEvent]:
    manager = runtime.sessions
    async for value in changes(lambda: _shared.get(manager), TMUX_INTERVAL):
        yield "sessions", value


class _Snapshots:
    """The latest ``list-panes`` of single tmux sessions, shared by a page's watches.

    A session's page watches the session and a pane of it: the pane's look lists the
    session's panes in the same tmux call as its capture, and the session's watch uses
    that list while it is fresh instead of asking tmux again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[int, str], tuple[float, LiveSession | None]] = {}

    def put(self, manager: SessionManager, tmux_id: str, live: LiveSession | None) -> None:
        with self._lock:
            self._items[(id(manager), tmux_id)] = (time.monotonic(), live)

    def get(
        self, manager: SessionManager, tmux_id: str, max_age: float
    ) -> tuple[bool, LiveSession | None]:
        """(found, the session or None if tmux did not have it)."""
        with self._lock:
            item = self._items.get((id(manager), tmux_id))
            if item is None or time.monotonic() - item[0] > max_age:
                return False, None
            return True, item[1]


_snapshots = _Snapshots()
# A pane look refreshes its session's list once a second; the session's own watch takes
# it up to this old before asking tmux itself (a new window shows within 1.5 s).
SHARED_MAX_AGE = 1.5 * TMUX_INTERVAL


def _untagged(live: LiveSession) -> bool:
    return any(w.gaia_id is None or any(p.gaia_id is None for p in w.panes) for w in live.windows)


class SessionState:
    """One session as the API shows it, for its page: ``session`` is None once it is gone.

    Costs one small indexed read and at most one ``list-panes`` of that session a second
    (none while a pane of it is watched); reconciles only when tmux and the record disagree.
    """

    def __init__(self, manager: SessionManager, ref: str) -> None:
        self.manager, self.ref = manager, ref
        self._id: str | None = None

    def _record(self) -> SessionRecord | None:
        record = self.manager.store.get(self._id) if self._id else None
        if record is None:  # first look, or gone: find it by what the page names
            try:
                record = self.manager.store.find(self.ref)
            except NotFoundError:
                return None
        self._id = record.id
        return record

    def _live(self, record: SessionRecord) -> LiveSession | None:
        if not record.tmux_id:
            return None
        found, live = _snapshots.get(self.manager, record.tmux_id, SHARED_MAX_AGE)
        if not found:
            try:
                lives = snapshot(self.manager.driver, session=record.tmux_id)
            except NotFoundError:
                lives = []
            live = lives[0] if lives else None
            _snapshots.put(self.manager, record.tmux_id, live)
        return live

    def look(self) -> dict[str, Any]:
        try:
            record = self._record()
            if record is None:
                return {"ref": self.ref, "session": None, "problem": None}
            live = self._live(record) if record.alive else None
            if record.alive and (live is None or live.gaia_id != record.id or _untagged(live)):
                self.manager.reconcile()  # it died, moved or grew untagged panes: catch up
                view = self.manager.get(record.id)
            else:
                view = session_view(record, live)
        except NotFoundError:
            return {"ref": self.ref, "session": None, "problem": None}
        except GaiaError as exc:
            return {"ref": self.ref, "session": None, "problem": str(exc)}
        session = view.model_dump(mode="json", exclude=_VOLATILE)
        return {"ref": self.ref, "session": session, "problem": None}


async def _watch_session(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    ref = unquote(argument)
    if not ref:
        raise WatchError("session:REF names a session (id, id prefix or name)")
    state = SessionState(runtime.sessions, ref)
    async for value in changes(state.look, TMUX_INTERVAL):
        yield "session", value


@dataclass
class _Target:
    record: SessionRecord
    session_tmux_id: str
    window: LiveWindow
    pane: LivePane


class PanePreview:
    """A pane's text for a page: its pane found once, then one tmux call per look.

    The tmux pane id is checked against the pane's gaia id in the same call as the
    capture, so a pane id tmux reused after a restart is never shown as this pane.
    """

    def __init__(self, manager: SessionManager, session: str, window: str, pane: str) -> None:
        self.manager = manager
        self.session, self.window, self.pane = session, window or None, pane or None
        self._target: _Target | None = None
        # Between the session's pane list and the capture in one tmux call's output.
        self._marker = f"gaia-preview-{uuid.uuid4().hex}"

    def _resolve(self) -> _Target:
        record = self.manager.store.find(self.session)
        live = next((s for s in snapshot(self.manager.driver) if s.gaia_id == record.id), None)
        if live is None:
            raise ConflictError(f"session {record.name!r} is not running")
        window, pane = pick(live, self.window, self.pane)
        return _Target(record, live.tmux_id, window, pane)

    def look(self) -> dict[str, Any]:
        """The pane's text (``state`` ``live``), or why there is none (``gone``)."""
        try:
            if self._target is None:
                self._target = self._resolve()
            target = self._target
            tmux_id = target.pane.tmux_id
            fields = FIELD_SEPARATOR.join(
                [f"#{{{PANE_OPTION}}}", "#{pane_current_command}", "#{pane_dead}"]
            )
            session_id = target.session_tmux_id
            output = self.manager.driver.execute(
                ["list-panes", "-s", "-t", session_id, "-F", PANES_FORMAT],
                ["display-message", "-p", self._marker],
                ["display-message", "-p", "-t", tmux_id, fields],
                ["capture-pane", "-p", "-J", "-t", tmux_id, "-S", f"-{PREVIEW_HISTORY}"],
            )
            split = output.index(self._marker) if self._marker in output else len(output)
            listed, lines = parse(output[:split]), output[split + 1 :]
            _snapshots.put(self.manager, session_id, listed[0] if listed else None)
        except (NotFoundError, ConflictError, NoServerError) as exc:
            self._target = None
            return {"state": "gone", "message": str(exc), "lines": [], "text": ""}
        except GaiaError as exc:
            self._target = None
            return {"state": "error", "message": str(exc), "lines": [], "text": ""}
        head = lines[0].split(FIELD_SEPARATOR) if lines else []
        if len(head) != 3 or head[0] != target.pane.gaia_id:
            self._target = None  # not the pane we found any more: find it again next time
            return {"state": "gone", "message": "the pane was replaced", "lines": [], "text": ""}
        text_lines = lines[1:]
        return {
            "state": "live",
            "message": None,
            "session": target.record.id,
            "session_name": target.record.name,
            "window": target.window.gaia_id,
            "window_name": target.window.name,
            "pane": target.pane.gaia_id,
            "pane_index": target.pane.index,
            "tmux_id": tmux_id,
            "current_command": head[1],
            "dead": head[2] == "1",
            "lines": text_lines,
            "text": "\n".join(text_lines),
        }


def parse_pane_argument(argument: str) -> tuple[str, str, str]:
    """``SESSION/WINDOW/PANE``, each URL-encoded; WINDOW and PANE may be empty."""
    parts = argument.split("/")
    if len(parts) != 3 or not parts[0]:
        raise WatchError(
            "pane:SESSION/WINDOW/PANE names a pane (each part URL-encoded; an empty "
            f"window or pane is the active one), got {argument!r}"
        )
    session, window, pane = (unquote(p) for p in parts)
    return session, window, pane


async def _watch_pane(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    session, window, pane = parse_pane_argument(argument)
    preview = PanePreview(runtime.sessions, session, window, pane)
    async for value in changes(preview.look, TMUX_INTERVAL):
        yield "pane", {"watch": f"pane:{argument}", **value}


WATCHES: dict[str, Watch] = {
    "sessions": _watch_sessions,
    "session": _watch_session,
    "pane": _watch_pane,
}
