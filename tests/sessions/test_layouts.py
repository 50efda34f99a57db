"""Layout files (tmuxp-style YAML): loading, creating, freezing and located errors."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from gaia.errors import SessionValidationError
from gaia.sessions.loader import load_layout_file, read_layout_file
from gaia.sessions.manager import SessionManager
from tests.helpers import wait_until
from tests.sessions.support import Tmux, capture, pane_rows, wait_for_line

LAYOUT = """\
session_name: proj
start_directory: ./code
width: 160
height: 40
shell_command_before:
  - export GAIA_T_GREETING=hello
windows:
  - window_name: editor
    layout: main-vertical
    panes:
      - echo first-$GAIA_T_GREETING
      - null
      - [echo two-a, echo two-b]
      - shell_command: echo focused
        focus: true
  - window_name: logs
    start_directory: logs
    shell_command_before: export GAIA_T_WINDOW=logwin
    panes:
      - echo logs-$GAIA_T_WINDOW
"""

GEOMETRY = ("window_name", "pane_left", "pane_top", "pane_width", "pane_height")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def layout_file(tmp_path: Path) -> Path:
    # tmuxp's rule: the session's './code' is relative to the file, a window's 'logs' to
    # the session's directory
    (tmp_path / "project" / "code" / "logs").mkdir(parents=True)
    return write(tmp_path / "project" / "gaia.yaml", LAYOUT)


def layout_shape(layout: str) -> str:
    """A tmux layout string without its checksum and pane ids: only the geometry."""
    return re.sub(r"(\d+x\d+,\d+,\d+),\d+", r"\1", layout.split(",", 1)[1])


def test_load_layout_file_resolves_tmuxp_shorthands(layout_file: Path) -> None:
    """As tmuxp: the session's directory is relative to the file, a window's to the
    session's; shell_command_before is prepended to every pane's commands; panes of every
    shape become commands."""
    spec = load_layout_file(layout_file)
    root = layout_file.parent
    assert spec.session_name == "proj"
    assert spec.start_directory == str((root / "code").resolve())
    editor, logs = spec.windows
    assert editor.layout == "main-vertical"
    before = "export GAIA_T_GREETING=hello"
    assert [[c.cmd for c in p.shell_command] for p in editor.panes] == [
        [before, "echo first-$GAIA_T_GREETING"],
        [before],
        [before, "echo two-a", "echo two-b"],
        [before, "echo focused"],
    ]
    assert [p.focus for p in editor.panes] == [False, False, False, True]
    assert logs.start_directory == str((root / "code" / "logs").resolve())
    assert [c.cmd for c in logs.panes[0].shell_command] == [
        before,
        "export GAIA_T_WINDOW=logwin",
        "echo logs-$GAIA_T_WINDOW",
    ]


def test_layout_file_creates_the_described_session(
    manager: SessionManager, tmux: Tmux, layout_file: Path
) -> None:
    """A created layout has its windows, main-vertical panes, directories, focus and commands."""
    view = manager.create(load_layout_file(layout_file), layout_file=str(layout_file))
    assert view.layout_file == str(layout_file)
    code, logs = (str((layout_file.parent / d).resolve()) for d in ("code", "code/logs"))

    rows = pane_rows(tmux, *GEOMETRY, "pane_id", "pane_active", "pane_current_path", target="proj")
    assert [r["window_name"] for r in rows] == ["editor"] * 4 + ["logs"]
    assert [r["pane_current_path"] for r in rows] == [code] * 4 + [logs]
    main, *side = rows[:4]
    assert (main["pane_left"], main["pane_top"], main["pane_height"]) == ("0", "0", "40")
    assert all(int(r["pane_left"]) > int(main["pane_width"]) - 1 for r in side)
    assert len({r["pane_top"] for r in side}) == 3  # stacked on the right
    assert [r["pane_active"] for r in rows[:4]] == ["0", "0", "0", "1"]

    ids = [r["pane_id"] for r in rows]
    wait_for_line(tmux, ids[0], "first-hello")
    lines = wait_for_line(tmux, ids[2], "two-b")
    assert lines.index("two-a") < lines.index("two-b")
    wait_for_line(tmux, ids[3], "focused")
    wait_for_line(tmux, ids[4], "logs-logwin")
    # The null pane got only the command every pane gets first.
    wait_until(
        lambda: any(
            line.endswith(" export GAIA_T_GREETING=hello") for line in capture(tmux, ids[1])
        ),
        what="the shell_command_before typed into the empty pane",
    )
    record = manager.store.get(view.id)
    assert record is not None
    assert record.windows[0].panes[1].commands == ["export GAIA_T_GREETING=hello"]


def test_freeze_round_trips_through_a_layout_file(
    manager: SessionManager, tmux: Tmux, layout_file: Path, tmp_path: Path
) -> None:
    """A frozen session, saved and loaded under a new name, rebuilds the same structure."""
    manager.create(load_layout_file(layout_file))
    frozen = manager.freeze("proj")
    assert isinstance(frozen, dict)
    assert frozen["session_name"] == "proj"
    assert [w["window_name"] for w in frozen["windows"]] == ["editor", "logs"]

    frozen["session_name"] = "copy"
    saved = tmp_path / "elsewhere" / "frozen.yaml"
    saved.parent.mkdir()
    saved.write_text(yaml.safe_dump(frozen), encoding="utf-8")
    manager.create(load_layout_file(saved))

    fields = (*GEOMETRY, "window_layout", "pane_current_path", "pane_active", "window_active")
    original = pane_rows(tmux, *fields, target="proj")
    copy = pane_rows(tmux, *fields, target="copy")
    assert len(copy) == len(original) == 5

    def shape(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{**r, "window_layout": layout_shape(r["window_layout"])} for r in rows]

    assert shape(copy) == shape(original)
    layouts = {
        (r["window_name"], r["window_layout"])
        for r in pane_rows(tmux, "window_name", "window_layout", target="proj")
    }
    assert {w["window_name"]: w["layout"] for w in frozen["windows"]} == dict(layouts)
    copy_commands = [
        p.commands for w in manager.get("copy").windows for p in w.panes
    ]  # fmt: skip
    assert copy_commands == [p.commands for w in manager.get("proj").windows for p in w.panes]


def test_window_options_are_set_in_tmux(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    """Options given on a window in a layout file are set on that tmux window."""
    path = write(
        tmp_path / "opts.yaml",
        """\
        session_name: wopts
        windows:
          - window_name: w
            options:
              main-pane-width: 30
            panes: [null]
        """,
    )
    manager.create(load_layout_file(path))
    assert tmux("show-options", "-w", "-t", "wopts:w", "-v", "main-pane-width").strip() == "30"


# -- validation errors -------------------------------------------------------------------


def problems_of(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(SessionValidationError) as caught:
        load_layout_file(path)
    assert str(path) in caught.value.message
    for problem in caught.value.problems:
        assert problem.source == str(path)
    return [(p.location(), p.message) for p in caught.value.problems]


def warnings_of(path: Path) -> list[tuple[str, str]]:
    return [(w.location(), w.message) for w in read_layout_file(path).warnings]


def test_unknown_key_is_located(tmp_path: Path) -> None:
    """An unknown window key is ignored as tmuxp ignores it, with a warning at its line
    and column naming the known keys."""
    path = write(
        tmp_path / "unknown.yaml",
        """\
        session_name: demo
        windows:
          - window_name: a
            bogus: 1
            panes:
              - echo hi
        """,
    )
    layout = read_layout_file(path)
    [warning] = layout.warnings
    assert warning.location() == f"{path}:4:5"
    assert warning.message == "unknown key 'bogus' in windows[0] is ignored (as tmuxp does)"
    assert warning.hint is not None and "window_name" in warning.hint
    assert [c.cmd for c in layout.spec.windows[0].panes[0].shell_command] == ["echo hi"]


def test_unknown_pane_key_is_located(tmp_path: Path) -> None:
    """An unknown key inside a pane mapping is a warning where it is."""
    path = write(
        tmp_path / "pane.yaml",
        """\
        session_name: demo
        windows:
          - panes:
              - shell_command: [ls]
                wat: 2
        """,
    )
    assert warnings_of(path) == [
        (f"{path}:5:9", "unknown key 'wat' in windows[0].panes[0] is ignored (as tmuxp does)")
    ]


def test_bad_layout_name_is_located(tmp_path: Path) -> None:
    """A layout that is neither a tmux name nor a layout string is reported at its key."""
    path = write(
        tmp_path / "layout.yaml",
        """\
        session_name: demo
        windows:
          - window_name: a
            layout: sideways
        """,
    )
    [(where, message)] = problems_of(path)
    assert where == f"{path}:4:5"
    assert "unknown layout 'sideways'" in message


def test_missing_directories_are_located(tmp_path: Path) -> None:
    """Every start directory that does not exist is a warning at its own key (tmux starts
    such a pane in the home directory, as it does for tmuxp)."""
    path = write(
        tmp_path / "dirs.yaml",
        """\
        session_name: demo
        start_directory: nowhere
        windows:
          - window_name: a
            panes:
              - echo one
              - start_directory: ~/gaia-surely-missing-dir
        """,
    )
    found = warnings_of(path)
    assert [where for where, _ in found] == [f"{path}:2:1", f"{path}:7:9"]
    assert "nowhere" in found[0][1]
    assert all("does not exist" in message for _, message in found)


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    """An unclosed quote is reported where the quoted text begins."""
    path = write(
        tmp_path / "syntax.yaml",
        """\
        session_name: demo
        windows:
          - window_name: "a
            panes: []
        """,
    )
    [(where, message)] = problems_of(path)
    assert where == f"{path}:3:18"
    assert message.startswith("YAML syntax error")


def test_bad_indentation_is_located(tmp_path: Path) -> None:
    """A key indented out of its mapping is reported at that key."""
    path = write(
        tmp_path / "indent.yaml",
        """\
        session_name: demo
        windows:
          - window_name: a
           layout: tiled
        """,
    )
    [(where, message)] = problems_of(path)
    assert where == f"{path}:4:4"
    assert message.startswith("YAML syntax error")


def test_duplicate_key_is_located(tmp_path: Path) -> None:
    """A key given twice: the last one wins, as in PyYAML (what tmuxp reads with), with
    a warning at it naming the line of the first."""
    path = write(
        tmp_path / "dup.yaml",
        """\
        session_name: demo
        windows:
          - window_name: a
            window_name: b
        """,
    )
    layout = read_layout_file(path)
    assert layout.spec.windows[0].window_name == "b"
    [(where, message)] = warnings_of(path)
    assert where == f"{path}:4:5"
    assert message == "duplicate key 'window_name' (first defined at line 3); this one wins"


def test_all_problems_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    """Several problems in one file are all reported, sorted by position."""
    path = write(
        tmp_path / "many.yaml",
        """\
        session_name: bad.name
        width: 3
        windows:
          - layout: sideways
          - window_name: b
            extra: true
        """,
    )
    found = problems_of(path)
    assert [where for where, _ in found] == [f"{path}:1:1", f"{path}:2:1"]
    assert "'bad.name' is not allowed" in found[0][1]
    assert "width" in found[1][1]


def test_layout_must_be_a_mapping(tmp_path: Path) -> None:
    """A file that is a list, not a mapping, is reported at its start."""
    path = write(tmp_path / "list.yaml", "- a\n- b\n")
    [(where, message)] = problems_of(path)
    assert where == f"{path}:1:1"
    assert "a list" in message


def test_unreadable_layout_file_is_a_validation_error(tmp_path: Path) -> None:
    """A missing layout file is reported as a problem with that file, not an OSError."""
    path = tmp_path / "absent.yaml"
    [(where, message)] = problems_of(path)
    assert where == str(path)
    assert "cannot read" in message
