"""`gaia session` commands answered by a running daemon, as subprocesses against real tmux.

Each command runs under a probe that reports, as the process exits, whether it imported
SQLAlchemy: a command the daemon answered does not load it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from gaia.cli.remote import error_from_response, find_remote, settings_digest
from gaia.errors import ConflictError, GaiaError, NotFoundError, ValidationError
from tests.api.test_workflows_api import Server, start_server, stop_server_checked
from tests.helpers import known_shell_home, wait_until

PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nloaded:' + ','.join("
    "m for m in ('sqlalchemy', 'libtmux') if m in sys.modules) + '\\n'))\n"
    "from gaia.cli import main\n"
    "sys.argv = ['gaia', 'session', *sys.argv[1:]]\n"
    "main()\n"
)

LAYOUT = """\
session_name: {name}
windows:
  - window_name: editor
    panes:
      - echo {name}-editor-ready
  - window_name: server
    layout: even-horizontal
    panes:
      - echo {name}-server-ready
      - echo {name}-watcher-ready
"""


def run(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`gaia session ARGS` under the probe; the result and the heavy modules it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    loaded = result.stderr.rpartition("loaded:")[2].strip()
    return result, loaded


@pytest.fixture
def env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The CLI's environment, with pane shells that skip the user's dotfiles."""
    return {**cli_env, **known_shell_home(tmp_path / "user-home")}


@pytest.fixture
def daemon(env: dict[str, str], gaia_home: Path) -> Iterator[Server]:
    """`gaia serve` for this test's home and tmux socket, with the CLI's settings."""
    server = start_server(gaia_home, env)
    try:
        # The URL is printed just before the daemon file is written.
        wait_until((gaia_home / "daemon.json").exists, timeout=10, what="the daemon file")
        yield server
    finally:
        try:
            stop_server_checked(server)
        finally:
            server.kill()


def tmux(env: dict[str, str], *args: str) -> list[str]:
    result = subprocess.run(
        ["tmux", "-L", env["GAIA_TMUX_SOCKET"], *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout.splitlines() if result.returncode == 0 else []


def test_up_send_capture_kill_are_answered_by_the_daemon(
    daemon: Server, env: dict[str, str], tmp_path: Path
) -> None:
    """With a daemon running, the drive commands import neither SQLAlchemy nor libtmux."""
    (tmp_path / "layout.yaml").write_text(LAYOUT.format(name="remote"))
    result, loaded = run(env, "up", "layout.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "session remote is up: 2 windows, 3 panes" in result.stdout
    assert loaded == ""
    assert "remote" in tmux(env, "list-sessions", "-F", "#{session_name}")
    for pane in tmux(env, "list-panes", "-s", "-t", "=remote", "-F", "#{pane_id}"):
        wait_until(
            lambda p=pane: any(
                "-ready" in line for line in tmux(env, "capture-pane", "-p", "-J", "-t", p)
            ),
            timeout=15,
            what=f"pane {pane} to show its command's output",
        )

    result, loaded = run(env, "send", "remote", "-w", "editor", "echo typed-via-the-daemon")
    assert result.returncode == 0 and loaded == "", result.stderr

    def captured() -> str:
        result, loaded = run(env, "capture", "remote", "-w", "editor", "-p", "0")
        assert result.returncode == 0 and loaded == "", result.stderr
        return result.stdout

    wait_until(lambda: "\ntyped-via-the-daemon\n" in captured(), timeout=10, what="the echo output")
    result, loaded = run(env, "capture", "remote", "-w", "editor", "--history", "-J", "-S", "-50")
    assert result.returncode == 0 and loaded == "", result.stderr
    assert "remote-editor-ready" in result.stdout.splitlines()
    result, loaded = run(env, "capture", "remote", "-w", "nowhere")
    assert result.returncode == 1 and "window 'nowhere' not found" in result.stderr

    result, loaded = run(env, "kill", "remote")
    assert result.returncode == 0 and loaded == "", result.stderr
    assert result.stdout.strip() == "killed session remote"
    assert "remote" not in tmux(env, "list-sessions", "-F", "#{session_name}")
    result, _ = run(env, "kill", "remote")
    assert result.returncode == 1 and "remote" in result.stderr


def test_layout_errors_from_the_daemon_name_the_file_as_typed(
    daemon: Server, env: dict[str, str], tmp_path: Path
) -> None:
    """A bad layout exits 2 with file:line:column, the same as without a daemon."""
    (tmp_path / "bad.yaml").write_text(
        "session_name: bad\nwindows:\n  - panes: []\n    layout: x\n"
    )
    remote, loaded = run(env, "up", "bad.yaml", cwd=tmp_path)
    assert remote.returncode == 2 and loaded == ""
    local, _ = run({**env, "GAIA_NO_DAEMON": "1"}, "up", "bad.yaml", cwd=tmp_path)
    assert local.returncode == 2
    assert "bad.yaml:4:5" in remote.stderr
    strip = lambda text: text.rpartition("loaded:")[0].strip()  # noqa: E731
    assert strip(remote.stderr) == strip(local.stderr)


def test_up_through_the_daemon_resolves_paths_as_the_callers_shell_would(
    daemon: Server, env: dict[str, str], tmp_path: Path
) -> None:
    """Answered by the daemon, a layout's paths resolve as tmuxp's would in the caller's
    shell: './x' against the file's folder, a bare relative path and $PWD against the
    caller's directory; what tmuxp ignores is a warning on stderr, the same as locally."""
    caller = tmp_path / "caller"
    (caller / "here").mkdir(parents=True)
    (tmp_path / "files" / "beside").mkdir(parents=True)
    (tmp_path / "files" / "l.yaml").write_text(
        "session_name: paths\n"
        "start_directory: here\n"
        "windows:\n"
        "  - window_name: file\n"
        "    start_directory: ${PWD}/here\n"
        "    main-pane-width: 30\n"
        "  - window_name: session\n"
    )
    (tmp_path / "files" / "m.yaml").write_text(
        "session_name: beside\nstart_directory: ./beside\nwindows: [{window_name: w}]\n"
    )
    env = {**env, "PWD": str(caller)}
    for layout in ("../files/l.yaml", "../files/m.yaml"):
        result, loaded = run(env, "up", layout, cwd=caller)
        assert result.returncode == 0 and loaded == "", result.stderr
        if layout.endswith("l.yaml"):
            assert "warning: ../files/l.yaml:6:5: unknown key 'main-pane-width'" in result.stderr
    paths = tmux(env, "list-panes", "-a", "-F", "#{session_name} #{pane_start_path}")
    assert sorted(paths) == sorted(
        [
            f"beside {tmp_path / 'files' / 'beside'}",
            f"paths {caller / 'here'}",
            f"paths {caller / 'here'}",
        ]
    )


@pytest.mark.parametrize(
    "change",
    ["environment", "config file", "no-daemon variable"],
)
def test_a_daemon_with_other_settings_is_not_asked(
    daemon: Server, env: dict[str, str], gaia_home: Path, tmp_path: Path, change: str
) -> None:
    """The command works in-process when the daemon's settings may differ from its own."""
    if change == "environment":
        env = {**env, "GAIA_SESSION_IDLE_TIMEOUT": "2h"}
    elif change == "config file":
        (gaia_home / "config.toml").write_text('session_idle_timeout = "2h"\n')
    else:
        env = {**env, "GAIA_NO_DAEMON": "1"}
    assert find_remote(env) is None
    (tmp_path / "layout.yaml").write_text(LAYOUT.format(name="local"))
    result, loaded = run(env, "up", "layout.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert loaded == "sqlalchemy"  # and never libtmux: gaia runs tmux itself
    assert "local" in tmux(env, "list-sessions", "-F", "#{session_name}")


def test_a_daemon_file_left_behind_is_ignored(
    env: dict[str, str], gaia_home: Path, tmp_path: Path
) -> None:
    """A daemon file whose process is gone, or whose port refuses, leaves the work local."""
    gaia_home.mkdir(parents=True, exist_ok=True)
    (gaia_home / "token").write_text("not-the-token\n")
    names = ["GAIA_TMUX_SOCKET", "GAIA_SESSION_IDLE_TIMEOUT"]
    digest = settings_digest(gaia_home / "config.toml", names, env)
    exited = subprocess.Popen(["true"])
    exited.wait()
    for pid in (exited.pid, os.getpid()):  # a dead pid; a live one with no server
        info = {"pid": pid, "url": "http://127.0.0.1:9", "settings_env": names}
        (gaia_home / "daemon.json").write_text(json.dumps({**info, "settings_digest": digest}))
        assert (find_remote(env) is None) == (pid == exited.pid)
        name = f"left-{pid}"
        (tmp_path / "layout.yaml").write_text(LAYOUT.format(name=name))
        result, loaded = run(env, "up", "layout.yaml", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert loaded == "sqlalchemy"  # and never libtmux: gaia runs tmux itself
        assert name in tmux(env, "list-sessions", "-F", "#{session_name}")
    assert not psutil.pid_exists(exited.pid)


def test_settings_digest_follows_config_and_settings_variables_only(tmp_path: Path) -> None:
    """The digest changes with config.toml and the listed variables, never with others."""
    config = tmp_path / "config.toml"
    names = ["GAIA_TMUX_SOCKET"]
    base = settings_digest(config, names, {})
    assert settings_digest(config, names, {"GAIA_TASK_ID": "x", "PATH": "/bin"}) == base
    assert settings_digest(config, names, {"GAIA_TMUX_SOCKET": ""}) != base
    assert settings_digest(config, names, {"GAIA_TMUX_SOCKET": "a"}) != base
    config.write_text("")
    assert settings_digest(config, names, {}) != base  # an empty file is not a missing one
    config.write_text('tmux_socket = "a"\n')
    assert settings_digest(config, names, {}) != settings_digest(config, [], {})
    assert "secret" not in settings_digest(config, names, {"GAIA_TMUX_SOCKET": "secret"})


def test_api_errors_become_gaia_errors() -> None:
    """404, 409 and 422 keep their kind and details; anything else says the status."""
    body = json.dumps(
        {
            "error": {
                "code": "invalid",
                "message": "bad layout",
                "details": [{"message": "unknown field", "source": "l.yaml", "line": 3, "x": 1}],
            }
        }
    ).encode()
    error = error_from_response(422, body)
    assert isinstance(error, ValidationError)
    assert [(p.source, p.line, p.message) for p in error.problems] == [
        ("l.yaml", 3, "unknown field")
    ]
    missing = json.dumps({"error": {"message": "session 'x' not found"}}).encode()
    assert isinstance(error_from_response(404, missing), NotFoundError)
    assert isinstance(error_from_response(409, missing), ConflictError)
    plain = error_from_response(502, b"<html>bad gateway</html>")
    assert type(plain) is GaiaError and "502" in str(plain) and "bad gateway" in str(plain)


def test_start_directories_expand_the_commands_variables_not_the_daemons(
    daemon: Server, env: dict[str, str], tmp_path: Path
) -> None:
    """$NAME and ~ in a layout sent to the daemon expand from the command's environment."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    notes = Path(env["HOME"]) / "notes"
    notes.mkdir()
    assert "GAIA_TEST_PROJECT" not in daemon.env
    env = {**env, "GAIA_TEST_PROJECT": str(project)}
    (tmp_path / "layout.yaml").write_text(
        "session_name: expand\n"
        "start_directory: $GAIA_TEST_PROJECT\n"
        "windows:\n"
        "  - window_name: code\n"
        "    start_directory: ${GAIA_TEST_PROJECT}/sub\n"
        "  - window_name: notes\n"
        "    start_directory: ~/notes\n"
    )
    result, loaded = run(env, "up", "layout.yaml", cwd=tmp_path)
    assert result.returncode == 0 and loaded == "", result.stderr
    paths = tmux(env, "list-panes", "-s", "-t", "=expand", "-F", "#{pane_current_path}")
    assert paths == [str((project / "sub").resolve()), str(notes.resolve())]


def pane_command(env: dict[str, str], session: str) -> list[str]:
    return tmux(env, "display-message", "-p", "-t", f"={session}:", "#{pane_current_command}")


@contextmanager
def running_in_background(
    env: dict[str, str], session: str, command: str
) -> Iterator[subprocess.Popen[str]]:
    """`gaia session run SESSION COMMAND` under the probe, once the pane runs its sleep."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, "run", session, command],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: pane_command(env, session) == ["sleep"], timeout=15, what="the sleep to start"
        )
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_is_answered_by_the_daemon(daemon: Server, env: dict[str, str], tmp_path: Path) -> None:
    """run through the daemon prints the output, exits with the status or 124, imports little."""
    # Wide enough that the shell prompt (it shows the long tmp path) never wraps.
    created, _ = run(env, "create", "runner", "--path", str(tmp_path), "--width", "200")
    assert created.returncode == 0, created.stderr

    result, loaded = run(env, "run", "runner", "echo from-run; bash -c 'exit 3'")
    assert (result.returncode, result.stdout, loaded) == (3, "from-run\n", ""), result.stderr

    result, loaded = run(env, "run", "runner", "--json", "echo as-json")
    assert result.returncode == 0 and loaded == "", result.stderr
    answer = json.loads(result.stdout)
    assert (answer["output"], answer["exit_status"], answer["timed_out"]) == ("as-json", 0, False)

    result, loaded = run(env, "run", "runner", "sleep 10", "--timeout", "0.5")
    assert result.returncode == 124 and loaded == "", result.stderr
    assert "timed out after 0.5 s" in result.stderr
    wait_until(lambda: pane_command(env, "runner") == ["bash"], timeout=10, what="the sleep to end")

    result, loaded = run(env, "run", "nowhere", "true")
    assert result.returncode == 1 and loaded == ""
    assert "nowhere" in result.stderr and "not found" in result.stderr

    for bad in ("0", "-1", "90000"):
        result, _ = run(env, "run", "runner", "true", "--timeout", bad)
        assert result.returncode == 2 and "Invalid value for '--timeout'" in result.stderr


@pytest.mark.parametrize("through", ["daemon", "in-process"])
def test_ctrl_c_in_run_reaches_the_command(
    through: str, request: pytest.FixtureRequest, env: dict[str, str], tmp_path: Path
) -> None:
    """A Ctrl-C in `gaia session run` ends the command in the pane too and frees the pane."""
    if through == "daemon":
        request.getfixturevalue("daemon")
    else:
        env = {**env, "GAIA_NO_DAEMON": "1"}
    created, _ = run(env, "create", "ctrlc", "--path", str(tmp_path), "--width", "200")
    assert created.returncode == 0, created.stderr
    marker = tmp_path / "finished"
    with running_in_background(env, "ctrlc", f"sleep 30; touch {marker}") as proc:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 130, stderr
    assert "interrupted (the command got Ctrl-C)" in stderr and "Traceback" not in stderr
    wait_until(lambda: pane_command(env, "ctrlc") == ["bash"], timeout=10, what="the pane Ctrl-C")

    def runs_again() -> bool:
        result, _ = run(env, "run", "ctrlc", "echo after")
        assert "already running" in result.stderr or result.returncode == 0, result.stderr
        return result.returncode == 0 and result.stdout == "after\n"

    # Through the daemon the pane is freed a moment after its Ctrl-C.
    wait_until(runs_again, timeout=10, what="the pane to take a new command")
    assert not marker.exists()


def test_a_stopping_daemon_ends_a_run_and_leaves_its_command(
    env: dict[str, str], gaia_home: Path, tmp_path: Path
) -> None:
    """SIGTERM to the daemon ends a run at once with a clear error; the command goes on."""
    server = start_server(gaia_home, env)
    try:
        wait_until((gaia_home / "daemon.json").exists, timeout=10, what="the daemon file")
        created, _ = run(env, "create", "stays", "--path", str(tmp_path), "--width", "200")
        assert created.returncode == 0, created.stderr
        marker = tmp_path / "went-on"
        with running_in_background(env, "stays", f"sleep 2; touch {marker}") as client:
            started = time.monotonic()
            code = server.terminate(timeout=10.0)
            stopped_in = time.monotonic() - started
            _, stderr = client.communicate(timeout=15)
    finally:
        server.kill()
    assert code == 0, "".join(server.stderr)
    # uvicorn would otherwise wait for the run, up to its 30 s graceful-shutdown limit.
    assert stopped_in < 5, f"the daemon took {stopped_in:.1f} s to stop"
    assert client.returncode == 1, stderr
    assert "gaia is stopping: 'sleep 2; touch" in stderr and "goes on in pane %" in stderr
    assert "Traceback" not in stderr and "500" not in stderr
    wait_until(marker.exists, timeout=10, what="the command to finish on its own")


def test_list_and_show_are_answered_by_the_daemon(
    daemon: Server, env: dict[str, str], tmp_path: Path
) -> None:
    """list and show through the daemon print what the in-process commands print."""
    created, _ = run(env, "create", "shown", "--path", str(tmp_path), "--window", "logs")
    assert created.returncode == 0, created.stderr
    local = {**env, "GAIA_NO_DAEMON": "1"}

    shown, loaded = run(env, "show", "shown")
    assert shown.returncode == 0 and loaded == "", shown.stderr
    assert ": logs  (@" in shown.stdout, shown.stdout
    assert shown.stdout == run(local, "show", "shown")[0].stdout

    as_json, loaded = run(env, "show", "shown", "--json")
    assert as_json.returncode == 0 and loaded == "", as_json.stderr
    remote_view = json.loads(as_json.stdout)
    local_view = json.loads(run(local, "show", "shown", "--json")[0].stdout)
    for view in (remote_view, local_view):
        view.pop("idle_seconds")  # measured when asked
    assert remote_view == local_view

    listed, loaded = run(env, "list", "--json")
    assert listed.returncode == 0 and loaded == "", listed.stderr
    [view] = json.loads(listed.stdout)
    assert (view["name"], view["status"], len(view["windows"])) == ("shown", "alive", 1)
    table, loaded = run(env, "list")
    assert table.returncode == 0 and loaded == "", table.stderr
    assert "shown" in table.stdout and "alive" in table.stdout

    # A session made with plain tmux on gaia's socket is adopted when asked for by name.
    tmux(env, "new-session", "-d", "-s", "plain")
    adopted, loaded = run(env, "show", "plain", "--json")
    assert adopted.returncode == 0 and loaded == "", adopted.stderr
    assert json.loads(adopted.stdout)["origin"] == "adopted"
    missing, _ = run(env, "show", "nowhere")
    assert missing.returncode == 1 and "nowhere" in missing.stderr
