"""Find the window and pane a request names, in live tmux state.

A window is named by gaia id (or a 4+ character prefix), tmux id (``@3``), index or name;
a pane by gaia id, tmux id (``%5``) or index. Nothing named means the active one.
"""

from __future__ import annotations

from gaia.errors import BadRequestError, NotFoundError
from gaia.sessions.live import LivePane, LiveSession, LiveWindow

__all__ = ["matches", "pick", "pick_pane", "pick_window"]


def pick(live: LiveSession, window: str | None, pane: str | None) -> tuple[LiveWindow, LivePane]:
    if pane is not None and window is None and not pane.isdigit():
        # A pane id is unique in the session: no window needed.
        for w, p in live.panes():
            if matches(pane, p.gaia_id, p.tmux_id):
                return w, p
    found = pick_window(live, window)
    return found, pick_pane(live, found, pane)


def matches(ref: str, gaia_id: str | None, tmux_id: str) -> bool:
    if ref == tmux_id or (gaia_id and ref == gaia_id):
        return True
    return bool(gaia_id and len(ref) >= 4 and gaia_id.startswith(ref))


def pick_window(live: LiveSession, ref: str | None) -> LiveWindow:
    if ref is None:
        return live.active_window
    for window in live.windows:
        if matches(ref, window.gaia_id, window.tmux_id):
            return window
    if ref.isdigit():
        for window in live.windows:
            if window.index == int(ref):
                return window
    named = [w for w in live.windows if w.name == ref]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise BadRequestError(
            f"session {live.name!r} has {len(named)} windows named {ref!r}; use an index or id"
        )
    raise NotFoundError(
        f"window {ref!r} not found in session {live.name!r}",
        details={"kind": "window", "id": ref},
    )


def pick_pane(live: LiveSession, window: LiveWindow, ref: str | None) -> LivePane:
    if ref is None:
        return window.active_pane
    for pane in window.panes:
        if matches(ref, pane.gaia_id, pane.tmux_id):
            return pane
    if ref.isdigit():
        for pane in window.panes:
            if pane.index == int(ref):
                return pane
    raise NotFoundError(
        f"pane {ref!r} not found in window {window.name!r} of session {live.name!r}",
        details={"kind": "pane", "id": ref},
    )
