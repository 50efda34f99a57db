"""Following an agent task's output files (stdout, its log; stderr) as they are written.

Each read returns only what was appended since the last one, decoded as UTF-8 without
splitting a character between reads. A page opened on a long log gets its last
``FIRST_READ`` bytes (and how many it skipped) rather than all of it.

An agent CLI's stdout is often a JSONL event stream (Claude Code, Gemini CLI, Codex):
each whole JSON line of stdout is also said in a few words (``events``), so that a page
can show what the agent does rather than its raw protocol.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path

from gaia.agents.events import describe_event

__all__ = ["FIRST_READ", "OutputFollower"]

FIRST_READ = 512 * 1024  # the tail a page gets when it opens on a long log
CHUNK = 256 * 1024  # at most this much per stream per poll: a flood cannot stall the stream


@dataclass
class _Stream:
    name: str
    offset: int = -1  # -1: not read yet
    partial: str = ""  # the start of a line not ended yet (stdout's events)
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
                if path.stat().st_size == stream.offset:
                    continue  # nothing new: a stat, no open
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
            except OSError:  # not there yet, or gone
                continue
            stream.offset += len(data)
            text = stream.decoder.decode(data)
            if text or skipped:
                chunk: dict[str, object] = {"stream": name, "text": text, "skipped": skipped}
                if name == "stdout":
                    chunk["events"] = self._events(stream, text, first=bool(skipped))
                chunks.append(chunk)
        return chunks

    @staticmethod
    def _events(stream: _Stream, text: str, *, first: bool) -> list[str]:
        """What the whole JSON lines of ``text`` say, in a few words each."""
        lines = (stream.partial + text).split("\n")
        stream.partial = lines.pop()
        if first and lines:
            lines.pop(0)  # a tail starts in the middle of a line
        if len(stream.partial) > CHUNK:
            stream.partial = ""  # no line is that long: not JSONL
        said = []
        for line in lines:
            if line.lstrip().startswith("{"):
                described = describe_event(line)
                if described is not None:
                    said.append(described)
        return said

    def pending(self, paths: dict[str, Path]) -> bool:
        """Whether a file holds more than was read (a flood being caught up with)."""
        for name, path in paths.items():
            try:
                if path.stat().st_size > self.streams[name].offset >= 0:
                    return True
            except OSError:
                continue
        return False
