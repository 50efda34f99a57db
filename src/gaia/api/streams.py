"""Every ``text/event-stream`` the API serves, framed by sse-starlette.

One framing for all streams: sse-starlette splits a ``data`` value at CR, LF and CRLF
into ``data:`` lines, so text that a task or service prints (a bare ``\\r`` included)
can never end an event or start another. It also sends keep-alive comments and ends
the stream's generator when the client goes away.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

__all__ = ["KEEP_ALIVE_SECONDS", "LineSplitter", "end_event", "event_stream", "log_event"]

KEEP_ALIVE_SECONDS = 5.0  # a comment this often lets the server notice a gone client
# How long a stream may take to send its last event once uvicorn is stopping.
SHUTDOWN_GRACE_SECONDS = 2.0


def log_event(line: str) -> ServerSentEvent:
    return ServerSentEvent(data=line, event="log", sep="\n")


def end_event(payload: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(payload), event="end", sep="\n")


def event_stream(events: AsyncIterator[ServerSentEvent], shutdown: anyio.Event) -> Any:
    """The response for a stream; ``shutdown`` is set when the server begins to stop."""
    return EventSourceResponse(
        events,
        ping=KEEP_ALIVE_SECONDS,
        sep="\n",
        headers={"Cache-Control": "no-cache"},
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )


class LineSplitter:
    """Text arriving in chunks, handed on a whole line at a time (a chunk may end mid-line)."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        *lines, self._partial = (self._partial + text).split("\n")
        return [line.removesuffix("\r") for line in lines]

    @classmethod
    def whole(cls, text: str) -> list[str]:
        """The lines of a text read at once, the last one even without its newline."""
        splitter = cls()
        lines = splitter.feed(text)
        return [*lines, rest] if (rest := splitter.rest()) else lines

    def rest(self) -> str:
        rest, self._partial = self._partial, ""
        return rest
