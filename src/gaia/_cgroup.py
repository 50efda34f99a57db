"""One cgroup v2 leaf: who is in it, signalling and killing them all, waiting until empty.

Containment policy (whether gaia uses cgroups, and where) is ``gaia._containment``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import time
from pathlib import Path

__all__ = ["Cgroup"]


class Cgroup:
    """One leaf cgroup: the processes of one task attempt or service run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Cgroup({str(self.path)!r})"

    @property
    def procs_file(self) -> Path:
        return self.path / "cgroup.procs"

    def populated(self) -> bool:
        """Whether a live process is in this cgroup or below (zombies do not count)."""
        try:
            events = (self.path / "cgroup.events").read_text()
        except OSError:
            return False  # removed: nothing can be in it
        return "populated 1" in events

    def pids(self) -> list[int]:
        """Every member's pid, in this leaf and in any cgroups below it."""
        # Almost always a plain leaf: one read, not a walk of its ~30 files (the
        # metrics sampler asks this of a thousand services at a time).
        try:
            stat = (self.path / "cgroup.stat").read_text()
            if "nr_descendants 0\n" in stat:
                return [int(p) for p in self.procs_file.read_text().split()]
        except OSError:
            return []  # removed: nothing is in it
        found: list[int] = []
        for directory, _subdirs, _files in os.walk(self.path):
            with contextlib.suppress(OSError):
                found.extend(int(p) for p in Path(directory, "cgroup.procs").read_text().split())
        return found

    def signal(self, signum: int) -> None:
        """Send ``signum`` to every member (the leaf and any cgroups below it)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)

    def kill(self) -> None:
        """SIGKILL every member at once, forks racing the kill included."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / "cgroup.kill").write_text("1")

    async def wait_empty(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the last member to exit; whether it did.

        ``cgroup.events`` changes when the cgroup empties, and inotify says so: no
        polling, unless inotify is unavailable.
        """
        if not self.populated():
            return True
        deadline = time.monotonic() + max(timeout, 0.0)
        watch = _Inotify.open(self.path / "cgroup.events")
        try:
            while self.populated():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if watch is None:
                    await asyncio.sleep(min(0.05, remaining))
                else:
                    await watch.changed(remaining)
            return True
        finally:
            if watch is not None:
                watch.close()

    def remove(self) -> bool:
        """Remove the leaf (and any cgroups a nested gaia made below it) if empty."""
        if self._rmdir():
            return True
        for directory, _subdirs, _files in os.walk(self.path, topdown=False):
            try:
                Path(directory).rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                return False
        return True

    def release_if_empty(self) -> None:
        # One rmdir settles the usual case (an empty leaf); it fails while a process
        # is in it, or a nested gaia's cgroups are below it.
        if not self._rmdir() and not self.populated():
            self.remove()

    def _rmdir(self) -> bool:
        try:
            self.path.rmdir()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        return True


class _Inotify:
    """An inotify descriptor watching one file for modification, awaited in the loop."""

    _IN_MODIFY = 0x2
    _libc: ctypes.CDLL | None = None

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self._readable)

    @classmethod
    def open(cls, path: Path) -> _Inotify | None:
        try:
            if cls._libc is None:
                cls._libc = ctypes.CDLL(None, use_errno=True)
            fd = cls._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        if cls._libc.inotify_add_watch(fd, os.fsencode(path), cls._IN_MODIFY) < 0:
            os.close(fd)
            return None
        return cls(fd)

    def _readable(self) -> None:
        with contextlib.suppress(OSError):
            while os.read(self.fd, 4096):
                pass
        self._event.set()

    async def changed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    def close(self) -> None:
        self._loop.remove_reader(self.fd)
        os.close(self.fd)
