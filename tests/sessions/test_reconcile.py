"""Reconciliation with tmux: dead sessions, restore, adoption and idle cleanup."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaia.config import Settings, load_settings
from gaia.errors import ConflictError
from gaia.sessions.live import PANE_OPTION, SESSION_OPTION, WINDOW_OPTION
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.sessions.store import SessionStore
from gaia.sessions.views import CleanupView
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade
from tests.helpers import wait_until
from tests.sessions.support import Tmux, pane_rows, wait_for_line, wait_for_shell

STRUCTURE = (
    SESSION_OPTION,
    "window_name",
    WINDOW_OPTION,
    PANE_OPTION,
    "pane_current_path",
    "window_width",
    "window_height",
)


def restorable_spec(root: Path, logs: Path) -> SessionSpec:
    return SessionSpec.model_validate(
        {
            "session_name": "keep",
            "start_directory": str(root),
            "width": 100,
            "height": 30,
            "windows": [
                {"window_name": "main", "panes": ["echo restored-marker", None]},
                {
                    "window_name": "logs",
                    "start_directory": str(logs),
                    "layout": "even-vertical",
                    "panes": [None, "echo second-marker", None],
                },
            ],
        }
    )


def test_reconcile_after_server_death_marks_sessions_dead(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """When the tmux server is killed, reconcile() reports the session died and get() says dead."""
    logs = tmp_path / "logs"
    logs.mkdir()
    view = manager.create(restorable_spec(tmp_path, logs))
    tmux("kill-server")

    report = manager.reconcile()

    assert report.died == ["keep"]
    assert report.adopted == []
    assert report.alive == 0
    dead = manager.get("keep")
    assert dead.status == "dead"
    assert dead.id == view.id
    assert dead.dead_at is not None
    assert manager.reconcile().died == []  # reported once
    with pytest.raises(ConflictError, match="not running"):
        manager.send_keys("keep", "echo x")


def test_restore_recreates_the_same_ids_windows_directories_and_commands(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """restore() rebuilds a dead session with its gaia ids, names, panes, paths and commands."""
    logs = tmp_path / "logs"
    logs.mkdir()
    view = manager.create(restorable_spec(tmp_path, logs))
    for window in view.windows:  # let every shell start before taking the picture
        for pane in window.panes:
            assert pane.tmux_id is not None
            wait_for_shell(tmux, pane.tmux_id)
    before = pane_rows(tmux, *STRUCTURE, target="keep")
    tmux("kill-server")
    manager.reconcile()

    restored = manager.restore("keep")

    assert restored.status == "alive"
    assert restored.id == view.id
    after = pane_rows(tmux, *STRUCTURE, "pane_id", target="keep")
    assert [{k: v for k, v in row.items() if k != "pane_id"} for row in after] == before
    assert [r["window_name"] for r in after] == ["main", "main", "logs", "logs", "logs"]
    assert {r[SESSION_OPTION] for r in after} == {view.id}
    assert [r[PANE_OPTION] for r in after] == [p.id for w in view.windows for p in w.panes]
    wait_for_line(tmux, after[0]["pane_id"], "restored-marker")
    wait_for_line(tmux, after[3]["pane_id"], "second-marker")
    layout = tmux("display-message", "-p", "-t", after[2]["pane_id"], "#{window_layout}")
    assert "[" in layout  # even-vertical: panes one above the other
    assert manager.get("keep").status == "alive"


def test_restore_of_a_running_session_is_a_conflict(manager: SessionManager) -> None:
    """Only a dead session can be restored."""
    manager.create(SessionSpec(session_name="alive"))
    with pytest.raises(ConflictError, match="running"):
        manager.restore("alive")


def test_restore_all_brings_back_every_dead_session(manager: SessionManager, tmux: Tmux) -> None:
    """restore_all() recreates all sessions lost with the server."""
    ids = {manager.create(SessionSpec(session_name=name)).id for name in ("a", "b")}
    tmux("kill-server")
    restored = manager.restore_all()
    assert {v.id for v in restored} == ids
    rows = pane_rows(tmux, "session_name", SESSION_OPTION)
    assert sorted((r["session_name"], r[SESSION_OPTION]) for r in rows) == sorted(
        (v.name, v.id) for v in restored
    )


def test_reconcile_adopts_a_session_made_with_plain_tmux(
    manager: SessionManager, db: Database, tmux: Tmux, tmux_socket: str
) -> None:
    """A session created with plain tmux on gaia's socket is adopted and tagged with ids."""
    manager.create(SessionSpec(session_name="mine"))
    tmux("new-session", "-d", "-s", "manual")

    report = manager.reconcile()

    assert report.adopted == ["manual"]
    assert report.alive == 2
    view = manager.get("manual")
    assert view.origin == "adopted"
    assert view.status == "alive"
    [row] = pane_rows(tmux, SESSION_OPTION, WINDOW_OPTION, PANE_OPTION, target="manual")
    assert row[SESSION_OPTION] == view.id
    assert row[WINDOW_OPTION] == view.windows[0].id
    assert row[PANE_OPTION] == view.windows[0].panes[0].id
    record = SessionStore(db, tmux_socket).get(view.id)
    assert record is not None
    assert record.origin == "adopted"
    assert manager.reconcile().adopted == []  # adopted once


def test_get_by_name_adopts_a_plain_tmux_session(manager: SessionManager, tmux: Tmux) -> None:
    """Naming a plain tmux session in get() adopts it without an explicit reconcile."""
    tmux("new-session", "-d", "-s", "byname")
    view = manager.get("byname")
    assert view.origin == "adopted"
    assert tmux("show-options", "-t", "byname", "-v", SESSION_OPTION).strip() == view.id


def test_reconcile_adopts_a_window_added_with_plain_tmux(
    manager: SessionManager, db: Database, tmux: Tmux, tmux_socket: str
) -> None:
    """A window added to a gaia session with plain tmux gets gaia ids on reconcile."""
    created = manager.create(SessionSpec(session_name="grow"))
    tmux("new-window", "-t", "grow:", "-n", "extra")
    [untagged] = [
        r
        for r in pane_rows(tmux, "window_name", WINDOW_OPTION, target="grow")
        if r[WINDOW_OPTION] == ""
    ]
    assert untagged["window_name"] == "extra"

    report = manager.reconcile()

    assert report.adopted == []
    rows = pane_rows(tmux, "window_name", WINDOW_OPTION, PANE_OPTION, target="grow")
    assert all(r[WINDOW_OPTION] and r[PANE_OPTION] for r in rows)
    extra = next(r for r in rows if r["window_name"] == "extra")
    assert extra[WINDOW_OPTION] != created.windows[0].id
    record = SessionStore(db, tmux_socket).get(created.id)
    assert record is not None
    assert [(w.name, w.id) for w in record.windows][1] == ("extra", extra[WINDOW_OPTION])
    assert [w.id for w in manager.get("grow").windows] == [
        created.windows[0].id,
        extra[WINDOW_OPTION],
    ]


# -- idle cleanup -----------------------------------------------------------------------

IDLE = 1.5  # seconds; tmux reports activity in whole seconds


@pytest.fixture
def idle_manager(gaia_home: Path, tmux_socket: str) -> Iterator[SessionManager]:
    settings: Settings = load_settings(
        home=gaia_home, environ={}, tmux_socket=tmux_socket, session_idle_timeout=IDLE
    )
    db = Database(settings.resolved_database_url)
    upgrade(db)
    yield SessionManager(db, settings)
    db.dispose()


def names(views: list[CleanupView]) -> list[str]:
    return sorted(v.name for v in views)


def session_names(tmux_socket: str) -> list[str]:
    """The sessions on the test's tmux server; none when it has exited with its last one."""
    done = subprocess.run(
        ["tmux", "-L", tmux_socket, "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sorted(done.stdout.split())


def test_cleanup_destroys_an_idle_session_and_dry_run_keeps_it(
    idle_manager: SessionManager, tmux_socket: str
) -> None:
    """An untouched session is listed by a dry run, then destroyed by cleanup()."""
    idle_manager.create(SessionSpec(session_name="idle"))
    assert idle_manager.cleanup() == []  # not idle yet
    wait_until(
        lambda: idle_manager.cleanup(dry_run=True), timeout=IDLE + 5, what="the session to idle"
    )

    listed = idle_manager.cleanup(dry_run=True)
    assert [(v.name, v.destroyed) for v in listed] == [("idle", False)]
    assert listed[0].idle_seconds >= IDLE  # rounded to 0.1 s
    assert session_names(tmux_socket) == ["idle"]

    done = idle_manager.cleanup()
    assert [(v.name, v.destroyed) for v in done] == [("idle", True)]
    assert session_names(tmux_socket) == []
    assert idle_manager.store.all() == []


def test_cleanup_keeps_a_session_whose_pane_keeps_printing(
    idle_manager: SessionManager, tmux_socket: str
) -> None:
    """Output in a window counts as activity: a printing session outlives the idle timeout."""
    idle_manager.create(
        SessionSpec.model_validate({"session_name": "busy", "windows": [{"panes": [None, None]}]})
    )
    idle_manager.create(SessionSpec(session_name="quiet"))
    busy_pane = idle_manager.get("busy").windows[0].panes[1].id
    idle_manager.send_keys("busy", "while true; do echo tick; sleep 0.2; done", pane=busy_pane)
    wait_until(
        lambda: names(idle_manager.cleanup(dry_run=True)) == ["quiet"],
        timeout=IDLE + 5,
        what="the quiet session to idle",
    )
    time.sleep(0.5)
    assert names(idle_manager.cleanup()) == ["quiet"]
    assert session_names(tmux_socket) == ["busy"]


def test_gaia_use_resets_idleness(idle_manager: SessionManager, tmux_socket: str) -> None:
    """capture() and send_keys() count as use: an idle session is no longer idle after them."""
    idle_manager.create(SessionSpec(session_name="used"))
    wait_until(
        lambda: idle_manager.cleanup(dry_run=True), timeout=IDLE + 5, what="the session to idle"
    )
    idle_manager.capture("used")  # prints nothing: only gaia's record of use changes
    assert idle_manager.cleanup() == []
    wait_until(lambda: idle_manager.cleanup(dry_run=True), timeout=IDLE + 5, what="idle again")
    idle_manager.send_keys("used", "C-u", enter=False)
    assert idle_manager.cleanup() == []
    assert session_names(tmux_socket) == ["used"]
