"""The sessions views' live watches (gaia.live.sessions) on a real tmux server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gaia.live import WatchError
from gaia.live.sessions import PanePreview, parse_pane_argument, session_states
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.storage.models import sessions_table
from tests.helpers import wait_until
from tests.sessions.support import Tmux, wait_for_shell


def updated_at(manager: SessionManager) -> list[object]:
    with manager.db.read() as conn:
        return [row.updated_at for row in conn.execute(select(sessions_table.c.updated_at))]


def test_states_write_nothing_while_tmux_agrees_and_reconcile_when_it_does_not(
    manager: SessionManager, tmux: Tmux
) -> None:
    manager.create(SessionSpec(session_name="steady"))
    first = session_states(manager)
    assert first["problem"] is None
    [steady] = first["sessions"]
    assert steady["name"] == "steady" and steady["status"] == "alive"
    assert "idle_seconds" not in steady, "a value that moves by itself would resend every poll"
    before = updated_at(manager)
    assert session_states(manager)["sessions"][0]["windows"] == steady["windows"]
    assert updated_at(manager) == before, "an idle poll writes nothing"

    # A session tmux lost is dead at the next look; one made with plain tmux is adopted.
    tmux("kill-session", "-t", "=steady")
    tmux("new-session", "-d", "-s", "plain")
    states = {s["name"]: s["status"] for s in session_states(manager)["sessions"]}
    assert states == {"steady": "dead", "plain": "alive"}


def test_the_pane_preview_shows_the_text_and_says_when_the_pane_is_gone(
    manager: SessionManager, tmux: Tmux
) -> None:
    view = manager.create(SessionSpec(session_name="preview"))
    window, pane = view.windows[0], view.windows[0].panes[0]
    assert pane.tmux_id is not None
    wait_for_shell(tmux, pane.tmux_id)
    preview = PanePreview(manager, "preview", window.id, pane.id)
    manager.send_keys("preview", "echo previewed-$((6*7))")
    seen = wait_until(
        lambda: (
            (look := preview.look())["state"] == "live" and "previewed-42" in look["text"] and look
        ),
        timeout=15,
        what="the echo's output in the preview",
    )
    assert seen["pane"] == pane.id and seen["window"] == window.id
    assert seen["lines"][-1].startswith("$")

    tmux("kill-session", "-t", "=preview")
    gone = preview.look()
    assert gone["state"] == "gone" and gone["text"] == ""
    assert "not running" in gone["message"] or "not found" in gone["message"]


def test_a_pane_watch_argument_is_url_encoded_parts() -> None:
    assert parse_pane_argument("a%2Fb/win%20one/%255") == ("a/b", "win one", "%5")
    assert parse_pane_argument("s//") == ("s", "", "")
    for bad in ("", "s", "s/w", "/w/p", "s/w/p/x"):
        with pytest.raises(WatchError):
            parse_pane_argument(bad)
