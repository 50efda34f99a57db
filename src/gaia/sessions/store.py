"""Session records in ``gaia_sessions``, ``gaia_session_windows``, ``gaia_session_panes``.

A record outlives its tmux session: when tmux loses it the record is marked dead and keeps
what is needed to recreate it (window names and layouts, pane directories and commands).
Every change to one session's rows happens in one transaction.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from gaia.errors import NotFoundError
from gaia.sessions.live import LiveSession
from gaia.sessions.records import (
    ALIVE,
    DEAD,
    PaneRecord,
    SessionRecord,
    WindowRecord,
    from_epoch,
    merge_live,
)
from gaia.storage.db import Database
from gaia.storage.models import session_panes_table as P
from gaia.storage.models import session_windows_table as W
from gaia.storage.models import sessions_table as S
from gaia.storage.types import utcnow

__all__ = ["SessionStore"]


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
            return _get(conn, session_id)

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

    def replace_layout(
        self,
        session_id: str,
        live: LiveSession,
        commands: dict[str, list[str]] | None = None,
    ) -> SessionRecord | None:
        """Make the window and pane rows match tmux, keeping what tmux cannot tell us.

        ``commands`` records what was typed into panes created just now. Returns the
        record as written, or None if the session was destroyed meanwhile.
        """
        now = utcnow()
        with self.db.write() as conn:
            record = _get(conn, session_id)
            if record is None:
                return None
            record.windows = merge_live(record, live, commands)
            conn.execute(delete(W).where(W.c.session_id == session_id))
            _insert_layout(conn, record)
            values: dict[str, Any] = {
                "status": ALIVE,
                "dead_at": None,
                "tmux_id": live.tmux_id,
                "name": live.name,
                "last_activity_at": from_epoch(live.activity),
                "updated_at": now,
            }
            conn.execute(update(S).where(S.c.id == session_id).values(**values))
            for key, value in values.items():
                if key != "updated_at":
                    setattr(record, key, value)
            return record

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

    def delete(self, session_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(S).where(S.c.id == session_id))


_SESSION_COLUMNS = (
    "id",
    "name",
    "status",
    "origin",
    "tmux_id",
    "socket",
    "start_directory",
    "environment",
    "width",
    "height",
    "layout_file",
    "created_at",
    "last_used_at",
    "last_activity_at",
    "dead_at",
)


def _insert(conn: Connection, record: SessionRecord) -> None:
    row = {name: getattr(record, name) for name in _SESSION_COLUMNS}
    conn.execute(insert(S).values(**row, updated_at=utcnow()))
    _insert_layout(conn, record)


def _insert_layout(conn: Connection, record: SessionRecord) -> None:
    windows: list[dict[str, Any]] = []
    panes: list[dict[str, Any]] = []
    for window in record.windows:
        row = asdict(window)
        del row["panes"], row["options"], row["build"]  # applied when built, not kept
        windows.append({**row, "session_id": record.id})
        for pane in window.panes:
            pane_row = asdict(pane)
            del pane_row["build"]
            panes.append({**pane_row, "window_id": window.id, "session_id": record.id})
    if windows:
        conn.execute(insert(W), windows)
    if panes:
        conn.execute(insert(P), panes)


def _get(conn: Connection, session_id: str) -> SessionRecord | None:
    found = _load(conn, list(conn.execute(select(S).where(S.c.id == session_id)).mappings()))
    return found[0] if found else None


def _load(conn: Connection, rows: list[Any]) -> list[SessionRecord]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    windows: dict[str, list[WindowRecord]] = {}
    by_window: dict[str, WindowRecord] = {}
    query = select(W).where(W.c.session_id.in_(ids)).order_by(W.c.position)
    for w in conn.execute(query).mappings():
        window = WindowRecord(
            **{k: w[k] for k in ("id", "name", "tmux_id", "position", "layout", "active")},
            start_directory=w["start_directory"],
            environment=dict(w["environment"] or {}),
            created_at=w["created_at"],
        )
        windows.setdefault(w["session_id"], []).append(window)
        by_window[window.id] = window
    query = select(P).where(P.c.session_id.in_(ids)).order_by(P.c.position)
    for p in conn.execute(query).mappings():
        owner = by_window.get(p["window_id"])
        if owner is not None:
            owner.panes.append(
                PaneRecord(
                    **{k: p[k] for k in ("id", "tmux_id", "position", "start_directory")},
                    commands=list(p["commands"] or []),
                    environment=dict(p["environment"] or {}),
                    active=p["active"],
                    created_at=p["created_at"],
                )
            )
    return [
        SessionRecord(
            **{k: r[k] for k in _SESSION_COLUMNS if k != "environment"},
            environment=dict(r["environment"] or {}),
            windows=windows.get(r["id"], []),
        )
        for r in rows
    ]
