"""The CLI on a real terminal: commands that draw live progress, run in a tmux pane.

Piped output takes another path (one plain line per event); these tests cover the path a
newcomer sees, with rich's live display, by reading the screen and the exit status.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.helpers import wait_until

GAIA = Path(sys.executable).parent / "gaia"
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

EXIT = re.compile(r"^exit=(\d+)\s*$", re.MULTILINE)


class Terminal:
    """A 120x40 xterm-256color pane running /bin/sh with a known prompt and environment."""

    def __init__(
        self,
        home: Path,
        gaia_home: Path,
        tmux_socket: str,
        extra: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        assert TMUX is not None
        self.tmux = TMUX
        self.socket = f"gaia-term-{uuid.uuid4().hex[:12]}"
        # env -i: nothing from the user's environment (shell start-up files, prompt,
        # $SHELL, locale, width) reaches the pane; only what is listed here.
        shell = [
            "env",
            "-i",
            f"HOME={home}",
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "TERM=xterm-256color",
            "LC_ALL=C.UTF-8",
            f"GAIA_HOME={gaia_home}",
            f"GAIA_TMUX_SOCKET={tmux_socket}",
            "GAIA_KILL_GRACE_PERIOD=1s",
            *(f"{key}={value}" for key, value in (extra or {}).items()),
            "PS1=$ ",
            "/bin/sh",
        ]
        where = ["-c", str(cwd)] if cwd else []
        self._tmux("new-session", "-d", "-x", "120", "-y", "40", *where, "-s", "t", *shell)

    def _tmux(self, *args: str) -> str:
        # -u: the pane is UTF-8 whatever the test runner's locale; -f /dev/null: no tmux.conf.
        done = subprocess.run(
            [self.tmux, "-u", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def screen(self) -> str:
        """Everything the pane shows, scrollback included, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def run(self, command: str, timeout: float = 30.0) -> tuple[int, str]:
        """Type ``command`` at the prompt; return its exit status and what it printed."""
        wait_until(lambda: self.screen().rstrip().endswith("$"), 10, what="the prompt")
        typed = f'{command}; echo "exit=$?"'
        self._tmux("send-keys", "-t", "t", "-l", typed)
        self._tmux("send-keys", "-t", "t", "Enter")

        def finished() -> tuple[int, str] | None:
            screen = self.screen()
            start = screen.rfind(typed)
            if start < 0:
                return None
            output = screen[start + len(typed) :]
            found = EXIT.search(output)
            return (int(found.group(1)), output[: found.start()]) if found else None

        result: tuple[int, str] = wait_until(finished, timeout, what=f"{command!r} to finish")
        return result

    def close(self) -> None:
        subprocess.run(
            [self.tmux, "-L", self.socket, "kill-server"], capture_output=True, check=False
        )


@pytest.fixture
def term(tmp_path: Path, gaia_home: Path, tmux_socket: str) -> Iterator[Terminal]:
    home = tmp_path / "home"
    home.mkdir()
    terminal = Terminal(home, gaia_home, tmux_socket)
    try:
        yield terminal
    finally:
        terminal.close()


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def run_id_of(screen: str) -> str:
    found = re.search(r"run ([0-9a-f]{8})", screen)
    assert found, screen
    return found.group(1)


def test_run_success_prints_summary_and_exits_zero(term: Terminal, tmp_path: Path) -> None:
    wf = write(
        tmp_path / "ok.yaml",
        """
        name: demo
        tasks:
          - id: hello
            command: echo hello
          - id: second
            command: echo second
            dependencies: [hello]
        """,
    )
    status, screen = term.run(f"{GAIA} workflow run {wf}")
    assert "Traceback" not in screen and "TypeError" not in screen, screen
    assert status == 0, screen
    assert re.search(r"✓ workflow 'demo' completed in .* \(2 tasks: 2 completed\)", screen), screen
    assert re.search(r"^hello\s+✓ completed\s+1\s+\d", screen, re.MULTILINE), screen


def test_run_failure_names_the_failing_tasks_log(term: Terminal, tmp_path: Path) -> None:
    # `tolerated` fails first (and is allowed to); `boom` is the task that fails the run.
    wf = write(
        tmp_path / "bad.yaml",
        """
        name: breaks
        tasks:
          - id: tolerated
            command: exit 5
            on_error: continue
          - id: boom
            command: echo about to fail; exit 3
            dependencies: [tolerated]
          - id: never
            command: echo never
            dependencies: [boom]
        """,
    )
    status, screen = term.run(f"{GAIA} workflow run {wf}")
    assert "Traceback" not in screen, screen
    assert status == 1, screen
    assert "✗ workflow 'breaks' failed" in screen, screen
    run = run_id_of(screen)
    hints = re.findall(rf"logs: gaia workflow logs {run} (\S+)", screen)
    assert hints == ["boom", "tolerated"], screen  # each failed task's own, boom first
    # What the summary points at is boom's own output.
    status, screen = term.run(f"{GAIA} workflow logs {run} boom")
    assert status == 0 and "about to fail" in screen, screen


def test_resume_shows_durations(term: Terminal, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    wf = write(
        tmp_path / "flaky.yaml",
        f"""
        name: flaky
        tasks:
          - id: first
            command: echo first
          - id: second
            command: test -e {flag}
            dependencies: [first]
        """,
    )
    status, screen = term.run(f"{GAIA} workflow run {wf}")
    assert status == 1, screen
    run = run_id_of(screen)
    flag.touch()
    status, screen = term.run(f"{GAIA} workflow resume {run}")
    assert "Traceback" not in screen, screen
    assert status == 0, screen
    assert "✓ workflow 'flaky' completed" in screen, screen
    for task in ("first", "second"):
        row = re.search(rf"^{task}\s+✓ completed\s+\d+\s+(\S+)", screen, re.MULTILINE)
        assert row, screen
        assert row.group(1) != "-", screen


def test_lazy_console_forwards_every_console_dunder() -> None:
    # A dunder the proxy lacks fails only where rich uses it implicitly (as `with` did).
    from rich.console import Console

    from gaia.cli.common import _LazyConsole

    own = {"__init__", "__module__", "__doc__", "__dict__", "__weakref__", "__annotations__"}
    wanted = {n for n in vars(Console) if n.startswith("__") and n.endswith("__")} - own
    wanted = {n for n in wanted if callable(getattr(Console, n))}
    assert wanted <= set(vars(_LazyConsole)), wanted - set(vars(_LazyConsole))
    lazy = _LazyConsole(file=open("/dev/null", "w"))  # noqa: SIM115 - closed below
    with lazy as real:
        assert isinstance(real, Console)
    lazy.file.close()
