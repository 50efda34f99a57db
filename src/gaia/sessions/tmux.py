"""The tmux driver: every tmux call gaia makes goes through ``TmuxDriver``.

gaia talks to its own tmux server (``tmux -L <tmux_socket>``), never the user's default
one. A call may carry several tmux commands separated by ``;``: tmux runs such a list in
one client round trip and in order, without interleaving another client's commands, which
is what makes gaia's session creation fast and its keystrokes atomic per request.

The real driver runs the tmux binary directly (one process per call, no library between)
and turns tmux's complaints into gaia errors here.
"""

from __future__ import annotations

import functools
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from gaia.errors import (
    ConflictError,
    NoServerError,
    NotFoundError,
    SessionError,
    TmuxUnavailableError,
)

__all__ = [
    "FIELD_SEPARATOR",
    "MIN_TMUX_VERSION",
    "CliDriver",
    "NoServerError",
    "TmuxDriver",
    "check_tmux",
    "escape_format",
    "execute_batched",
    "quote_argument",
]

MIN_TMUX_VERSION = (3, 2)
# Between fields of a -F format: a control character that names and paths do not contain.
FIELD_SEPARATOR = "\x1f"
Command = Sequence[str]

_INSTALL_HINT = (
    "install tmux 3.2 or newer (Debian/Ubuntu: 'apt install tmux', Fedora: 'dnf install tmux', "
    "macOS: 'brew install tmux')"
)
_NO_SERVER = re.compile(r"no server running|error connecting to|server exited")
_MISSING_TARGET = re.compile(r"can't find (session|window|pane)|no such (session|window|pane)")


class TmuxDriver(Protocol):
    """Runs tmux commands on one tmux server."""

    socket_name: str
    binary: str

    def execute(self, *commands: Command, private: bool = False) -> list[str]:
        """Run the commands in one tmux call; return their combined output lines.

        ``private``: the commands carry values no other local user may see (environment
        values), so they must not appear on any process's command line.
        """
        ...

    def wait_for(
        self, channel: str, timeout: float, stop: Callable[[], bool] | None = None
    ) -> bool:
        """Block until ``channel`` is signalled (True), or ``timeout`` seconds pass or
        ``stop()`` (asked a few times a second) answers True (False)."""
        ...

    def socket_path(self) -> str: ...

    def attach_argv(self, target: str) -> list[str]: ...


@functools.cache
def check_tmux() -> str:
    """The path of a usable tmux binary, or a TmuxUnavailableError saying how to get one."""
    binary = shutil.which("tmux")
    if binary is None:
        raise TmuxUnavailableError(f"tmux is not installed (not found on PATH); {_INSTALL_HINT}")
    try:
        out = subprocess.run(
            [binary, "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TmuxUnavailableError(f"cannot run {binary}: {exc}; {_INSTALL_HINT}") from None
    match = re.search(r"(\d+)\.(\d+)", out)
    if match is None:
        # "tmux master" / "tmux next-3.5" builds: assume new enough.
        if "master" in out or "next" in out:
            return binary
        raise TmuxUnavailableError(f"cannot tell the version of {binary} ({out.strip()!r})")
    version = (int(match.group(1)), int(match.group(2)))
    if version < MIN_TMUX_VERSION:
        raise TmuxUnavailableError(
            f"tmux {out.strip().removeprefix('tmux ')} at {binary} is too old; {_INSTALL_HINT}"
        )
    return binary


# tmux refuses a client message over ~16 KiB ("command too long").
_BATCH_BYTES = 8000
_STOP_POLL = 0.2  # seconds between looks at a wait's stop()


def execute_batched(driver: TmuxDriver, groups: Sequence[Sequence[Command]]) -> None:
    """Run groups of commands in as few calls as fit tmux's message size.

    A group is never split, so the keystrokes of one pane stay in one command list.
    """
    batch: list[Command] = []
    size = 0
    for group in groups:
        length = sum(len(a.encode()) + 1 for command in group for a in command)
        if batch and size + length > _BATCH_BYTES:
            driver.execute(*batch)
            batch, size = [], 0
        batch.extend(group)
        size += length
    if batch:
        driver.execute(*batch)


def escape_format(value: str) -> str:
    """tmux expands formats in names and directories: '#' must be written '##'."""
    return value.replace("#", "##")


def _escape_argument(value: str) -> str:
    # tmux treats an argument ending in ';' as a command separator; '\;' is a literal ';'.
    return value[:-1] + "\\;" if value.endswith(";") else value


# What a single-quoted tmux argument cannot hold (the quote itself), and control
# characters, escaped so that a command list stays one line of plain text whatever it holds.
_UNQUOTABLE = re.compile(r"['\x00-\x1f\x7f]+")


def quote_argument(value: str) -> str:
    """``value`` as one argument of a command in a tmux configuration file.

    Single quotes keep everything literal ($, ~, #, backslashes, ;); what they cannot hold
    goes in an adjacent double-quoted part with octal escapes, which tmux joins into the
    same argument.
    """
    parts: list[str] = []
    position = 0
    for match in _UNQUOTABLE.finditer(value):
        if match.start() > position:
            parts.append(f"'{value[position : match.start()]}'")
        escaped = "".join(c if c == "'" else f"\\{ord(c):03o}" for c in match.group())
        parts.append(f'"{escaped}"')
        position = match.end()
    if position < len(value) or not parts:
        parts.append(f"'{value[position:]}'")
    return "".join(parts)


class CliDriver:
    """The real driver: the tmux binary on the socket ``socket_name``."""

    def __init__(self, socket_name: str) -> None:
        self.binary = check_tmux()
        self.socket_name = socket_name

    def execute(self, *commands: Command, private: bool = False) -> list[str]:
        if private:
            return self._execute_private(commands)
        args: list[str] = []
        for command in commands:
            if args:
                args.append(";")
            args.extend(_escape_argument(str(a)) for a in command)
        return self._run(args, commands)

    def _execute_private(self, commands: Sequence[Command]) -> list[str]:
        # Every local user can read any process's argv in /proc, and a tmux server keeps
        # the argv of the client that started it for life. So the commands go in a file
        # only we can read (mkstemp makes it 0600) that the tmux client reads and hands to
        # the server, and only its path is on a command line. One line with ';' between
        # commands keeps the command-line semantics: an error skips the rest of the list.
        fd, path = tempfile.mkstemp(prefix="gaia-tmux-", suffix=".conf")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(
                    " ; ".join(" ".join(quote_argument(str(a)) for a in c) for c in commands) + "\n"
                )
            # start-server: unlike new-session, source-file does not start a server.
            return self._run(["start-server", ";", "source-file", path], commands)
        finally:
            Path(path).unlink()  # read by now: the values stay on disk no longer than needed

    def _run(self, args: list[str], commands: Sequence[Command]) -> list[str]:
        try:
            result = subprocess.run(
                # "tmux" looked up on PATH at each call, as a shell would
                ["tmux", "-L", self.socket_name, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="backslashreplace",
                check=False,
            )
        except FileNotFoundError:
            check_tmux.cache_clear()
            raise TmuxUnavailableError(f"tmux is not installed; {_INSTALL_HINT}") from None
        except OSError as exc:
            raise SessionError(f"tmux failed: {exc}") from None
        if result.returncode != 0:
            stderr = [line for line in result.stderr.split("\n") if line]
            message = "; ".join(stderr) or f"exit status {result.returncode}"
            if "duplicate session" in message:
                raise ConflictError(f"tmux session {message.split(':', 1)[-1].strip()!r} exists")
            if _NO_SERVER.search(message):
                raise NoServerError.tmux(self.socket_name)
            found = _MISSING_TARGET.search(message)
            if found:
                raise NotFoundError(f"tmux {found.group(1) or found.group(2)} not found: {message}")
            raise SessionError(f"tmux {commands[0][0]}: {message}")
        lines = result.stdout.split("\n")  # not splitlines(): panes may show \x1c, \x85...
        while lines and lines[-1] == "":
            lines.pop()
        return lines

    def wait_for(
        self, channel: str, timeout: float, stop: Callable[[], bool] | None = None
    ) -> bool:
        # One client waits throughout. Restarting it to look at stop() between waits
        # could lose the signal: tmux hands it to the waiting client, and one killed at
        # that moment takes it along.
        # Its stdout reaches end-of-file when it exits: select() wakes on that at once,
        # where Popen.wait(timeout) would poll.
        argv = [self.binary, "-L", self.socket_name, "wait-for", channel]
        client = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert client.stdout is not None
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = max(0.0, deadline - time.monotonic())
                step = remaining if stop is None else min(remaining, _STOP_POLL)
                if select.select([client.stdout], [], [], step)[0]:
                    client.wait()
                    return True
                if step >= remaining or (stop is not None and stop()):
                    return False
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            client.stdout.close()

    def socket_path(self) -> str:
        # Where tmux itself puts a -L socket; valid before the server starts.
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"  # noqa: S108 - tmux's own default
        return str(Path(base) / f"tmux-{os.getuid()}" / self.socket_name)

    def attach_argv(self, target: str) -> list[str]:
        return [self.binary, "-L", self.socket_name, "attach-session", "-t", target]


if __name__ == "__main__":  # `python -m gaia.sessions.tmux`: the check `make` runs
    import sys

    try:
        print(f"tmux: {check_tmux()}")
    except TmuxUnavailableError as exc:
        sys.exit(str(exc))
