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

RECHECK_SECONDS = 10.0
_NOTHING: Any = object()

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
    fetch: Callable[[], T],
    interval: float = POLL_INTERVAL,
    *,
    first: bool = True,
    generation: Callable[[], object] | None = None,
) -> AsyncIterator[T]:
    """``fetch()`` (run in a thread) each ``interval``; yield each value unlike the last.

    ``first``: yield the first value too (a page gets the state, then its changes).
    ``generation``: a cheap check (e.g. ``Database.generation``); while it returns the
    same value (not None) nothing changed, and ``fetch`` is not called, except once every
    ``RECHECK_SECONDS`` in case something changed that it cannot see.
    """
    previous: Any = _NOTHING
    seen: object = _NOTHING
    checked = 0.0
    loop = asyncio.get_running_loop()

    def step() -> Any:
        nonlocal seen, checked
        now = loop.time()
        if generation is not None:
            current = generation()
            if current is not None and current == seen and now - checked < RECHECK_SECONDS:
                return _NOTHING
            seen = current
        checked = now
        return fetch()

    started = False
    while True:
        value = await asyncio.to_thread(step)
        if value is not _NOTHING:
            if value != previous and (first or started):
                yield value
            previous, started = value, True
        await asyncio.sleep(interval)
