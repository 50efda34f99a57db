"""Commands that show a spinner while they wait, on a real terminal (a tmux pane).

The daemon, service, session, agent and doctor commands draw rich's status line on a
terminal and nothing when piped; these run them where a newcomer does and read the screen
and the exit status: the final line is there, no spinner frame is left behind, no
traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import kill_leftover_agents
from tests.cli.test_terminal import GAIA, TMUX, Terminal
from tests.helpers import known_shell_home, wait_until

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
AGENTS = """\
[agents.fake]
command = ["sh", "-c", "sleep 1.5; echo \\"agent says $0\\"", "{prompt}"]
"""


@pytest.fixture
def term(tmp_path: Path, gaia_home: Path, tmux_socket: str) -> Iterator[Terminal]:
    """A terminal whose gaia daemon (when a command starts one) listens on a free port."""
    shell = known_shell_home(tmp_path / "home")
    (gaia_home / "config.toml").write_text(AGENTS, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    extra = {"SHELL": shell["SHELL"], "GAIA_PORT": "0", "GAIA_AGENT_CLOSE_GRACE": "1s"}
    terminal = Terminal(Path(shell["HOME"]), gaia_home, tmux_socket, extra=extra, cwd=work)
    try:
        yield terminal
    finally:
        terminal.close()
        daemon_file = gaia_home / "daemon.json"
        if daemon_file.exists():
            pid = json.loads(daemon_file.read_text())["pid"]
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not daemon_file.exists(), timeout=30, what="the daemon to stop")
        kill_leftover_agents(gaia_home)


def ok(term: Terminal, command: str, timeout: float = 60.0) -> str:
    status, screen = term.run(command, timeout)
    assert "Traceback" not in screen, screen
    assert not any(frame in screen for frame in SPINNER_FRAMES), f"a spinner was left:\n{screen}"
    assert status == 0, screen
    return screen


def test_service_and_daemon_commands(term: Terminal, tmp_path: Path) -> None:
    """register (starting the daemon), start, restart, stop; daemon restart and stop."""
    definition = tmp_path / "work" / "svc.yaml"
    definition.write_text("name: napper\ncommand: sleep 300\nstart_seconds: 0.5s\n")
    screen = ok(term, f"{GAIA} service register svc.yaml")
    assert "started the gaia daemon in the background" in screen, screen
    assert "registered napper" in screen, screen
    assert "napper: running" in ok(term, f"{GAIA} service start napper")
    assert "napper: running" in ok(term, f"{GAIA} service restart napper")
    assert "napper: stopped" in ok(term, f"{GAIA} service stop napper")
    screen = ok(term, f"{GAIA} daemon restart")
    assert "started the gaia daemon" in screen or "restarted" in screen, screen
    assert "stopped" in ok(term, f"{GAIA} daemon stop")


def test_session_up_run_and_restore(term: Terminal, tmp_path: Path) -> None:
    """Without a daemon: up builds the layout here, run waits for its command, kill ends it."""
    layout = tmp_path / "work" / "dev.yaml"
    layout.write_text(
        textwrap.dedent(
            """\
            session_name: term demo
            windows:
              - window_name: one
                panes: [echo first pane]
            """
        )
    )
    screen = ok(term, f"{GAIA} session up dev.yaml --wait")
    assert "session term demo is up: 1 window, 1 pane" in screen, screen
    screen = ok(term, f"{GAIA} session run 'term demo' 'echo $((6 * 7))'")
    assert "\n42\n" in screen, screen
    assert "killed session term demo" in ok(term, f"{GAIA} session kill 'term demo'")


def test_agent_run_follows_the_task_to_its_result(term: Terminal) -> None:
    """The status line follows the task; the result replaces it."""
    screen = ok(term, f"{GAIA} agent run --agent fake hello", timeout=90)
    assert "agent says hello" in screen, screen
    assert "succeeded fake task" in screen, screen


def test_doctor_checks_with_a_status_line(term: Terminal) -> None:
    screen = ok(term, f"{GAIA} doctor")
    assert "tmux" in screen, screen


def test_workflow_stop_waits_with_a_status_line(term: Terminal, tmp_path: Path) -> None:
    """A run started in the background of the terminal, stopped from its prompt."""
    (tmp_path / "work" / "long.yaml").write_text(
        "name: long\ntasks:\n  - id: nap\n    command: echo napping; sleep 300\n"
    )
    ok(term, f"({GAIA} workflow run long.yaml > run.log 2>&1 &)")
    wait_until(
        lambda: (
            "napping"
            in "".join(
                p.read_text() for p in (tmp_path / "gaia-home").glob("logs/workflows/*/nap.1.log")
            )
        ),
        timeout=30,
        what="the task to start",
    )
    screen = ok(term, f"{GAIA} workflow stop $({GAIA} workflow list -q --limit 1)")
    assert re.search(r"workflow [0-9a-f]{8} (cancelled|stopped)", screen), screen
