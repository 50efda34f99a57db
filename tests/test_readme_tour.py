"""The README's quick tour, pasted whole into a real terminal as a newcomer pastes it.

The block is taken from README.md as it stands, so the tour cannot drift from what works.
It runs in an interactive bash in a 120x40 tmux pane with nothing of the user's
environment, against a real daemon; bash records the exit status of every command it
runs (PROMPT_COMMAND), and every one must be 0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_workflows_api import Server, start_server, stop_server_checked
from tests.helpers import free_port, known_shell_home, wait_until

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
TMUX = shutil.which("tmux")
# The tour's service listens on this port; the test gives it a port that is free here.
TOUR_PORT = "8089"
DONE = "tour-finished"

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")


def tour_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Quick tour")
    section = text[start : text.index("\n## ", start + 3)]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the Quick tour section has no ```sh block"
    return found.group(1)


class Pane:
    """An interactive bash in a tmux pane of its own server, started with `env -i`."""

    def __init__(self, cwd: Path, environ: dict[str, str], statuses: Path) -> None:
        assert TMUX is not None
        self.socket = f"gaia-tour-{uuid.uuid4().hex[:12]}"
        # Every command's exit status, one per line, as bash draws each prompt.
        record = f"echo $? >> {statuses}"
        shell = [
            "env",
            "-i",
            *(f"{key}={value}" for key, value in environ.items()),
            f"PROMPT_COMMAND={record}",
            "PS1=$ ",
            "bash",
            "--noprofile",
            "--norc",
            "-i",
        ]
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "-c", str(cwd), "-s", "t", *shell)

    def tmux(self, *args: str, stdin: str | None = None) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-u", "-L", self.socket, "-f", "/dev/null", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def paste(self, text: str) -> None:
        """What a terminal does with a paste: the text arrives as typed, newlines included."""
        self.tmux("load-buffer", "-b", "tour", "-", stdin=text)
        self.tmux("paste-buffer", "-d", "-b", "tour", "-t", "t")

    def close(self) -> None:
        assert TMUX is not None
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def daemon(tmp_path: Path, tmux_socket: str) -> Iterator[tuple[Server, dict[str, str]]]:
    """`make serve`'s daemon in a fresh GAIA_HOME, and the environment of the user's shell."""
    gaia_home = tmp_path / "gaia-home"
    gaia_home.mkdir()
    shell_env = known_shell_home(tmp_path / "home")
    environ = {
        **shell_env,
        "PATH": f"/usr/local/bin:/usr/bin:/bin{os.pathsep}{Path(TMUX or 'tmux').parent}",
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "GAIA_HOME": str(gaia_home),
        "GAIA_TMUX_SOCKET": tmux_socket,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(environ, PATH=os.environ.get("PATH", os.defpath), GAIA_KILL_GRACE_PERIOD="1s")
    server = start_server(gaia_home, env)
    try:
        yield server, environ
    finally:
        stop_server_checked(server)


def test_the_quick_tour_pasted_into_a_terminal_runs_every_command(
    tmp_path: Path, daemon: tuple[Server, dict[str, str]]
) -> None:
    if shutil.which("curl") is None:
        pytest.skip("the tour uses curl (tools/system-packages.sh installs it)")
    _server, environ = daemon
    block = tour_block()
    assert TOUR_PORT in block
    block = block.replace(TOUR_PORT, str(free_port()))
    # The clone, as far as the tour sees it: the directory with .venv.
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / ".venv").symlink_to(VENV, target_is_directory=True)
    statuses = tmp_path / "statuses"
    pane = Pane(clone, environ, statuses)
    try:
        wait_until(lambda: pane.screen().rstrip().endswith("$"), 30, what="the first prompt")
        pane.paste(block)
        pane.tmux("send-keys", "-t", "t", "-l", f"echo {DONE}")
        pane.tmux("send-keys", "-t", "t", "Enter")
        wait_until(
            lambda: re.search(rf"^{DONE}$", pane.screen(), re.MULTILINE),
            timeout=240,
            interval=0.5,
            what="the tour to run to its end",
        )
        screen = pane.screen()
    finally:
        pane.close()
    codes = statuses.read_text(encoding="utf-8").split()
    failed = [code for code in codes if code != "0"]
    assert not failed, f"commands exited with {failed}:\n{screen}"
    # Each part did what the tour says it does.
    assert "Traceback" not in screen, screen
    assert "completed" in screen, screen  # the workflow's summary
    assert "exit status 2" in screen, screen  # the broken file, located
    assert re.search(r"broken\.yaml:\d+:\d+", screen), screen
    assert "session dev is up: 1 window, 1 pane" in screen, screen
    assert "hello from the pane" in screen, screen
    assert re.search(r"^42$", screen, re.MULTILINE), screen
    assert '"status":"ok"' in screen.replace(" ", ""), screen
    assert screen.count('"name":"hello"') >= 2, screen  # created, then listed completed
