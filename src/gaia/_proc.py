"""Child processes: spawned in their own process group, awaited, and killed as a tree.

Exits are awaited through a pidfd registered with the event loop (a thread blocked in
``waitpid`` where pidfds are missing), never polled. Every child gets an environment
cookie (``GAIA_PROC_COOKIE``) so that a stop can also find descendants that left the
process group (``setsid``, double forks): Jenkins' process-tree killer uses the same
trick. Stopping is SIGTERM to the group and the strays, a grace period, then SIGKILL.

Where the machine allows it, each child also gets a cgroup v2 leaf of its own (see
``gaia._containment``), which holds even a descendant that both left the group and dropped
the cookie (``setsid`` + ``env -i``); then the cgroup, not a sweep of every process's
environment, says who is left, and ``cgroup.kill`` ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from gaia._cgroup import Cgroup
from gaia._containment import ContainmentError, contained_argv, new_leaf
from gaia._output import OutputCapture
from gaia.errors import ProcessError

__all__ = [
    "COOKIE_ENV",
    "ProcessError",
    "ProcessHandle",
    "any_alive",
    "describe_exit",
    "find_by_cookie",
    "kill_cookie_holders",
    "kill_group",
    "signal_all",
    "spawn",
    "strays",
]

COOKIE_ENV = "GAIA_PROC_COOKIE"
_KILLED_SETTLE = 5.0  # how long killed members of a cgroup may take to be gone
_HAS_PIDFD = hasattr(os, "pidfd_open")


@dataclass
class ProcessHandle:
    """A running child: its pid (also its process group id) and its cookie."""

    pid: int
    cookie: str
    popen: subprocess.Popen[bytes]
    capture: OutputCapture | None = None
    error_capture: OutputCapture | None = None  # stderr, when kept apart from stdout
    started: float = field(default_factory=time.monotonic)
    cgroup: Cgroup | None = None  # the child's own cgroup v2 leaf, when contained
    _exit: asyncio.Future[int] | None = None
    _stopping: asyncio.Future[int] | None = None  # the stop under way (see kill_tree)
    _kill_at: float = math.inf  # when that stop turns to SIGKILL
    _hurry: asyncio.Event | None = None  # set when a later caller brought _kill_at forward

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _captures(self) -> list[OutputCapture]:
        return [c for c in (self.capture, self.error_capture) if c is not None]

    def _exit_future(self) -> asyncio.Future[int]:
        if self._exit is None:
            for capture in self._captures():
                capture.attach()
            self._exit = _watch_exit(self.popen)
        return self._exit

    async def wait(self) -> int:
        """The exit status: the exit code, or minus the signal number that killed it.

        Everything the child wrote is in its log by then. Members of its tree that are
        still running (a shell's children shutting down) go on writing to the log until
        they exit too, or until ``kill_tree``/``reap_leftovers`` has stopped them.
        """
        if self.popen.returncode is None:
            code = await asyncio.shield(self._exit_future())
        else:
            code = self.popen.returncode
        for capture in self._captures():
            capture.attach()
            capture.drain()
        if self.cgroup is not None:
            self.cgroup.release_if_empty()
        return code

    def group_alive(self) -> bool:
        """Whether anything but zombies is left in the child's process group (or cgroup)."""
        if self.cgroup is not None and self.cgroup.populated():
            return True
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # Something is there, maybe only zombies: members orphaned when the leader died
        # wait for PID 1 to reap them, and an init that does not (a container without
        # one) would make every stop wait out its whole grace period.
        return _live_member(self.pid)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    async def kill_tree(self, grace: float, signum: int = signal.SIGTERM) -> int:
        """Stop the whole tree: ``signum`` once to each of its processes, up to ``grace``
        for all of them to exit, then SIGKILL (and ``cgroup.kill``) for what is left.

        A call while a stop is under way (a stop request racing a health restart, the
        keeper reaping what the leader left) joins it instead of signalling again: a
        program that counts SIGTERMs (a second one often means "stop now, skip the
        clean shutdown") gets one. A shorter ``grace`` brings the SIGKILL forward.
        """
        kill_at = time.monotonic() + max(grace, 0.0)
        if self._stopping is None:
            self._kill_at = kill_at
            self._hurry = asyncio.Event()
            self._stopping = asyncio.ensure_future(self._stop_tree(signum))
        elif kill_at < self._kill_at:
            self._kill_at = kill_at
            if self._hurry is not None:
                self._hurry.set()
        return await asyncio.shield(self._stopping)

    async def _stop_tree(self, signum: int) -> int:
        others = self._signal_once(signum)
        await self._grace(others)
        self.signal_group(signal.SIGKILL)
        signal_all(others, signal.SIGKILL)
        if self.cgroup is not None:  # it may have moved in since (and forked there)
            self.cgroup.kill()
        code = await self.wait()
        # SIGKILL takes effect at once; only a process stuck in the kernel (D state) lingers.
        if self.cgroup is not None and await self.cgroup.wait_empty(_KILLED_SETTLE):
            self.cgroup.remove()
        self._close_output()
        return code

    def _signal_once(self, signum: int) -> list[psutil.Process]:
        """Send ``signum`` to every process of the tree once; return those that left the
        process group (they are signalled and waited for one by one)."""
        # The cgroup is empty until the child's shell has moved itself in (~1 ms after
        # spawn), before the command starts: until then the group path stops it. Once
        # in, every process of the group is in the cgroup too (forks inherit it).
        if self.cgroup is not None and self.cgroup.populated():
            self.cgroup.signal(signum)
            return []
        # The group's members are in the cookie sweep and the tree as well: killpg
        # signals them, the rest one by one.
        others = [proc for proc in strays(self.pid, self.cookie) if _pgid(proc.pid) != self.pid]
        self.signal_group(signum)
        signal_all(others, signum)
        return others

    async def _grace(self, others: list[psutil.Process]) -> None:
        """Until the whole tree has exited, or the time to kill it has come."""
        assert self._hurry is not None
        while (left := self._kill_at - time.monotonic()) > 0:
            if self.popen.returncode is None:
                self._hurry.clear()
                hurry: asyncio.Future[Any] = asyncio.ensure_future(self._hurry.wait())
                try:
                    await asyncio.wait(
                        {self._exit_future(), hurry},
                        timeout=left,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    hurry.cancel()
            elif self.cgroup is not None and self.cgroup.populated():
                await self.cgroup.wait_empty(min(left, 0.25))
            elif self.group_alive() or any_alive(others):
                # The leader has exited while a member lives on; nothing signals the exit
                # of a grandchild we are not the parent of: poll briefly.
                await asyncio.sleep(min(left, 0.05))
            else:
                return

    def _close_output(self) -> None:
        for capture in self._captures():
            capture.close()

    async def reap_leftovers(self, grace: float) -> None:
        """After the leader exited: stop anything it left running in its group, and
        finish its log once nothing of the tree can write to it any more."""
        if self._stopping is None and not self.group_alive():
            self._close_output()
            return
        await self.kill_tree(grace)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _live_member(pgid: int) -> bool:
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                return True
        except (OSError, psutil.Error):
            continue
    return False


def _watch_exit(popen: subprocess.Popen[bytes]) -> asyncio.Future[int]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()

    def finish() -> None:
        if not future.done():
            future.set_result(popen.wait())

    if _HAS_PIDFD:
        try:
            pidfd = os.pidfd_open(popen.pid)
        except OSError:
            pidfd = -1
        if pidfd >= 0:

            def on_readable() -> None:
                loop.remove_reader(pidfd)
                os.close(pidfd)
                finish()

            loop.add_reader(pidfd, on_readable)
            return future
    waiter = loop.run_in_executor(None, popen.wait)
    waiter.add_done_callback(lambda _f: finish())
    return future


def spawn(
    argv: Sequence[str],
    *,
    cookie: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    output: Path | None = None,
    append: bool = False,
    max_bytes: int | None = None,
    backups: int = 3,
    error_output: Path | None = None,
) -> ProcessHandle:
    """Start ``argv`` in a new session (so it leads its own process group).

    Safe to call from a worker thread; output capture starts at the first ``wait()``.

    ``output`` is the file that receives stdout and stderr (created 0600 when the child
    first writes; appended to with ``append``; rotated beyond ``max_bytes``), or None to
    discard them. Standard input is always /dev/null. With ``error_output`` stderr goes
    to that file instead, so that ``output`` holds nothing but stdout.
    """
    child_env = dict(os.environ if env is None else env)
    child_env[COOKIE_ENV] = cookie
    try:
        leaf = new_leaf(cookie)
    except ContainmentError as exc:
        raise ProcessError(str(exc)) from exc
    try:
        command = list(argv) if leaf is None else contained_argv(argv, leaf, child_env, cwd)
    except OSError as exc:
        if leaf is not None:
            leaf.remove()
        raise ProcessError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
    capture = (
        OutputCapture(output, append=append, max_bytes=max_bytes, backups=backups)
        if output is not None
        else None
    )
    error_capture = OutputCapture(error_output) if error_output is not None else None
    sink = capture.write_fd if capture is not None else subprocess.DEVNULL
    error_sink: int = subprocess.STDOUT if capture is not None else subprocess.DEVNULL
    if error_capture is not None:
        error_sink = error_capture.write_fd
    try:
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=error_sink,
            cwd=cwd,
            env=child_env,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        for opened in (capture, error_capture):
            if opened is not None:
                opened.close()
        if leaf is not None:
            leaf.remove()
        if cwd is not None and exc.filename in (str(cwd), cwd) and not cwd.is_dir():
            raise ProcessError(f"working directory {cwd} does not exist") from exc
        raise ProcessError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
    for opened in (capture, error_capture):
        if opened is not None:
            opened.release_write_end()
    return ProcessHandle(
        pid=popen.pid,
        cookie=cookie,
        popen=popen,
        capture=capture,
        error_capture=error_capture,
        cgroup=leaf,
    )


def describe_exit(code: int) -> str:
    """``exited with status 3`` or ``killed by SIGTERM``, from a wait status."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with status {code}"


def find_by_cookie(cookie: str, *, prefix: bool = False) -> list[psutil.Process]:
    """Every process of ours whose environment carries ``cookie`` (or a cookie it begins)."""
    found = []
    me = os.getpid()
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            value = proc.environ().get(COOKIE_ENV)
            if value == cookie or (prefix and value is not None and value.startswith(cookie)):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def strays(pid: int, cookie: str) -> list[psutil.Process]:
    """The processes of ``pid``'s tree and cookie, other than ``pid`` itself."""
    found = {p.pid: p for p in find_by_cookie(cookie)}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            found.setdefault(child.pid, child)
    found.pop(pid, None)
    return list(found.values())


def signal_all(procs: Sequence[psutil.Process], signum: int) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signum)


def any_alive(procs: Sequence[psutil.Process]) -> bool:
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except psutil.Error:
            continue
    return False


def kill_cookie_holders(cookie_prefix: str) -> int:
    """SIGKILL every process whose cookie begins with ``cookie_prefix``.

    Used when the process that owned those children died without stopping them.
    """
    procs = find_by_cookie(cookie_prefix, prefix=True)
    signal_all(procs, signal.SIGKILL)
    return len(procs)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid``, if anything in it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
