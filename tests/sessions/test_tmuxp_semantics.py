"""tmuxp's keys, each doing in gaia what it does in tmuxp, checked in tmux itself."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gaia.errors import SessionError, SessionValidationError
from gaia.sessions.loader import read_layout_file
from gaia.sessions.manager import SessionManager
from tests.helpers import wait_until
from tests.sessions.support import Tmux, capture, pane_rows, wait_for_line

SH = "env -i PS1='$ ' HOME=/tmp /bin/sh"  # a known shell, whatever the machine's is


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def up(manager: SessionManager, path: Path, **kwargs: object) -> list[str]:
    """Build the layout (commands typed before returning); its warnings as text."""
    layout = read_layout_file(path, **kwargs)  # type: ignore[arg-type]
    manager.create(layout.spec, origin="layout", typing="wait")
    return [str(w) for w in layout.warnings]


def test_names_with_spaces_are_quoted_not_refused(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "s.yaml",
        f"""\
        session_name: my project
        windows:
          - window_name: two words
            window_shell: {SH}
            panes: [echo in-two-words]
        """,
    )
    up(manager, path)
    rows = pane_rows(tmux, "session_name", "window_name", "pane_id")
    [row] = [r for r in rows if r["session_name"] == "my project"]
    assert row["window_name"] == "two words"
    wait_for_line(tmux, row["pane_id"], "in-two-words")
    view = manager.get("my project")
    manager.send_keys("my project", "echo again", window="two words")
    wait_for_line(tmux, row["pane_id"], "again")
    assert manager.destroy(view.id).status == "destroyed"


@pytest.mark.parametrize("name", ["a.b", "a:b"])
def test_a_session_name_tmux_would_change_is_refused(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / "s.yaml", f"session_name: '{name}'\nwindows: [{{}}]\n")
    with pytest.raises(SessionValidationError, match=r"'\.' or ':'"):
        read_layout_file(path)


def test_enter_false_types_without_running_and_suppress_history_types_a_space(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "e.yaml",
        f"""\
        session_name: enter
        window_shell: ignored-at-session-level
        windows:
          - window_name: w
            window_shell: {SH}
            panes:
              - shell_command: echo not-$((6 * 7))
                enter: false
              - shell_command:
                  - echo ran-$((6 * 7))
                  - cmd: echo held-$((6 * 7))
                    enter: false
              - shell_command: echo kept-$((6 * 7))
                suppress_history: false
        """,
    )
    warnings = up(manager, path)
    assert any("unknown key 'window_shell'" in w for w in warnings)
    held, mixed, kept = (r["pane_id"] for r in pane_rows(tmux, "pane_id", target="enter"))

    # typed ahead while the first runs (as tmuxp types), the held command shows before
    # the first one's output, and stays typed but not run
    def ran() -> str | None:
        text = " ".join(capture(tmux, mixed))
        return text if "ran-42" in text else None

    shown = wait_until(ran, what="the first command's output")
    assert "echo held-$((6 * 7))" in shown and "held-42" not in shown
    assert capture(tmux, mixed)[0] == "$  echo ran-$((6 * 7))"  # a space first, as tmuxp
    wait_until(lambda: capture(tmux, held) == ["$  echo not-$((6 * 7))"], what="typed, not run")
    assert wait_for_line(tmux, kept, "kept-42")[0] == "$ echo kept-$((6 * 7))"


def test_window_index_options_after_global_options_and_shells(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "o.yaml",
        f"""\
        session_name: opts
        global_options:
          display-time: 1234
        options:
          status: off
        windows:
          - window_name: first
            window_index: 2
            window_shell: {SH}
          - window_name: fifth
            window_index: 5
            options_after:
              synchronize-panes: on
            panes:
              - shell: {SH}
              - shell: cat
        """,
    )
    up(manager, path)
    rows = pane_rows(tmux, "window_index", "window_name", "pane_current_command", target="opts")
    assert [(r["window_index"], r["window_name"]) for r in rows] == [
        ("2", "first"),
        ("5", "fifth"),
        ("5", "fifth"),
    ]
    wait_until(
        lambda: (
            [
                r["pane_current_command"]
                for r in pane_rows(tmux, "pane_current_command", target="opts")
            ]
            == ["sh", "sh", "cat"]
        ),
        what="each pane to run its own program",
    )
    assert tmux("show-options", "-wv", "-t", "=opts:fifth", "synchronize-panes").strip() == "on"
    assert tmux("show-options", "-gv", "display-time").strip() == "1234"
    assert tmux("show-options", "-v", "-t", "opts", "status").strip() == "off"


def test_environment_at_each_level_and_variables_in_commands(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "v.yaml",
        """\
        session_name: ${GAIA_T_NAME}
        environment:
          GAIA_T_S: session
        windows:
          - window_name: w
            window_shell: /bin/sh
            environment:
              GAIA_T_W: window
            panes:
              - echo "[$GAIA_T_S $GAIA_T_W $GAIA_T_P] ${GAIA_T_TYPED}"
              - shell_command: echo "[$GAIA_T_P]"
                environment:
                  GAIA_T_P: pane
        """,
    )
    environ = {"GAIA_T_NAME": "from-env", "GAIA_T_TYPED": "expanded-by-gaia", "HOME": "/tmp"}
    up(manager, path, environ=environ)
    first, second = (r["pane_id"] for r in pane_rows(tmux, "pane_id", target="from-env"))
    wait_for_line(tmux, second, "[pane]")
    wait_for_line(tmux, first, "[session window ] expanded-by-gaia")
    shown = tmux("show-environment", "-t", "=from-env", "GAIA_T_S").strip()
    assert shown == "GAIA_T_S=session"


def test_before_script_runs_in_the_start_directory_and_its_failure_builds_nothing(
    manager: SessionManager, tmux: Tmux, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write(project / "prepare.sh", '#!/bin/sh\necho "$GAIA_T_CALLER" > prepared\n').chmod(0o755)
    write(project / "fail.sh", "#!/bin/sh\necho cannot >&2\nexit 3\n").chmod(0o755)
    ok = write(
        project / "ok.yaml",
        "session_name: prepared\nstart_directory: ./\nbefore_script: ./prepare.sh\n"
        "windows: [{window_name: w}]\n",
    )
    # run with the caller's variables (what the daemon gets from `gaia session up`)
    manager.create(read_layout_file(ok).spec, origin="layout", environ={"GAIA_T_CALLER": "me"})
    assert (project / "prepared").read_text() == "me\n"
    bad = write(
        project / "bad.yaml",
        "session_name: unprepared\nstart_directory: ./\nbefore_script: ./fail.sh\n"
        "windows: [{window_name: w}]\n",
    )
    with pytest.raises(SessionError, match=r"exit status 3\): cannot"):
        up(manager, bad)
    missing = write(
        project / "missing.yaml",
        "session_name: unprepared\nbefore_script: ./absent.sh\nwindows: [{window_name: w}]\n",
    )
    with pytest.raises(SessionError, match="cannot run"):
        up(manager, missing)
    sessions = tmux("list-sessions", "-F", "#{session_name}").split()
    assert "prepared" in sessions and "unprepared" not in sessions


def test_directories_resolve_as_tmuxp_resolves_them(tmp_path: Path) -> None:
    """A session's './x' is relative to the file, a window's 'x' to the session's
    directory, a pane's './x' to its window's; what has no directory gets the caller's
    working directory, and a relative window './x' with no session directory fails, as
    in tmuxp."""
    files = tmp_path / "files"
    caller = tmp_path / "caller"
    for d in (files / "root" / "win" / "pane", caller):
        d.mkdir(parents=True)
    path = write(
        files / "d.yaml",
        """\
        session_name: dirs
        start_directory: ./root
        windows:
          - window_name: w
            start_directory: win
            panes:
              - start_directory: ./pane
              - null
        """,
    )
    spec = read_layout_file(path, cwd=caller).spec
    root = files / "root"
    assert spec.start_directory == str(root)
    assert spec.windows[0].start_directory == str(root / "win")
    # tmuxp resolves a pane's './x' against its window's directory as written
    assert spec.windows[0].panes[0].start_directory is not None
    assert spec.windows[0].panes[0].start_directory.endswith("pane")
    bare = write(files / "b.yaml", "session_name: bare\nwindows: [{window_name: w}]\n")
    assert read_layout_file(bare, cwd=caller).spec.start_directory == str(caller)
    broken = write(
        files / "r.yaml",
        "session_name: r\nwindows:\n  - window_name: w\n    start_directory: ./x\n",
    )
    with pytest.raises(SessionValidationError) as caught:
        read_layout_file(broken, cwd=caller)
    [problem] = caught.value.problems
    assert (problem.line, problem.column) == (4, 5)
    assert "no start_directory" in problem.message


def test_plugins_and_sleeps_are_read_and_warned_where_they_cannot_apply(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.yaml",
        """\
        session_name: plug
        plugins: [tmuxp_plugin_extended_build.plugin.PluginExtendedBuild]
        windows:
          - panes:
              - sleep_before: 0.5
                shell_command:
                  - cmd: echo a
                    sleep_after: 0.25
                  - echo b
              - pane
              - blank
        """,
    )
    layout = read_layout_file(path)
    [warning] = layout.warnings
    assert warning.line == 2 and "plugins" in warning.message
    first, second, third = layout.spec.windows[0].panes
    assert first.sleep_before == 0.5
    assert [(c.cmd, c.sleep_after) for c in first.shell_command] == [
        ("echo a", 0.25),
        ("echo b", None),
    ]
    assert second.shell_command == third.shell_command == []


def test_tmuxps_builder_choice_is_warned_as_not_applicable(tmp_path: Path) -> None:
    path = write(
        tmp_path / "b.yaml",
        "session_name: b\nworkspace_builder: classic\nwindows: [{window_name: w}]\n",
    )
    [warning] = read_layout_file(path).warnings
    assert (warning.line, warning.column) == (2, 1)
    assert "tmuxp's own Python builder" in warning.message


def test_names_are_taken_literally(manager: SessionManager, tmux: Tmux, tmp_path: Path) -> None:
    """tmux expands formats in names it is given; gaia's names stay as written."""
    path = write(
        tmp_path / "n.yaml",
        "session_name: 'a #{host} b'\nwindows: [{window_name: 'w #{pane_id}'}]\n",
    )
    up(manager, path)
    rows = pane_rows(tmux, "session_name", "window_name")
    assert {"session_name": "a #{host} b", "window_name": "w #{pane_id}"} in rows
    assert manager.get("a #{host} b").windows[0].name == "w #{pane_id}"


def test_what_tmuxp_fails_on_is_refused_with_its_place(tmp_path: Path) -> None:
    """tmuxp fails (TypeError) on a null window name and a number as an environment
    value; gaia refuses both, each at its line and column, with a hint."""
    path = write(
        tmp_path / "f.yaml",
        """\
        session_name: strict
        environment:
          PORT: 8009
        windows:
          - window_name:
        """,
    )
    with pytest.raises(SessionValidationError) as caught:
        read_layout_file(path)
    found = [(p.line, p.column, p.message, p.hint) for p in caught.value.problems]
    assert found == [
        (3, 3, "environment.PORT must be text (got int)", "quote it: PORT: '8009'"),
        (
            5,
            5,
            "windows[0].window_name must be text (got nothing)",
            "tmuxp fails on it too; write the text, or leave the key out",
        ),
    ]


def test_a_flag_that_is_not_true_or_false_is_taken_as_tmuxp_takes_it(tmp_path: Path) -> None:
    """tmuxp tests focus, enter and suppress_history for truth: the text 'false' is true."""
    path = write(
        tmp_path / "t.yaml",
        "session_name: flags\nwindows:\n  - focus: 'false'\n    panes: [{enter: '', focus: 1}]\n",
    )
    layout = read_layout_file(path)
    window = layout.spec.windows[0]
    assert window.focus is True
    assert (window.panes[0].enter, window.panes[0].focus) == (False, True)
    assert [(w.line, w.column) for w in layout.warnings] == [(3, 5), (4, 14), (4, 25)]
    assert "'false' is not true or false; taken as True" in layout.warnings[0].message
