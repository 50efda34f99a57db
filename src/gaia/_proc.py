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
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from gaia._cgroup import Cgroup
from gaia._containment import ContainmentError, contained_argv, new_leaf
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

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def _captures(self) -> list[OutputCapture]:
        return [c for c in (self.capture, self.error_capture) if c is not None]

    async def wait(self) -> int:
        """The exit status: the exit code, or minus the signal number that killed it."""
        if self.popen.returncode is not None:
            for capture in self._captures():
                capture.close()
            if self.cgroup is not None:
                self.cgroup.release_if_empty()
            return self.popen.returncode
        if self._exit is None:
            for capture in self._captures():
                capture.attach()
            self._exit = _watch_exit(self.popen)
        code = await asyncio.shield(self._exit)
        for capture in self._captures():
            capture.close()
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
        """Send ``signum`` to the group and strays, wait up to ``grace``, SIGKILL the rest.

        With a cgroup: to every member, and ``cgroup.kill`` for the rest.
        """
        # The cgroup is empty until the child's shell has moved itself in (~1 ms after
        # spawn), before the command starts: until then the group path stops it.
        if self.cgroup is not None and self.cgroup.populated():
            return await self._kill_cgroup(self.cgroup, grace, signum)
        others = strays(self.pid, self.cookie)
        self.signal_group(signum)
        signal_all(others, signum)
        deadline = time.monotonic() + grace
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait(), timeout=max(grace, 0))
        # The leader may exit at once while a member that ignores SIGTERM lives on.
        # Nothing signals the exit of a grandchild we are not the parent of: poll briefly.
        while time.monotonic() < deadline and (self.group_alive() or any_alive(others)):
            await asyncio.sleep(0.05)
        self.signal_group(signal.SIGKILL)
        signal_all(others, signal.SIGKILL)
        if self.cgroup is not None:  # it may have moved in since (and forked there)
            self.cgroup.kill()
        return await self.wait()

    async def _kill_cgroup(self, cgroup: Cgroup, grace: float, signum: int) -> int:
        self.signal_group(signum)
        cgroup.signal(signum)
        deadline = time.monotonic() + grace
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait(), timeout=max(grace, 0))
        await cgroup.wait_empty(deadline - time.monotonic())
        cgroup.kill()
        self.signal_group(signal.SIGKILL)
        code = await self.wait()
        # SIGKILL takes effect at once; only a process stuck in the kernel (D state) lingers.
        if await cgroup.wait_empty(_KILLED_SETTLE):
            cgroup.remove()
        return code

    async def reap_leftovers(self, grace: float) -> None:
        """After the leader exited: stop anything it left running in its group."""
        if not self.group_alive():
            return
        await self.kill_tree(grace)


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


class OutputCapture:
    """Copies a child's stdout and stderr from a pipe to a file created on first output.

    Creating a file costs a directory-locked metadata write (0.3-0.5 ms on some disks),
    more than starting a short process; an attempt that prints nothing creates nothing.
    """

    def __init__(
        self, path: Path, *, append: bool = False, max_bytes: int | None = None, backups: int = 3
    ) -> None:
        self.path = path
        self.bytes = 0
        self.append = append
        self.max_bytes = max_bytes  # rotate to path.1 .. path.<backups> beyond this size
        self.backups = backups
        self._size = 0
        self._read_fd, self.write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        self._file_fd: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def release_write_end(self) -> None:
        """Close our copy of the write end once the child holds it (any thread)."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def attach(self) -> None:
        """Start copying in the running event loop."""
        self.release_write_end()
        if self._read_fd >= 0 and self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._read_fd, self._pump)

    def _pump(self) -> None:
        while True:
            try:
                data = os.read(self._read_fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:  # every writer is gone
                self.close()
                return
            self._write(data)

    def _open(self) -> int:
        mode = os.O_APPEND if self.append else os.O_TRUNC
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | mode | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(fd).st_size
        return fd

    def _rotate(self) -> None:
        if self._file_fd is not None:
            os.close(self._file_fd)
            self._file_fd = None
        for index in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        if self.backups > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)

    def _write(self, data: bytes) -> None:
        if self._file_fd is None:
            self._file_fd = self._open()
        limit = self.max_bytes
        while limit and self._size + len(data) > limit:
            # Fill the file up to the limit, ending at a line break when there is one.
            room = max(limit - self._size, 0)
            cut = data.rfind(b"\n", 0, room) + 1 or (room if self._size == 0 else 0)
            if cut:
                self._append(data[:cut])
                data = data[cut:]
            self._rotate()
            self._file_fd = self._open()
        if data:
            self._append(data)

    def _append(self, data: bytes) -> None:
        assert self._file_fd is not None
        self._size += len(data)
        view = memoryview(data)
        while view:
            written = os.write(self._file_fd, view)
            view = view[written:]
        self.bytes += len(data)

    def close(self) -> None:
        """Drain what is buffered and stop; later writes by stray children are dropped."""
        self.release_write_end()
        if self._loop is not None:
            loop, self._loop = self._loop, None
            loop.remove_reader(self._read_fd)
        if self._read_fd >= 0:
            with contextlib.suppress(OSError):
                while data := os.read(self._read_fd, 65536):
                    self._write(data)
            os.close(self._read_fd)
            self._read_fd = -1
        if self._file_fd is not None:
            os.close(self._file_fd)
            self._file_fd = None


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
