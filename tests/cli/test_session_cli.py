"""`gaia session` as a subprocess, checked against the test's own real tmux server."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import yaml

from tests.helpers import (
    command_lines_with,
    has_variable,
    known_shell_home,
    record_tmux_calls,
    wait_until,
)

GAIA = Path(sys.executable).parent / "gaia"
GAIA_SESSION = Path(sys.executable).parent / "gaia-session"

Tmux = Callable[..., list[str]]


@pytest.fixture(autouse=True)
def plain_home(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Pane shells get an empty HOME: real login bash, without the user's dotfiles.

    Personal startup files make shells slow and, worse, can hold locks: a login shell
    killed while ~/.bashrc runs `pyenv rehash` leaves pyenv's lock file behind, and every
    later shell on the machine then hangs for a minute.
    """
    cli_env.update(known_shell_home(tmp_path / "user-home"))


def gaia(env: dict[str, str], *args: str, binary: Path = GAIA) -> subprocess.CompletedProcess[str]:
    """Run `gaia session ARGS` (or ARGS of another binary, like gaia-session), no tty."""
    argv = [str(binary), *(args if binary != GAIA else ("session", *args))]
    return subprocess.run(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def tmux(tmux_socket: str, cli_env: dict[str, str]) -> Tmux:
    """Run tmux on this test's socket; the output lines (the command must succeed)."""

    def run(*args: str, check: bool = True) -> list[str]:
        result = subprocess.run(
            ["tmux", "-L", tmux_socket, *args],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    return run


def has_session(tmux: Tmux, name: str) -> bool:
    return name in tmux("list-sessions", "-F", "#{session_name}", check=False)


def screen(tmux: Tmux, target: str) -> list[str]:
    return [line.rstrip() for line in tmux("capture-pane", "-p", "-J", "-t", target)]


def wait_for_line(tmux: Tmux, target: str, line: str, timeout: float = 10.0) -> None:
    wait_until(lambda: line in screen(tmux, target), timeout=timeout, what=f"{line!r} in {target}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path.resolve()


def test_create_list_show_attach_and_kill(
    cli_env: dict[str, str], tmux: Tmux, tmux_socket: str, project: Path
) -> None:
    """create makes a tmux session that list/show describe; duplicates and ghosts are errors."""
    created = ok(gaia(cli_env, "create", "demo", "--path", str(project)))
    assert "created session demo" in created
    assert has_session(tmux, "demo")
    [pane] = tmux("list-panes", "-s", "-t", "=demo", "-F", "#{pane_id} #{pane_current_path}")
    pane_id, pane_path = pane.split()
    assert pane_path == str(project)

    listed = ok(gaia(cli_env, "list"))
    [row] = [line for line in listed.splitlines() if line.startswith("demo ")]
    assert "alive" in row and str(project) in row
    assert GAIA_SESSION.exists()
    assert "demo" in ok(gaia(cli_env, "list", binary=GAIA_SESSION))
    shown = ok(gaia(cli_env, "show", "demo"))
    assert "window 0" in shown and "pane 0" in shown
    assert pane_id in shown and str(project) in shown

    again = gaia(cli_env, "create", "demo", "--path", str(project))
    assert again.returncode != 0
    assert "exists" in again.stderr and "Traceback" not in again.stderr
    assert tmux("list-sessions", "-F", "#{session_name}") == ["demo"]

    attach = gaia(cli_env, "attach", "demo")
    assert attach.returncode != 0
    assert "needs a terminal" in attach.stderr and "Traceback" not in attach.stderr
    assert has_session(tmux, "demo")

    assert "killed session demo" in ok(gaia(cli_env, "kill", "demo"))
    assert not has_session(tmux, "demo")
    ghost = gaia(cli_env, "kill", "ghost")
    assert ghost.returncode == 1
    assert "not found" in ghost.stderr and "Traceback" not in ghost.stderr


def test_window_and_splits_shape_the_tmux_window(
    cli_env: dict[str, str], tmux: Tmux, project: Path
) -> None:
    """window adds a tmux window; split -v stacks panes and split -h puts them side by side."""
    ok(gaia(cli_env, "create", "demo", "--path", str(project)))
    ok(gaia(cli_env, "window", "demo", "--name", "extra"))
    assert tmux("list-windows", "-t", "=demo", "-F", "#{window_index} #{window_name}")[1:] == [
        "1 extra"
    ]
    ok(gaia(cli_env, "split", "demo", "-w", "extra", "-v"))
    ok(gaia(cli_env, "split", "demo", "-w", "extra", "-p", "0", "-h"))
    fmt = "#{pane_index} #{pane_left} #{pane_top} #{pane_width} #{pane_height}"
    panes = [
        tuple(int(n) for n in line.split())
        for line in tmux("list-panes", "-t", "=demo:1", "-F", fmt)
    ]
    assert len(panes) == 3
    top_left, top_right, bottom = sorted(panes, key=lambda p: (p[2], p[1]))
    # -v: the original pane's lower half became a new full-width pane below it.
    assert bottom[2] > top_left[2] and bottom[1] == top_left[1] == 0
    assert bottom[3] == top_left[3] + 1 + top_right[3]
    # -h: the top pane was split into two side by side.
    assert top_right[2] == top_left[2] and top_right[1] > top_left[1]
    assert top_left[4] == top_right[4]
    assert len(tmux("list-panes", "-t", "=demo:0")) == 1


def test_send_and_capture(cli_env: dict[str, str], tmux: Tmux, project: Path) -> None:
    """send types into the pane (--no-enter waits, --literal types key names); capture reads."""
    ok(gaia(cli_env, "create", "demo", "--path", str(project)))
    ok(gaia(cli_env, "send", "demo", "echo sent-by-cli"))
    wait_for_line(tmux, "=demo:", "sent-by-cli")

    ok(gaia(cli_env, "send", "demo", "--no-enter", "echo not-yet"))
    wait_until(
        lambda: any(line.endswith("echo not-yet") for line in screen(tmux, "=demo:")),
        timeout=10,
        what="the typed text at the prompt",
    )
    assert "not-yet" not in screen(tmux, "=demo:")  # typed, but Enter was not pressed
    # Literally: 'C-c' is three characters, not Ctrl-C (which would discard the line).
    ok(gaia(cli_env, "send", "demo", "--literal", "+literal-", "C-c"))
    wait_for_line(tmux, "=demo:", "not-yet+literal-C-c")

    ok(gaia(cli_env, "send", "demo", "seq 1 60"))
    wait_for_line(tmux, "=demo:", "60")
    shown = ok(gaia(cli_env, "capture", "demo")).splitlines()
    assert "60" in shown and "1" not in shown and len(shown) < 60
    history = {
        line.rstrip() for line in ok(gaia(cli_env, "capture", "demo", "--history")).split("\n")
    }
    assert {"sent-by-cli", "not-yet+literal-C-c", "1", "30", "60"} <= history


def test_run_exits_with_the_command_status(
    cli_env: dict[str, str], tmux: Tmux, project: Path
) -> None:
    """run prints the command's output and exits with its status, or 124 on a timeout."""
    # Wide enough that the shell prompt (it shows the long tmp path) never wraps.
    ok(gaia(cli_env, "create", "demo", "--path", str(project), "--width", "200"))
    done = gaia(cli_env, "run", "demo", "echo from-run; bash -c 'exit 3'")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "from-run\n"

    started = time.monotonic()
    slow = gaia(cli_env, "run", "demo", "sleep 10", "--timeout", "0.5")
    assert slow.returncode == 124, slow.stderr
    assert "timed out" in slow.stderr
    assert time.monotonic() - started < 8
    wait_until(
        lambda: (
            tmux("display-message", "-p", "-t", "=demo:", "#{pane_current_command}") == ["bash"]
        ),
        timeout=10,
        what="Ctrl-C to end the sleep",
    )


LAYOUT = """\
session_name: dev
start_directory: ./project
windows:
  - window_name: editor
    layout: even-horizontal
    panes:
      - echo editor-left
      - shell_command:
          - echo editor-right
  - window_name: logs
    panes:
      - echo logs-only
"""


def test_up_builds_a_layout_and_freeze_writes_one_up_accepts(
    cli_env: dict[str, str], tmux: Tmux, tmp_path: Path, project: Path
) -> None:
    """up builds windows, panes and commands; freeze writes YAML that builds the same again."""
    layout = tmp_path / "dev.yaml"
    layout.write_text(LAYOUT, encoding="utf-8")
    built = ok(gaia(cli_env, "up", str(layout)))
    assert "session dev is up: 2 windows, 3 panes" in built

    def shape(name: str) -> list[str]:
        return tmux("list-windows", "-t", f"={name}", "-F", "#{window_name} #{window_panes}")

    assert shape("dev") == ["editor 2", "logs 1"]
    for target, line in [
        ("=dev:editor.0", "editor-left"),
        ("=dev:editor.1", "editor-right"),
        ("=dev:logs.0", "logs-only"),
    ]:
        wait_for_line(tmux, target, line)
    paths = tmux("list-panes", "-s", "-t", "=dev", "-F", "#{pane_current_path}")
    assert paths == [str(project)] * 3

    frozen = tmp_path / "frozen.yaml"
    ok(gaia(cli_env, "freeze", "dev", "-o", str(frozen)))
    text = frozen.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["session_name"] == "dev"
    assert [w["window_name"] for w in data["windows"]] == ["editor", "logs"]

    refused = gaia(cli_env, "freeze", "dev", "-o", str(frozen))
    assert refused.returncode != 0
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert frozen.read_text(encoding="utf-8") == text
    frozen.write_text("stale", encoding="utf-8")
    ok(gaia(cli_env, "freeze", "dev", "-o", str(frozen), "--force"))
    assert frozen.read_text(encoding="utf-8") == text
    frozen.write_text(text.replace("session_name: dev\n", "session_name: dev2\n"))
    assert yaml.safe_load(frozen.read_text())["session_name"] == "dev2"

    ok(gaia(cli_env, "up", str(frozen)))
    assert shape("dev2") == ["editor 2", "logs 1"]
    for target, line in [
        ("=dev2:editor.0", "editor-left"),
        ("=dev2:editor.1", "editor-right"),
        ("=dev2:logs.0", "logs-only"),
    ]:
        wait_for_line(tmux, target, line)
    assert has_session(tmux, "dev")


def test_up_and_restore_keep_layout_environment_values_off_command_lines(
    cli_env: dict[str, str], tmux: Tmux, tmp_path: Path, project: Path
) -> None:
    """Environment values of a layout file reach their shells, on `up` and on `restore`
    after the tmux server died, but no command line of any process (issue 15)."""
    bin_dir, log = record_tmux_calls(tmp_path)
    cli_env["PATH"] = f"{bin_dir}{os.pathsep}{cli_env.get('PATH', os.defpath)}"
    token = f"s3cr3t-{uuid.uuid4().hex}"
    layout = tmp_path / "private.yaml"
    layout.write_text(
        yaml.safe_dump(
            {
                "session_name": "private",
                "start_directory": str(project),
                "environment": {"GAIA_T_S": token},
                "windows": [
                    {
                        "environment": {"GAIA_T_W": token},
                        "panes": [{"environment": {"GAIA_T_P": token}}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )

    def check() -> None:
        calls = log.read_text()
        assert token not in calls, "an environment value was on a tmux command line"
        assert "-L" in calls, "gaia's tmux calls were not recorded"
        assert command_lines_with(token) == []
        (pid,) = tmux("list-panes", "-t", "=private", "-F", "#{pane_pid}")
        for key in ("GAIA_T_S", "GAIA_T_W", "GAIA_T_P"):
            # Until tmux's child has exec'd the shell, /proc shows the server's environment.
            wait_until(
                functools.partial(has_variable, int(pid), key, token),
                what=f"{key} in the pane's shell",
            )

    ok(gaia(cli_env, "up", str(layout)))
    check()
    tmux("kill-server")
    ok(gaia(cli_env, "restore", "private"))
    check()


def test_invalid_layout_file_reports_file_line_and_column(
    cli_env: dict[str, str], tmux: Tmux, tmp_path: Path
) -> None:
    """A layout tmuxp would fail on is exit 2 with file:line:col, and nothing is built; a
    key tmuxp ignores (a misspelt one) is a warning on stderr, and the session is built."""
    path = tmp_path / "bad.yaml"
    path.write_text("session_name: bad\nwindows:\n  - window_name: a\n    layout: askew\n")
    result = gaia(cli_env, "up", str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}:4:5" in result.stderr
    assert "askew" in result.stderr and "Traceback" not in result.stderr
    assert not has_session(tmux, "bad")

    path.write_text("session_name: lax\nwindows:\n  - window_name: a\n    pnaes: [x]\n")
    result = gaia(cli_env, "up", str(path))
    assert result.returncode == 0, result.stderr
    assert f"warning: {path}:4:5: unknown key 'pnaes' in windows[0] is ignored" in result.stderr
    assert has_session(tmux, "lax")


def test_dead_session_is_listed_and_restored(
    cli_env: dict[str, str], tmux: Tmux, tmux_socket: str, project: Path
) -> None:
    """After the tmux server dies the session lists as dead; restore rebuilds it in tmux."""
    ok(gaia(cli_env, "create", "demo", "--path", str(project), "--command", "echo came-back"))
    wait_for_line(tmux, "=demo:", "came-back")
    [gaia_id] = tmux("show-options", "-v", "-t", "=demo:", "@gaia_session_id")
    tmux("kill-server")
    assert not has_session(tmux, "demo")

    listed = ok(gaia(cli_env, "list"))
    [row] = [line for line in listed.splitlines() if line.startswith("demo ")]
    assert "dead" in row and gaia_id[:8] in row

    assert "restored demo" in ok(gaia(cli_env, "restore", "demo"))
    assert has_session(tmux, "demo")
    assert tmux("show-options", "-v", "-t", "=demo:", "@gaia_session_id") == [gaia_id]
    assert tmux("display-message", "-p", "-t", "=demo:", "#{pane_current_path}") == [str(project)]
    wait_for_line(tmux, "=demo:", "came-back")  # its command was typed again


def test_cleanup_destroys_idle_sessions(
    cli_env: dict[str, str], tmux: Tmux, tmux_socket: str, project: Path
) -> None:
    """cleanup --dry-run only names a session idle past the timeout; cleanup destroys it."""
    cli_env["GAIA_SESSION_IDLE_TIMEOUT"] = "1s"
    ok(gaia(cli_env, "create", "demo", "--path", str(project)))
    time.sleep(1.5)  # the idle timeout is what is under test
    dry = ok(gaia(cli_env, "cleanup", "--dry-run"))
    assert "would destroy demo" in dry
    assert has_session(tmux, "demo")

    done = ok(gaia(cli_env, "cleanup"))
    assert "destroyed demo" in done
    assert not has_session(tmux, "demo")
    assert "no sessions" in ok(gaia(cli_env, "list"))


def test_send_text_that_starts_with_a_dash(
    cli_env: dict[str, str], tmux: Tmux, project: Path
) -> None:
    """Text that starts with '-' is typed like any other text."""
    ok(gaia(cli_env, "create", "demo", "--path", str(project)))
    sent = gaia(cli_env, "send", "demo", "--literal", "--no-enter", "--", "-dash-text")
    assert sent.returncode == 0, sent.stderr
    wait_until(
        lambda: any(line.endswith("-dash-text") for line in screen(tmux, "=demo:")),
        timeout=10,
        what="the dash text at the prompt",
    )


def test_up_with_wait_types_the_commands_before_returning(
    cli_env: dict[str, str], tmux: Tmux, tmp_path: Path, project: Path
) -> None:
    """up --wait returns once every pane's commands are typed; they then run."""
    layout = tmp_path / "dev.yaml"
    layout.write_text(LAYOUT, encoding="utf-8")
    ok(gaia(cli_env, "up", "--wait", str(layout)))
    # Typed already: no helper process of this session is left typing.
    helpers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "up" in (p.info["cmdline"] or []) and str(layout) in (p.info["cmdline"] or [])
    ]
    assert helpers == []
    for target, line in [("=dev:editor.0", "editor-left"), ("=dev:logs.0", "logs-only")]:
        wait_for_line(tmux, target, line)


def test_each_home_has_its_own_tmux_server(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Without GAIA_TMUX_SOCKET, a session made under one home is not seen from another."""
    from gaia.config import default_tmux_socket

    homes = [tmp_path / "home-a", tmp_path / "home-b"]
    envs = []
    for home in homes:
        home.mkdir()
        env = {k: v for k, v in cli_env.items() if k != "GAIA_TMUX_SOCKET"}
        envs.append({**env, "GAIA_HOME": str(home)})
    sockets = [default_tmux_socket(home) for home in homes]
    assert sockets[0] != sockets[1]
    try:
        ok(gaia(envs[0], "create", "only-in-a", "--path", str(tmp_path)))
        assert "only-in-a" in ok(gaia(envs[0], "list"))
        assert "only-in-a" not in ok(gaia(envs[1], "list"))
        names = subprocess.run(
            ["tmux", "-L", sockets[0], "list-sessions", "-F", "#{session_name}"],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
        assert names == ["only-in-a"]
    finally:
        # As the tmux_socket fixture does for its own: the server, then its socket file.
        base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        for socket in sockets:
            subprocess.run(
                ["tmux", "-L", socket, "kill-server"], env=cli_env, capture_output=True, check=False
            )
            (base / socket).unlink(missing_ok=True)
