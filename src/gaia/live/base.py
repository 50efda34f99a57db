"""What every watch shares: its type, parsing ``kind:argument``, polling for changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from gaia.runtime import Runtime

__all__ = ["POLL_INTERVAL", "LiveEvent", "Watch", "WatchError", "changes", "parse_watch"]

# Changes reach a page within this (the issue asks for a second); each poll is a small
# indexed query in a thread, so an idle page costs the daemon well under 1% of a core.
POLL_INTERVAL = 0.5

LiveEvent = tuple[str, Any]  # (SSE event name, JSON-able payload)
# A watch: the runtime and the text after ``kind:`` (may be ""), to its events, forever.
Watch = Callable[[Runtime, str], AsyncIterator[LiveEvent]]
T = TypeVar("T")


class WatchError(ValueError):
    """A watch that cannot be: unknown kind, or a missing or malformed argument."""


def parse_watch(spec: str, kinds: dict[str, Watch]) -> tuple[Watch, str]:
    kind, _, argument = spec.partition(":")
    if kind not in kinds:
        known = ", ".join(sorted(kinds))
        raise WatchError(f"unknown watch {kind!r} (known: {known})")
    return kinds[kind], argument


async def changes(
    fetch: Callable[[], T], interval: float = POLL_INTERVAL, *, first: bool = True
) -> AsyncIterator[T]:
    """``fetch()`` (run in a thread) each ``interval``; yield each value unlike the last.

    ``first``: yield the first value too (a page gets the state, then its changes).
    """
    previous: Any = object()
    started = False
    while True:
        value = await asyncio.to_thread(fetch)
        if value != previous and (first or started):
            yield value
        previous, started = value, True
        await asyncio.sleep(interval)
