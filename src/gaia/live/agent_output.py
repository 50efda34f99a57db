"""Following an agent task's output files (stdout, its log; stderr) as they are written.

Each read returns only what was appended since the last one, decoded as UTF-8 without
splitting a character between reads. A page opened on a long log gets its last
``FIRST_READ`` bytes (and how many it skipped) rather than all of it.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FIRST_READ", "OutputFollower"]

FIRST_READ = 512 * 1024  # the tail a page gets when it opens on a long log
CHUNK = 256 * 1024  # at most this much per stream per poll: a flood cannot stall the stream


@dataclass
class _Stream:
    name: str
    offset: int = -1  # -1: not read yet
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )


class OutputFollower:
    """Reads the new text of a task's stdout and stderr files (blocking: use a thread)."""

    def __init__(self) -> None:
        self.streams = {"stdout": _Stream("stdout"), "stderr": _Stream("stderr")}

    def read(self, paths: dict[str, Path]) -> list[dict[str, object]]:
        """``[{"stream", "text", "skipped"}]`` for each stream with new text."""
        chunks: list[dict[str, object]] = []
        for name, path in paths.items():
            stream = self.streams[name]
            try:
                with path.open("rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    skipped = 0
                    if stream.offset < 0:
                        stream.offset = max(0, size - FIRST_READ)
                        skipped = stream.offset
                    elif size < stream.offset:  # rewritten from the start (a rerun)
                        stream.offset = 0
                    if size == stream.offset:
                        continue
                    handle.seek(stream.offset)
                    data = handle.read(min(CHUNK, size - stream.offset))
            except (FileNotFoundError, IsADirectoryError, PermissionError):
                continue
            stream.offset += len(data)
            text = stream.decoder.decode(data)
            if text or skipped:
                chunks.append({"stream": name, "text": text, "skipped": skipped})
        return chunks

    def pending(self, paths: dict[str, Path]) -> bool:
        """Whether a file holds more than was read (a flood being caught up with)."""
        for name, path in paths.items():
            try:
                if path.stat().st_size > self.streams[name].offset >= 0:
                    return True
            except OSError:
                continue
        return False
