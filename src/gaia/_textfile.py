"""Reading a definition file (workflow, service, layout, template, config.toml) safely.

A path can name a FIFO that nobody writes to (``open`` blocks forever), a device that
never ends (``/dev/zero``), a directory, or a file that is huge or not UTF-8. Every
loader reads through ``read_text_file``, which refuses each of these at once with a
``Problem`` saying what is wrong and where.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gaia.errors import Problem

__all__ = ["MAX_DEFINITION_BYTES", "TextFileError", "decode_text", "read_text_file"]

MAX_DEFINITION_BYTES = 1_048_576  # 1 MiB: far beyond any definition written by hand

_BOM = b"\xef\xbb\xbf"
_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class TextFileError(Exception):
    """The file cannot be read as text; ``problem`` says why (and where, when it can)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_text_file(
    path: Path, what: str, *, source: str | None = None, limit: int = MAX_DEFINITION_BYTES
) -> str:
    """The UTF-8 text of the regular file ``path`` (a BOM dropped), at most ``limit``
    bytes. ``what`` names the kind of file ("workflow file"), ``source`` the file itself
    in messages (default: ``path`` as given)."""
    source = source or str(path)

    def refuse(reason: str) -> TextFileError:
        return TextFileError(Problem(f"cannot read {what}: {reason}", source=source))

    try:
        # Checked before opening: opening a FIFO for reading blocks until a writer comes.
        kind = stat.S_IFMT(path.stat().st_mode)
        if kind != stat.S_IFREG:
            raise refuse(f"it is {_KINDS.get(kind, 'a special file')}, not a regular file")
        # O_NONBLOCK: if the path became a FIFO since the stat, open returns at once.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise refuse(str(exc.strerror or exc)) from None
    with os.fdopen(fd, "rb") as handle:
        kind = stat.S_IFMT(os.fstat(fd).st_mode)
        if kind != stat.S_IFREG:
            raise refuse(f"it is {_KINDS.get(kind, 'a special file')}, not a regular file")
        try:
            data = handle.read(limit + 1)
        except OSError as exc:
            raise refuse(str(exc.strerror or exc)) from None
    if len(data) > limit:
        raise refuse(f"it is larger than {limit} bytes")
    return decode_text(data, source)


def decode_text(data: bytes, source: str) -> str:
    """``data`` as UTF-8 without a BOM; the first byte that is not UTF-8 is located."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, line_start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise TextFileError(
            Problem(
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
                source=source,
                line=line,
                column=column,
                hint="save the file as UTF-8",
            )
        ) from None
