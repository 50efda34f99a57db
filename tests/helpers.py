"""Helpers shared by the integration tests."""

from __future__ import annotations

import shlex
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "cgroup_containment_reason",
    "command_lines_with",
    "escape_command",
    "free_port",
    "has_variable",
    "known_shell_home",
    "proc_gone",
    "record_tmux_calls",
    "wait_until",
]


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def proc_gone(proc: psutil.Process) -> bool:
    """True once the process has exited (a zombie nobody reaped counts as gone)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


KNOWN_PROMPT = "$ "

# Sourced by bash as a login shell (~/.bash_profile) and as an interactive one (~/.bashrc),
# after the system's files: whatever /etc/profile or /etc/bash.bashrc set (Debian's
# 'user@host:/a/long/dir# ', a PROMPT_COMMAND), the prompt is short and known.
_BASH_STARTUP = f"PS1='{KNOWN_PROMPT}'\nPS2='> '\nunset PROMPT_COMMAND\n"


def known_shell_home(home: Path) -> dict[str, str]:
    """A HOME for test pane shells, and the environment that points tmux at it.

    Tests never depend on the user's shell: tmux takes its default shell from $SHELL when
    its server starts, so this names bash (whatever the user's zsh or fish), and the
    empty HOME skips the user's dotfiles (slow, and able to hold locks: a login shell
    killed while ~/.bashrc runs `pyenv rehash` leaves a lock that stalls later shells).
    The prompt is `$ `, short, so nothing a test types wraps.
    """
    home.mkdir(parents=True, exist_ok=True)
    for name in (".bash_profile", ".bashrc"):
        (home / name).write_text(_BASH_STARTUP, encoding="utf-8")
    (home / ".profile").write_text(f"PS1='{KNOWN_PROMPT}'\n", encoding="utf-8")
    bash = shutil.which("bash") or "/bin/bash"
    return {"HOME": str(home), "SHELL": bash, "ENV": str(home / ".profile")}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def record_tmux_calls(directory: Path) -> tuple[Path, Path]:
    """A ``tmux`` that appends its arguments to a log, then execs the real tmux.

    Returns (its directory, to put first on PATH; the log). Every tmux call a process
    makes through PATH is recorded, however short-lived, and so is the argv of the tmux
    server such a call starts (the server keeps its first client's argv).
    """
    real = shutil.which("tmux")
    assert real is not None, "tmux is not installed"
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    log = directory / "tmux-argv.log"
    log.touch()
    wrapper = bin_dir / "tmux"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(log))}\n'
        f'exec {shlex.quote(real)} "$@"\n'
    )
    wrapper.chmod(0o755)
    return bin_dir, log


def command_lines_with(text: str) -> list[str]:
    """The command lines (``pid: argv``) of every process on the machine that show ``text``."""
    found: list[str] = []
    for proc in psutil.process_iter():
        try:
            line = " ".join(proc.cmdline())
        except psutil.Error:  # gone meanwhile, or not ours to read
            continue
        if text in line:
            found.append(f"{proc.pid}: {line}")
    return found


def has_variable(pid: int, key: str, value: str) -> bool:
    """Whether the process was started (exec'd) with ``key=value`` in its environment."""
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    return f"\0{key}={value}\0".encode() in b"\0" + environ


def cgroup_containment_reason() -> str | None:
    """None when this machine contains children in cgroup v2, else why it does not."""
    from gaia._containment import containment

    current = containment()
    return None if current.kind == "cgroup" else current.reason


# A command that escapes every process-group and cookie based kill: the `sleep` leaves
# the group (setsid), drops GAIA_PROC_COOKIE (env -i) and is orphaned (its parents exit).
def escape_command(pidfile: object) -> str:
    inner = f"sleep 300 & echo \\$! > {pidfile}"
    return f"setsid sh -c 'env -i sh -c \"{inner}\"' &"
