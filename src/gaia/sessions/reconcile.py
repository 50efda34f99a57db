"""Match gaia's session records with what its tmux server has.

A recorded session tmux no longer has is marked dead (``restore`` can recreate it); a
session, window or pane tmux has without a gaia id is given one and adopted; the rest
have their window and pane rows refreshed from tmux. Records are read before the
snapshot is taken, so a session another process creates meanwhile is never marked dead.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from gaia.sessions.live import PANE_OPTION, SESSION_OPTION, WINDOW_OPTION, LiveSession, snapshot
from gaia.sessions.records import SessionRecord, record_from_live
from gaia.sessions.store import SessionStore
from gaia.sessions.tmux import Command, TmuxDriver, execute_batched
from gaia.sessions.views import ReconcileView

__all__ = ["Reconciled", "idle_sessions", "reconcile"]

log = logging.getLogger("gaia.sessions")


@dataclass
class Reconciled:
    report: ReconcileView
    lives: list[LiveSession]  # every live object now carries its gaia id


def reconcile(driver: TmuxDriver, store: SessionStore) -> Reconciled:
    recorded = store.all()
    known = {r.id for r in recorded}
    lives = snapshot(driver)
    execute_batched(driver, [[command] for command in _tag_unknown(lives)])
    adopted = [
        live.name
        for live in lives
        if live.gaia_id not in known and store.adopt(record_from_live(live, store.socket))
    ]
    for name in adopted:
        log.info("adopted tmux session %s", name)
    for live in lives:
        if live.gaia_id in known:
            store.replace_layout(live.gaia_id, live)
    alive_ids = {live.gaia_id for live in lives}
    lost = [r for r in recorded if r.alive and r.id not in alive_ids]
    store.mark_dead([r.id for r in lost])
    for record in lost:
        log.info("session %s is gone from tmux: marked dead", record.name)
    report = ReconcileView(adopted=adopted, died=[r.name for r in lost], alive=len(lives))
    return Reconciled(report, lives)


def _tag_unknown(lives: list[LiveSession]) -> list[Command]:
    """Give every object without a gaia id one; return the tmux commands that store them."""
    tagging: list[Command] = []
    for live in lives:
        if live.gaia_id is None:
            live.gaia_id = str(uuid.uuid4())
            tagging.append(["set-option", "-t", live.tmux_id, SESSION_OPTION, live.gaia_id])
        for window in live.windows:
            if window.gaia_id is None:
                window.gaia_id = str(uuid.uuid4())
                tagging.append(
                    ["set-option", "-w", "-t", window.tmux_id, WINDOW_OPTION, window.gaia_id]
                )
            for pane in window.panes:
                if pane.gaia_id is None:
                    pane.gaia_id = str(uuid.uuid4())
                    tagging.append(
                        ["set-option", "-p", "-t", pane.tmux_id, PANE_OPTION, pane.gaia_id]
                    )
    return tagging


def idle_sessions(
    records: list[SessionRecord], lives: list[LiveSession], now: float, limit: float
) -> list[tuple[SessionRecord, LiveSession, float]]:
    """Sessions idle longer than ``limit`` seconds; attached ones never are.

    Activity is the latest output in any window or gaia's own latest use.
    """
    by_id = {r.id: r for r in records}
    found: list[tuple[SessionRecord, LiveSession, float]] = []
    for live in lives:
        record = by_id.get(live.gaia_id or "")
        if record is None or live.attached:
            continue
        idle = now - max(live.activity, record.last_used_at.timestamp())
        if idle > limit:
            found.append((record, live, idle))
    return found
