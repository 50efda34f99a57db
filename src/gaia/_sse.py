"""A Server-Sent Events parser that follows the WHATWG event-stream rules.

Lines end at CR, LF or CRLF; ``data`` fields of one event join with LF; a line that
starts with ``:`` is a comment (a keep-alive); an event is dispatched at a blank line,
and an event left unfinished when the stream ends is dropped. Splitting on LF alone
would let a bare CR in a log line start a line of its own, an event the server never
sent. Standard library only: `gaia service logs -f` imports it.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

__all__ = ["Event", "EventParser"]

_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    event: str
    data: str
    id: str | None = None


class EventParser:
    """Feed it the stream's bytes in chunks of any size; it returns whole events."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""  # the line read so far, its end not yet seen
        self._after_cr = False  # a CR ended the last chunk: an LF opening the next is its
        self._at_start = True
        self._event = ""
        self._data: list[str] = []
        self.last_event_id: str | None = None
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._at_start:
            text = text.removeprefix("\ufeff")
            self._at_start = False
        if self._after_cr and text.startswith("\n"):
            text = text[1:]
        self._after_cr = text.endswith("\r")
        *lines, self._partial = _LINE_END.split(self._partial + text)
        events: list[Event] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_event_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        data, kind = self._data, self._event or "message"
        self._data, self._event = [], ""
        if not data:
            return None
        return Event(event=kind, data="\n".join(data), id=self.last_event_id)
