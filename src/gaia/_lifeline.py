"""Children that die with this process, however it dies (SIGKILL included).

A task that outlives the gaia process running it finishes its side effects unrecorded,
and ``resume`` then runs it again. ``PR_SET_PDEATHSIG`` would need code between fork
and exec: a ``preexec_fn`` makes every spawn fork instead of vfork (3 ms more here), is
unsafe with threads, and reaches only the group leader, not what it started.

Instead one watchdog process per gaia process (started on first use, ~15 ms once) reads
a pipe whose only write end we hold. We tell it each cookie before spawning and each
process group once it exists, and take them back when the task is over. When this
process dies the kernel closes the write end; the watchdog reads EOF and SIGKILLs every
group still registered, then every process carrying a registered cookie (descendants
that left the group, or a child forked a moment before we died), until none is left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

from gaia._proc import COOKIE_ENV

__all__ = ["Tether", "tethered"]

log = logging.getLogger("gaia.proc")

# Runs with -I -S (no site, no imports of ours): it must start fast and depend on nothing.
_WATCHDOG = r"""
import os, signal, sys, time
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups, cookies = {}, {}
for line in sys.stdin.buffer:
    op, _, rest = line.rstrip(b"\n").partition(b" ")
    if op == b"c":
        cookies[rest] = cookies.get(rest, 0) + 1
    elif op == b"u":
        if cookies.get(rest, 0) <= 1:
            cookies.pop(rest, None)
        else:
            cookies[rest] -= 1
    elif op == b"g":
        groups[int(rest)] = True
    elif op == b"r":
        groups.pop(int(rest), None)
# EOF: our owner is gone. Kill what it left, then sweep by cookie until nothing is left.
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
wanted = {b"%s=%s" % (os.environ.get("GAIA_COOKIE_NAME", "").encode(), c) for c in cookies}
me = os.getpid()
for _ in range(20):
    killed = 0
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if wanted.intersection(env):
            try:
                os.kill(int(name), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    if not killed:
        break
    time.sleep(0.02)
"""


class _Watchdog:
    """The one watchdog of this process, restarted if it ever dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0
        self._groups: set[int] = set()
        self._cookies: dict[str, int] = {}

    def send(self, op: str, value: str) -> None:
        with self._lock:
            if op == "c":
                self._cookies[value] = self._cookies.get(value, 0) + 1
            elif op == "u":
                self._cookies[value] -= 1
                if not self._cookies[value]:
                    del self._cookies[value]
            elif op == "g":
                self._groups.add(int(value))
            else:
                self._groups.discard(int(value))
            line = f"{op} {value}\n".encode()
            try:
                self._write(line)
            except OSError as exc:  # it died: a new one gets the whole registry
                log.warning("task watchdog lost (%s); starting another", exc)
                self._proc = None
                with contextlib.suppress(OSError):
                    self._write(self._registry())

    def _registry(self) -> bytes:
        lines = [f"c {cookie}\n" for cookie, n in self._cookies.items() for _ in range(n)]
        lines += [f"g {pgid}\n" for pgid in self._groups]
        return "".join(lines).encode()

    def _write(self, data: bytes) -> None:
        if self._proc is None or self._owner_pid != os.getpid():
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(data)
        self._proc.stdin.flush()

    def _start(self) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GAIA_COOKIE_NAME": COOKIE_ENV}
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _WATCHDOG],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C to our terminal must not reach it first
            close_fds=True,
        )
        self._owner_pid = os.getpid()


_WATCHDOG_PROC = _Watchdog()


class Tether:
    """What one spawn registered with the watchdog."""

    def __init__(self, cookie: str) -> None:
        self.cookie = cookie
        self.pgid: int | None = None

    def group(self, pgid: int) -> None:
        """The child's process group exists: the watchdog kills it if we die."""
        self.pgid = pgid
        _WATCHDOG_PROC.send("g", str(pgid))


@contextlib.contextmanager
def tethered(cookie: str) -> Iterator[Tether]:
    """Register ``cookie`` (and then its group) for as long as the block runs.

    Leave the block only once the child's group is gone: its id may be reused after.
    """
    if any(ch.isspace() for ch in cookie):
        raise ValueError(f"a cookie has no white space: {cookie!r}")
    _WATCHDOG_PROC.send("c", cookie)
    tether = Tether(cookie)
    try:
        yield tether
    finally:
        if tether.pgid is not None:
            _WATCHDOG_PROC.send("r", str(tether.pgid))
        _WATCHDOG_PROC.send("u", cookie)
