"""Session records: ``gaia_sessions``, ``gaia_session_windows``, ``gaia_session_panes``.

A record outlives its tmux session: when tmux loses it the record is marked dead and keeps
what is needed to recreate it (window names and layouts, pane directories and commands).
Every change to one session's rows happens in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from gaia.errors import NotFoundError
from gaia.sessions.live import LiveSession
from gaia.storage.db import Database
from gaia.storage.models import session_panes_table as P
from gaia.storage.models import session_windows_table as W
from gaia.storage.models import sessions_table as S
from gaia.storage.types import utcnow

__all__ = ["PaneRecord", "SessionRecord", "SessionStore", "WindowRecord"]

ALIVE = "alive"
DEAD = "dead"


@dataclass
class PaneRecord:
    id: str
    tmux_id: str | None = None
    position: int = 0
    start_directory: str | None = None
    commands: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    active: bool = False


@dataclass
class WindowRecord:
    id: str
    name: str
    tmux_id: str | None = None
    position: int = 0
    layout: str | None = None
    start_directory: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    active: bool = False
    panes: list[PaneRecord] = field(default_factory=list)
    # tmux window options from a layout; applied when built, not recorded
    options: dict[str, str | int | bool] = field(default_factory=dict)


@dataclass
class SessionRecord:
    id: str
    name: str
    socket: str
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


class SessionStore:
    def __init__(self, db: Database, socket: str) -> None:
        self.db = db
        self.socket = socket

    # -- reading -------------------------------------------------------------------

    def all(self, *, status: str | None = None) -> list[SessionRecord]:
        with self.db.read() as conn:
            query = select(S).where(S.c.socket == self.socket).order_by(S.c.created_at)
            if status is not None:
                query = query.where(S.c.status == status)
            return _load(conn, list(conn.execute(query).mappings()))

    def get(self, session_id: str) -> SessionRecord | None:
        with self.db.read() as conn:
            rows = list(conn.execute(select(S).where(S.c.id == session_id)).mappings())
            found = _load(conn, rows)
        return found[0] if found else None

    def find(self, ref: str) -> SessionRecord:
        """By id, unique id prefix (4+ characters) or name (the live one first, else the newest)."""
        records = self.all()
        exact = [r for r in records if r.id == ref]
        if exact:
            return exact[0]
        named = sorted(
            (r for r in records if r.name == ref),
            key=lambda r: (r.alive, r.created_at),
            reverse=True,
        )
        if named:
            return named[0]
        if len(ref) >= 4:
            prefixed = [r for r in records if r.id.startswith(ref)]
            if len(prefixed) == 1:
                return prefixed[0]
        raise NotFoundError.of("session", ref)

    # -- writing -------------------------------------------------------------------

    def save(self, record: SessionRecord, *, replace_dead_named: bool = False) -> None:
        """Write the whole record (session, windows, panes), replacing any older copy."""
        with self.db.write() as conn:
            if replace_dead_named:
                conn.execute(
                    delete(S).where(
                        S.c.name == record.name,
                        S.c.status == DEAD,
                        S.c.socket == self.socket,
                        S.c.id != record.id,
                    )
                )
            conn.execute(delete(S).where(S.c.id == record.id))
            _insert(conn, record)

    def adopt(self, record: SessionRecord) -> bool:
        """Insert a record for a session found in tmux, unless another process just did."""
        with self.db.write() as conn:
            if conn.execute(select(S.c.id).where(S.c.id == record.id)).first():
                return False
            _insert(conn, record)
            return True

    def replace_layout(self, session_id: str, live: LiveSession) -> None:
        """Make the window and pane rows match tmux, keeping what tmux cannot tell us."""
        now = utcnow()
        with self.db.write() as conn:
            exists = conn.execute(select(S.c.id).where(S.c.id == session_id)).first()
            if not exists:
                return  # destroyed meanwhile
            old_windows = {
                r["id"]: r
                for r in conn.execute(select(W).where(W.c.session_id == session_id)).mappings()
            }
            old_panes = {
                r["id"]: r
                for r in conn.execute(select(P).where(P.c.session_id == session_id)).mappings()
            }
            conn.execute(delete(W).where(W.c.session_id == session_id))
            windows: list[dict[str, Any]] = []
            panes: list[dict[str, Any]] = []
            for window in live.windows:
                if window.gaia_id is None:
                    continue
                old: Any = old_windows.get(window.gaia_id, {})
                windows.append(
                    {
                        "id": window.gaia_id,
                        "session_id": session_id,
                        "tmux_id": window.tmux_id,
                        "position": window.index,
                        "name": window.name,
                        "layout": window.layout,
                        "start_directory": old.get("start_directory"),
                        "environment": old.get("environment") or {},
                        "active": window.active,
                        "created_at": old.get("created_at") or now,
                    }
                )
                for pane in window.panes:
                    if pane.gaia_id is None:
                        continue
                    old_pane: Any = old_panes.get(pane.gaia_id, {})
                    panes.append(
                        {
                            "id": pane.gaia_id,
                            "window_id": window.gaia_id,
                            "session_id": session_id,
                            "tmux_id": pane.tmux_id,
                            "position": pane.index,
                            "start_directory": pane.current_path or old_pane.get("start_directory"),
                            "commands": old_pane.get("commands") or [],
                            "environment": old_pane.get("environment") or {},
                            "active": pane.active,
                            "created_at": old_pane.get("created_at") or now,
                        }
                    )
            if windows:
                conn.execute(insert(W), windows)
            if panes:
                conn.execute(insert(P), panes)
            conn.execute(
                update(S)
                .where(S.c.id == session_id)
                .values(
                    status=ALIVE,
                    dead_at=None,
                    tmux_id=live.tmux_id,
                    name=live.name,
                    last_activity_at=_from_epoch(live.activity),
                    updated_at=now,
                )
            )

    def mark_dead(self, session_ids: list[str]) -> None:
        if not session_ids:
            return
        now = utcnow()
        with self.db.write() as conn:
            conn.execute(
                update(S)
                .where(S.c.id.in_(session_ids), S.c.status == ALIVE)
                .values(status=DEAD, dead_at=now, tmux_id=None, updated_at=now)
            )
            conn.execute(update(W).where(W.c.session_id.in_(session_ids)).values(tmux_id=None))
            conn.execute(update(P).where(P.c.session_id.in_(session_ids)).values(tmux_id=None))

    def touch(self, session_id: str) -> None:
        """gaia used the session: it counts as activity for idle cleanup."""
        with self.db.write() as conn:
            conn.execute(update(S).where(S.c.id == session_id).values(last_used_at=utcnow()))

    def set_commands(self, pane_id: str, commands: list[str]) -> None:
        with self.db.write() as conn:
            conn.execute(update(P).where(P.c.id == pane_id).values(commands=commands))

    def delete(self, session_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(S).where(S.c.id == session_id))


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=utcnow().tzinfo)


def _insert(conn: Connection, record: SessionRecord) -> None:
    conn.execute(
        insert(S).values(
            id=record.id,
            name=record.name,
            status=record.status,
            origin=record.origin,
            tmux_id=record.tmux_id,
            socket=record.socket,
            start_directory=record.start_directory,
            environment=record.environment,
            width=record.width,
            height=record.height,
            layout_file=record.layout_file,
            last_used_at=record.last_used_at,
            last_activity_at=record.last_activity_at,
            dead_at=record.dead_at,
            created_at=record.created_at,
            updated_at=utcnow(),
        )
    )
    windows = [
        {
            "id": w.id,
            "session_id": record.id,
            "tmux_id": w.tmux_id,
            "position": w.position,
            "name": w.name,
            "layout": w.layout,
            "start_directory": w.start_directory,
            "environment": w.environment,
            "active": w.active,
            "created_at": record.created_at,
        }
        for w in record.windows
    ]
    panes = [
        {
            "id": p.id,
            "window_id": w.id,
            "session_id": record.id,
            "tmux_id": p.tmux_id,
            "position": p.position,
            "start_directory": p.start_directory,
            "commands": p.commands,
            "environment": p.environment,
            "active": p.active,
            "created_at": record.created_at,
        }
        for w in record.windows
        for p in w.panes
    ]
    if windows:
        conn.execute(insert(W), windows)
    if panes:
        conn.execute(insert(P), panes)


def _load(conn: Connection, rows: list[Any]) -> list[SessionRecord]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    windows: dict[str, list[WindowRecord]] = {}
    by_window: dict[str, WindowRecord] = {}
    for w in conn.execute(
        select(W).where(W.c.session_id.in_(ids)).order_by(W.c.position)
    ).mappings():
        record = WindowRecord(
            id=w["id"],
            name=w["name"],
            tmux_id=w["tmux_id"],
            position=w["position"],
            layout=w["layout"],
            start_directory=w["start_directory"],
            environment=dict(w["environment"] or {}),
            active=w["active"],
        )
        windows.setdefault(w["session_id"], []).append(record)
        by_window[record.id] = record
    for p in conn.execute(
        select(P).where(P.c.session_id.in_(ids)).order_by(P.c.position)
    ).mappings():
        window = by_window.get(p["window_id"])
        if window is not None:
            window.panes.append(
                PaneRecord(
                    id=p["id"],
                    tmux_id=p["tmux_id"],
                    position=p["position"],
                    start_directory=p["start_directory"],
                    commands=list(p["commands"] or []),
                    environment=dict(p["environment"] or {}),
                    active=p["active"],
                )
            )
    return [
        SessionRecord(
            id=r["id"],
            name=r["name"],
            socket=r["socket"],
            status=r["status"],
            origin=r["origin"],
            tmux_id=r["tmux_id"],
            start_directory=r["start_directory"],
            environment=dict(r["environment"] or {}),
            width=r["width"],
            height=r["height"],
            layout_file=r["layout_file"],
            created_at=r["created_at"],
            last_used_at=r["last_used_at"],
            last_activity_at=r["last_activity_at"],
            dead_at=r["dead_at"],
            windows=windows.get(r["id"], []),
        )
        for r in rows
    ]
