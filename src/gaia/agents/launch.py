"""Launchers: how an agent's process starts — in the background, or in a tmux window.

A visible run executes the agent in a window of the tmux session ``gaia-agents``, where
a person can attach and watch. gaia still reads the structured output (``tee``'d to the
task's log) and the exit status (written to a file, then announced with ``tmux wait-for``,
which gaia awaits as a child process: no polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import psutil

from gaia._proc import (
    COOKIE_ENV,
    ProcessHandle,
    any_alive,
    signal_all,
    spawn,
    strays,
)
from gaia.errors import AgentError, GaiaError, ProcessError
from gaia.sessions.manager import SessionManager

__all__ = ["VISIBLE_SESSION", "DirectLauncher", "TmuxLauncher"]

VISIBLE_SESSION = "gaia-agents"


class DirectLauncher:
    """A child process in its own process group; stdout and stderr to their files."""

    async def launch(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path,
        cookie: str,
        title: str,
    ) -> ProcessHandle:
        stdout.parent.mkdir(parents=True, exist_ok=True)
        try:
            return spawn(argv, cookie=cookie, cwd=cwd, env=env, output=stdout, error_output=stderr)
        except ProcessError as exc:
            raise AgentError(str(exc)) from exc


def _wrapper_script(
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    stdout: Path,
    stderr: Path,
    status: Path,
    tmux: list[str],
    channel: str,
) -> str:
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        'rm -f -- "$0"',  # it holds the environment: gone as soon as it runs
        # The window stays when the agent ends, so a person attaching later sees its output.
        f'{shlex.join([*tmux, "set-option", "-p", "-t"])} "$TMUX_PANE" remain-on-exit on',
        *(f"export {name}={q(value)}" for name, value in env.items() if name.isidentifier()),
        # Whatever happens, say how it ended: gaia waits for the status and the signal.
        f"finish() {{ printf '%s' \"$1\" > {q(str(status))}; "
        f'{shlex.join([*tmux, "wait-for", "-S", channel])}; exit "$1"; }}',
        f"cd -- {q(str(cwd))} || finish 127",
        "set -o pipefail",
        # The stderr tee is a process substitution of this shell (not of the pipeline's
        # subshell, where ``$!`` cannot reach it), so it can be closed and awaited: gaia
        # reads the file as soon as it is told the agent ended.
        f"exec 3> >(tee -a {q(str(stderr))} >&2)",
        "stderr_tee=$!",
        f"{shlex.join(argv)} 2>&3 3>&- | tee {q(str(stdout))}",
        "code=$?",
        "exec 3>&-",
        'wait "$stderr_tee" 2>/dev/null',
        "printf '\\n[gaia] agent exited with status %s\\n' \"$code\"",
        'finish "$code"',
    ]
    return "\n".join(lines) + "\n"


class TmuxProcess:
    """The agent running in a tmux pane: awaited through ``tmux wait-for``."""

    def __init__(self, pid: int, cookie: str, waiter: ProcessHandle, status: Path) -> None:
        self.pid: int | None = pid
        self.cookie = cookie
        self.waiter = waiter
        self.status = status
        self._code: int | None = None

    async def wait(self) -> int:
        if self._code is None:
            await self.waiter.wait()
            try:
                self._code = int(self.status.read_text().strip() or "-9")
            except (OSError, ValueError):
                self._code = -signal.SIGKILL  # the pane died before it could say
            with contextlib.suppress(OSError):
                self.status.unlink()
        return self._code

    async def kill_tree(self, grace: float) -> int:
        # Not our child: the pane's process is tmux's, so its exit cannot be awaited.
        members = strays(self.pid, self.cookie) if self.pid is not None else []
        if self.pid is not None:
            with contextlib.suppress(psutil.Error):
                members.append(psutil.Process(self.pid))
        for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 1.0)):
            signal_all(members, signum)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any_alive(members):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await self.waiter.kill_tree(0.5)
        self._code = self._code if self._code is not None else -signal.SIGTERM
        return self._code


class TmuxLauncher:
    """Runs the agent in a window of the ``gaia-agents`` tmux session."""

    def __init__(self, sessions: SessionManager, session: str = VISIBLE_SESSION) -> None:
        self.sessions = sessions
        self.session = session

    async def launch(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: Path,
        stderr: Path,
        cookie: str,
        title: str,
    ) -> TmuxProcess:
        stdout.parent.mkdir(parents=True, exist_ok=True)
        if not cwd.is_dir():  # noqa: ASYNC240 - one stat, as spawn does for direct runs
            raise AgentError(f"working directory {cwd} does not exist")
        driver = self.sessions.driver
        tmux = [driver.binary, "-S", driver.socket_path()]
        channel = f"gaia-agent-{cookie.rsplit('/', 1)[-1]}"
        status = stdout.with_suffix(".status")
        script = stdout.with_suffix(".run.sh")
        child_env = {**env, COOKIE_ENV: cookie}
        text = _wrapper_script(argv, child_env, cwd, stdout, stderr, status, tmux, channel)
        await asyncio.to_thread(_write_private_script, script, text)
        try:
            _pane, pid = await asyncio.to_thread(
                self.sessions.open_program_window,
                self.session,
                name=title,
                command=shlex.join(["bash", str(script)]),
                start_directory=str(cwd),
            )
        except GaiaError as exc:
            script.unlink(missing_ok=True)
            raise AgentError(f"cannot open a tmux window for a visible run: {exc}") from exc
        # A channel signalled before anyone waits stays signalled, so a quick agent that
        # finished already is not missed.
        waiter = spawn([*tmux, "wait-for", channel], cookie=f"{cookie}/wait")
        return TmuxProcess(pid, cookie, waiter, status)


def _write_private_script(path: Path, text: str) -> None:
    """Write the wrapper readable by its owner only from the first byte: it holds the
    agent's environment (API keys), which write-then-chmod would expose for a moment."""
    path.unlink(missing_ok=True)  # O_CREAT keeps an old file's mode; start afresh
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o700)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
