"""Requests that wait for something end when the daemon is asked to stop.

uvicorn stops by waiting for open requests to finish (up to its graceful-shutdown
limit) before the application's own shutdown runs. A request that waits on work which
only that shutdown ends (an agent task, a followed log) would hold the stop until the
limit, and its client would then get a bare 500. ``Runtime.begin_stop`` is called from
the stop signal instead; these helpers let a waiting request notice it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any

from gaia.api.streams import end_event
from gaia.errors import StoppingError

__all__ = ["STOPPING_EVENT", "wait_unless_stopping"]

_STOP_POLL = 0.2  # seconds between looks at the stop flag
# How a followed log (Server-Sent Events) ends when the daemon stops.
STOPPING_EVENT = end_event({"reason": "the gaia daemon is stopping"})


async def _stopped(stopping: threading.Event) -> None:
    # A threading.Event: it is set from a signal handler, outside any event loop.
    while not stopping.is_set():  # noqa: ASYNC110
        await asyncio.sleep(_STOP_POLL)


async def wait_unless_stopping(
    awaitables: list[Awaitable[Any]], stopping: threading.Event, message: str
) -> None:
    """Await ``awaitables``; raise StoppingError(``message``) if the daemon stops first.

    The awaitables are shielded: giving up on them does not cancel the work. The first
    exception one of them raised is raised, as ``asyncio.gather`` would.
    """
    work = asyncio.ensure_future(
        asyncio.gather(*(asyncio.shield(aw) for aw in awaitables), return_exceptions=True)
    )
    watcher = asyncio.ensure_future(_stopped(stopping))
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not work.done():
        work.cancel()
        raise StoppingError(message)
    for outcome in work.result():
        if isinstance(outcome, BaseException):
            raise outcome
