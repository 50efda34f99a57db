"""Background typing of new panes' commands (the daemon's way), against real tmux."""

from __future__ import annotations

from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.sessions.typist import Typist
from tests.helpers import wait_until
from tests.sessions.support import Tmux, pane_rows, wait_for_line


def _spec(name: str, panes: int) -> SessionSpec:
    return SessionSpec.model_validate(
        {
            "session_name": name,
            # A window each: narrow side-by-side panes would wrap the typed lines.
            "windows": [{"panes": [f"echo {name}-pane-{i}"]} for i in range(panes)],
        }
    )


def test_thread_typing_returns_at_once_and_types_every_pane(
    manager: SessionManager, tmux: Tmux
) -> None:
    """Sessions built one after another each get their commands, typed by one thread."""
    for name in ("burst-a", "burst-b", "burst-c"):
        manager.create(_spec(name, 3), typing="thread")
    for name in ("burst-a", "burst-b", "burst-c"):
        rows = pane_rows(tmux, "pane_id", "window_index", target=f"={name}")
        assert len(rows) == 3
        for row in rows:
            wait_for_line(tmux, row["pane_id"], f"{name}-pane-{row['window_index']}", timeout=15)
    typist = manager._launcher._typist
    assert typist is not None
    wait_until(typist.idle, timeout=5, what="the typist to finish")
    wait_until(lambda: typist._thread is None, timeout=5, what="the typist thread to end")


def test_a_pane_gone_before_its_shell_is_ready_does_not_stop_the_others(
    manager: SessionManager, tmux: Tmux
) -> None:
    """Typing into a closed pane fails alone; the other panes still get their commands."""
    manager.create(_spec("keep", 1))
    manager.create(_spec("gone", 1))
    kept = pane_rows(tmux, "pane_id", target="=keep")[0]["pane_id"]
    gone = pane_rows(tmux, "pane_id", target="=gone")[0]["pane_id"]
    tmux("kill-session", "-t", "=gone")
    typist = Typist(manager.driver, timeout=0.2)  # the closed pane never draws a prompt
    typist.add({gone: ["echo never"], kept: ["echo still-typed"]})
    wait_for_line(tmux, kept, "still-typed", timeout=15)
    wait_until(typist.idle, timeout=5, what="the typist to give up on the closed pane")
