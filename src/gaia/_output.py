"""A child's output: copied from a pipe to a log file, for as long as anyone writes to it.

The pipe is read in the event loop until its last writer is gone (EOF), not until the
child we started exits: a shell's children that are still shutting down (or a program's
workers) keep writing after the leader has exited, and closing our end first would give
them a broken pipe (EPIPE / SIGPIPE) instead of a clean shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

__all__ = ["OutputCapture"]


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

    @property
    def closed(self) -> bool:
        return self._read_fd < 0

    def drain(self) -> None:
        """Copy what is in the pipe now; stop once every writer is gone (EOF).

        While a writer is left (a child still shutting down), the capture stays
        attached and goes on copying until that one exits too, or ``close()``.
        """
        if self._read_fd >= 0:
            self._pump()

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
        """Drain what is buffered and stop; later writes by stray children are dropped.

        Called once the process tree is gone (or at EOF): a writer still alive then is
        an escapee that left the tree and keeps our pipe.
        """
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
