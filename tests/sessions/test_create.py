"""Creating, listing and destroying sessions, and adding windows and panes, on real tmux."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from gaia.errors import ConflictError, NotFoundError
from gaia.sessions.live import SESSION_OPTION
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.sessions.store import SessionStore
from gaia.storage.db import Database
from tests.helpers import proc_gone, wait_until
from tests.sessions.support import Tmux, pane_rows, wait_for_line

PANE_FIELDS = (
    "session_id",
    SESSION_OPTION,
    "window_id",
    "@gaia_window_id",
    "window_name",
    "window_width",
    "window_height",
    "pane_id",
    "@gaia_pane_id",
    "pane_current_path",
)


def full_spec(root: Path, other: Path) -> SessionSpec:
    return SessionSpec.model_validate(
        {
            "session_name": "full",
            "start_directory": str(root),
            "environment": {"GAIA_T_SESSION": "session-value"},
            "width": 120,
            "height": 40,
            "windows": [
                {
                    "window_name": "editor",
                    "panes": [
                        "echo editor-0-ran",
                        {"shell_command": ["echo editor-1-ran"], "start_directory": str(other)},
                    ],
                },
                {"window_name": "logs", "panes": ["echo logs-0-ran", None, "echo logs-2-ran"]},
            ],
        }
    )


def test_create_builds_every_window_and_pane_with_directory_and_size(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """create() makes the named windows and panes, sized, in their directories, commands run."""
    other = tmp_path / "other"
    other.mkdir()
    view = manager.create(full_spec(tmp_path, other))

    rows = pane_rows(tmux, *PANE_FIELDS, target="full")
    assert [r["window_name"] for r in rows] == ["editor", "editor", "logs", "logs", "logs"]
    assert {(r["window_width"], r["window_height"]) for r in rows} == {("120", "40")}
    paths = [r["pane_current_path"] for r in rows]
    root, elsewhere = str(tmp_path.resolve()), str(other.resolve())
    assert paths == [root, elsewhere, root, root, root]

    for pane, text in [
        (view.windows[0].panes[0], "editor-0-ran"),
        (view.windows[0].panes[1], "editor-1-ran"),
        (view.windows[1].panes[0], "logs-0-ran"),
        (view.windows[1].panes[2], "logs-2-ran"),
    ]:
        assert pane.tmux_id is not None
        wait_for_line(tmux, pane.tmux_id, text)


def test_create_tags_tmux_objects_with_the_returned_ids(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """Every tmux session, window and pane carries the gaia id the returned view gives it."""
    other = tmp_path / "other"
    other.mkdir()
    view = manager.create(full_spec(tmp_path, other))

    rows = {r["pane_id"]: r for r in pane_rows(tmux, *PANE_FIELDS, target="full")}
    expected = {
        pane.tmux_id: (window.tmux_id, window.id, pane.id)
        for window in view.windows
        for pane in window.panes
    }
    assert set(rows) == set(expected)
    for pane_id, (window_tmux, window_gaia, pane_gaia) in expected.items():
        assert pane_id is not None
        row = rows[pane_id]
        assert row["session_id"] == view.tmux_id
        assert row[SESSION_OPTION] == view.id
        assert (row["window_id"], row["@gaia_window_id"]) == (window_tmux, window_gaia)
        assert row["@gaia_pane_id"] == pane_gaia
    assert len({r["@gaia_pane_id"] for r in rows.values()}) == 5
    assert len({r["@gaia_window_id"] for r in rows.values()}) == 2


def test_create_records_the_session_in_the_database(
    manager: SessionManager, db: Database, tmux: Tmux, tmp_path: Path, tmux_socket: str
) -> None:
    """The stored record has the names, directories, commands and tmux's actual ids."""
    other = tmp_path / "other"
    other.mkdir()
    view = manager.create(full_spec(tmp_path, other))

    record = SessionStore(db, tmux_socket).get(view.id)
    assert record is not None
    assert (record.name, record.status, record.origin) == ("full", "alive", "created")
    assert record.start_directory == str(tmp_path)
    assert record.environment == {"GAIA_T_SESSION": "session-value"}
    assert (record.width, record.height) == (120, 40)
    assert [w.name for w in record.windows] == ["editor", "logs"]
    assert [[p.commands for p in w.panes] for w in record.windows] == [
        [["echo editor-0-ran"], ["echo editor-1-ran"]],
        [["echo logs-0-ran"], [], ["echo logs-2-ran"]],
    ]
    assert record.windows[0].panes[1].start_directory == str(other)
    rows = pane_rows(tmux, "session_id", "window_id", "pane_id", target="full")
    assert record.tmux_id == rows[0]["session_id"]
    recorded = [(w.tmux_id, p.tmux_id) for w in record.windows for p in w.panes]
    assert recorded == [(r["window_id"], r["pane_id"]) for r in rows]


def test_environment_of_session_window_and_pane_reach_the_shells(
    manager: SessionManager,
) -> None:
    """Session variables reach every pane; window and pane variables only their own."""
    manager.create(
        SessionSpec.model_validate(
            {
                "session_name": "env",
                "environment": {"GAIA_T_S": "s1"},
                "windows": [
                    {
                        "environment": {"GAIA_T_W": "w1"},
                        "panes": [{"environment": {"GAIA_T_P": "p1"}}, None],
                    },
                    {"panes": [None]},
                ],
            }
        )
    )
    probe = "echo S=$GAIA_T_S W=$GAIA_T_W P=$GAIA_T_P"
    assert manager.run("env", probe, window="0", pane="0").output == "S=s1 W=w1 P=p1"
    assert manager.run("env", probe, window="0", pane="1").output == "S=s1 W=w1 P="
    assert manager.run("env", probe, window="1", pane="0").output == "S=s1 W= P="


def test_session_options_are_set_in_tmux(manager: SessionManager, tmux: Tmux) -> None:
    """Options of a spec are set on the tmux session."""
    manager.create(SessionSpec(session_name="opts", options={"@gaia_test_opt": "yes"}))
    assert tmux("show-options", "-t", "opts", "-v", "@gaia_test_opt").strip() == "yes"


def test_names_and_directories_with_hash_signs_are_kept(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """A '#' in a window name or directory reaches tmux unexpanded."""
    odd = tmp_path / "dir#1"
    odd.mkdir()
    manager.create(
        SessionSpec.model_validate(
            {"session_name": "hash", "start_directory": str(odd), "windows": [{"name": "w#1"}]}
        )
    )
    [row] = pane_rows(tmux, "window_name", "pane_current_path", target="hash")
    assert row == {"window_name": "w#1", "pane_current_path": str(odd.resolve())}


def test_duplicate_session_name_is_a_conflict(
    manager: SessionManager, db: Database, tmux: Tmux, tmux_socket: str
) -> None:
    """Creating a second session with a running session's name fails and changes nothing."""
    first = manager.create(SessionSpec(session_name="dup"))
    with pytest.raises(ConflictError, match="dup"):
        manager.create(SessionSpec.model_validate({"session_name": "dup", "windows": [{}, {}, {}]}))
    assert tmux("list-sessions", "-F", "#{session_name}").split() == ["dup"]
    assert len(pane_rows(tmux, "pane_id", target="dup")) == 1
    assert [r.id for r in SessionStore(db, tmux_socket).all()] == [first.id]


def test_get_finds_by_name_id_and_prefix_with_live_state(
    manager: SessionManager, tmux: Tmux
) -> None:
    """get() resolves a name, an id or an id prefix and reports tmux's current panes."""
    created = manager.create(SessionSpec(session_name="getme"))
    tmux("split-window", "-t", "getme", "-h")
    for ref in ("getme", created.id, created.id[:8]):
        view = manager.get(ref)
        assert view.id == created.id
        assert view.status == "alive"
    panes = manager.get("getme").windows[0].panes
    assert [p.tmux_id for p in panes] == [
        r["pane_id"] for r in pane_rows(tmux, "pane_id", target="getme")
    ]
    with pytest.raises(NotFoundError, match="nosuch"):
        manager.get("nosuch")


def test_list_views_shows_every_session_and_marks_killed_ones_dead(
    manager: SessionManager, tmux: Tmux
) -> None:
    """list_views() lists all sessions; one killed behind gaia's back shows as dead."""
    manager.create(SessionSpec(session_name="one"))
    manager.create(SessionSpec(session_name="two"))
    assert [(v.name, v.status) for v in manager.list_views()] == [
        ("one", "alive"),
        ("two", "alive"),
    ]
    tmux("kill-session", "-t", "two")
    assert [(v.name, v.status) for v in manager.list_views()] == [
        ("one", "alive"),
        ("two", "dead"),
    ]


def test_destroy_kills_the_tmux_session_and_forgets_it(
    manager: SessionManager, db: Database, tmux: Tmux, tmux_socket: str
) -> None:
    """destroy() ends the tmux session and its processes and deletes the record."""
    keep = manager.create(SessionSpec(session_name="keep"))
    doomed = manager.create(SessionSpec(session_name="doomed"))
    [row] = pane_rows(tmux, "pane_pid", target="doomed")
    shell = psutil.Process(int(row["pane_pid"]))

    view = manager.destroy("doomed")

    assert view.status == "destroyed"
    assert view.id == doomed.id
    assert tmux("list-sessions", "-F", "#{session_name}").split() == ["keep"]
    wait_until(lambda: proc_gone(shell), timeout=5, what="the pane's shell to exit")
    store = SessionStore(db, tmux_socket)
    assert store.get(doomed.id) is None
    assert [r.id for r in store.all()] == [keep.id]


def test_destroy_unknown_session_names_it(manager: SessionManager) -> None:
    """Destroying a name gaia does not know raises NotFoundError naming it."""
    manager.create(SessionSpec(session_name="present"))
    with pytest.raises(NotFoundError, match="'ghost-session'"):
        manager.destroy("ghost-session")


def test_create_window_names_it_starts_it_in_directory_and_types_commands(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """create_window() adds a named window in the given directory and runs its commands."""
    manager.create(SessionSpec(session_name="win", start_directory=str(tmp_path)))
    build = tmp_path / "build"
    build.mkdir()

    window = manager.create_window(
        "win",
        name="build",
        start_directory=str(build),
        environment={"GAIA_T_WIN": "from-window"},
        commands=["echo window-cmd-$GAIA_T_WIN"],
    )

    rows = pane_rows(
        tmux, "window_id", "@gaia_window_id", "window_name", "pane_id", "@gaia_pane_id",
        "pane_current_path", target="win",
    )  # fmt: skip
    assert len(rows) == 2
    new = rows[1]
    assert new["window_name"] == "build"
    assert (new["window_id"], new["@gaia_window_id"]) == (window.tmux_id, window.id)
    assert (new["pane_id"], new["@gaia_pane_id"]) == (window.panes[0].tmux_id, window.panes[0].id)
    assert new["pane_current_path"] == str(build.resolve())
    wait_for_line(tmux, new["pane_id"], "window-cmd-from-window")


def test_create_window_records_its_commands(
    manager: SessionManager, db: Database, tmux_socket: str
) -> None:
    """The commands typed into a new window are kept in the view and the record."""
    created = manager.create(SessionSpec(session_name="wincmd"))
    window = manager.create_window("wincmd", name="w", commands=["echo kept"])
    assert window.panes[0].commands == ["echo kept"]
    record = SessionStore(db, tmux_socket).get(created.id)
    assert record is not None
    assert [p.commands for w in record.windows for p in w.panes] == [[], ["echo kept"]]


def test_create_pane_splits_side_by_side_with_size(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """A default split puts the new pane to the right, as wide as asked, and types commands."""
    manager.create(
        SessionSpec(session_name="split", start_directory=str(tmp_path), width=100, height=30)
    )
    pane = manager.create_pane("split", size="30", commands=["echo split-ran"])

    rows = pane_rows(
        tmux, "pane_id", "@gaia_pane_id", "pane_left", "pane_top", "pane_width", "pane_height",
        "pane_current_path", target="split",
    )  # fmt: skip
    assert len(rows) == 2
    old, new = rows
    assert (new["pane_id"], new["@gaia_pane_id"]) == (pane.tmux_id, pane.id)
    assert new["pane_width"] == "30"
    assert new["pane_top"] == old["pane_top"]
    assert int(new["pane_left"]) > int(old["pane_left"])
    assert new["pane_height"] == old["pane_height"] == "30"
    assert new["pane_current_path"] == str(tmp_path.resolve())
    assert pane.commands == ["echo split-ran"]
    wait_for_line(tmux, new["pane_id"], "split-ran")


def test_create_pane_vertical_stacks_below_with_size(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """A vertical split puts the new pane below, as tall as asked, in the given directory."""
    manager.create(SessionSpec(session_name="vsplit", width=100, height=30))
    elsewhere = tmp_path / "below"
    elsewhere.mkdir()
    pane = manager.create_pane("vsplit", vertical=True, size="8", start_directory=str(elsewhere))

    rows = pane_rows(
        tmux, "pane_id", "@gaia_pane_id", "pane_left", "pane_top", "pane_width", "pane_height",
        "pane_current_path", target="vsplit",
    )  # fmt: skip
    old, new = rows
    assert (new["pane_id"], new["@gaia_pane_id"]) == (pane.tmux_id, pane.id)
    assert new["pane_height"] == "8"
    assert new["pane_left"] == old["pane_left"]
    assert int(new["pane_top"]) > int(old["pane_top"])
    assert new["pane_width"] == old["pane_width"] == "100"
    assert new["pane_current_path"] == str(elsewhere.resolve())


def test_create_pane_targets_the_named_window_and_pane(manager: SessionManager, tmux: Tmux) -> None:
    """create_pane(window=, pane=) splits that pane, not the active one."""
    manager.create(
        SessionSpec.model_validate(
            {"session_name": "target", "windows": [{"name": "a"}, {"name": "b"}]}
        )
    )
    manager.create_pane("target", window="a", pane="0")
    counts = [r["window_panes"] for r in pane_rows(tmux, "window_panes", target="target")]
    assert counts == ["2", "2", "1"]
    with pytest.raises(NotFoundError, match="'zz'"):
        manager.create_pane("target", window="zz")
