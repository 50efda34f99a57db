"""Live changes as one Server-Sent Events stream per page, and the Overview's figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from sse_starlette import ServerSentEvent

from gaia.api.deps import Auth, RuntimeDep
from gaia.api.errors import problem_responses
from gaia.api.streams import event_stream
from gaia.errors import Problem, ValidationError
from gaia.live import LiveEvent, Watch, WatchError, parse_watch
from gaia.live.overview import activity, summary
from gaia.live.registry import WATCHES

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration",
    tags=["live"],
    dependencies=[Auth],
    responses=problem_responses(401, 403, 404, 422),
)

QUEUE_SIZE = 1000  # events waiting to be sent; a slow reader holds the watches back


@router.get("/overview")
async def overview(runtime: RuntimeDep) -> dict[str, Any]:
    """Counts across all components (``summary``) and their latest events (``activity``)."""
    return {
        "summary": await asyncio.to_thread(summary, runtime),
        "activity": await asyncio.to_thread(activity, runtime),
    }


@router.get("/events", responses={200: {"content": {"text/event-stream": {}}}})
async def events(
    runtime: RuntimeDep,
    watch: Annotated[list[str], Query(description="what to watch; repeatable")] = [],  # noqa: B006
) -> Any:
    """Everything a page watches, in one ``text/event-stream``.

    Each ``watch`` is ``kind`` or ``kind:argument``: ``summary`` and ``activity`` (the
    Overview), and the kinds of each view (see the dashboard guide in docs/api.md). The
    stream sends each watch's current state first, then its changes as they happen;
    each event's ``data`` is JSON. A watch that fails sends an ``error`` event
    (``{"watch", "message"}``) and the others go on.
    """
    chosen: list[tuple[str, Watch, str]] = []
    problems = []
    for index, spec in enumerate(watch):
        try:
            function, argument = parse_watch(spec, WATCHES)
        except WatchError as exc:
            problems.append(Problem(str(exc), source="query", path=f"watch[{index}]"))
            continue
        chosen.append((spec, function, argument))
    if problems or not chosen:
        problems = problems or [Problem("name at least one watch", source="query", path="watch")]
        raise ValidationError.from_problems("watch", problems)
    shutdown = anyio.Event()
    return event_stream(_merged(runtime, chosen, shutdown), shutdown)


async def _merged(
    runtime: Any, chosen: list[tuple[str, Watch, str]], shutdown: anyio.Event
) -> AsyncIterator[ServerSentEvent]:
    queue: asyncio.Queue[LiveEvent] = asyncio.Queue(QUEUE_SIZE)

    async def pump(spec: str, function: Watch, argument: str) -> None:
        try:
            async for item in function(runtime, argument):
                await queue.put(item)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one watch's failure is news, not the stream's end
            await queue.put(("error", {"watch": spec, "message": str(exc)}))

    tasks = [asyncio.create_task(pump(*entry)) for entry in chosen]
    try:
        while not (shutdown.is_set() or runtime.stopping.is_set()):
            try:
                name, payload = await asyncio.wait_for(queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            yield ServerSentEvent(data=json.dumps(payload, default=str), event=name, sep="\n")
        yield ServerSentEvent(data=json.dumps({"reason": "stopping"}), event="end", sep="\n")
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
