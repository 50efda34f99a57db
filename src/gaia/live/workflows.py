"""Live watches of the workflows list: ``runs`` and ``runs:STATUS``.

Each sends ``runs`` events, ``{"initial", "status", "runs", "counts"}`` (``status``: the
watch's, or null): first (``initial`` true)
the active (pending and running) runs and the count of runs by status, then, within a
second of it happening, the summaries of the runs that were created, changed status, or
whose task counts changed (a running run's), with the counts again. ``runs:STATUS`` sends
only runs that have that status, or had it at the last look (so that a list filtered on
it can drop them), or might have (a resumed run's status before is not known).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from gaia.live.base import POLL_INTERVAL, RECHECK_SECONDS, LiveEvent, Watch, WatchError
from gaia.runtime import Runtime
from gaia.workflows.changes import RunChanges, RunsChanged
from gaia.workflows.status import RunStatus

__all__ = ["WATCHES", "runs_payload"]

STATUSES = tuple(status.value for status in RunStatus)


def runs_payload(news: RunsChanged, *, initial: bool, status: str | None) -> dict[str, Any]:
    """What a ``runs`` event carries; with ``status``, only the runs it concerns."""
    runs = news.runs
    if status is not None:
        runs = [
            run
            for run in runs
            if run.status == status or (not initial and news.may_have_had(run.id, status))
        ]
    return {
        "initial": initial,
        "status": status,
        "runs": [run.model_dump(mode="json") for run in runs],
        "counts": news.counts,
    }


async def _watch_runs(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    status = argument or None
    if status is not None and status not in STATUSES:
        raise WatchError(f"unknown run status {status!r} (known: {', '.join(STATUSES)})")
    changes = RunChanges(runtime.db)
    initial = True
    seen: object = None
    looked = 0.0

    def look() -> RunsChanged | None:
        # Nothing committed, nothing changed: no query (but a look every RECHECK_SECONDS,
        # for a change the generation cannot see).
        nonlocal seen, looked
        current, now = runtime.db.generation(), time.monotonic()
        if (
            not initial
            and current is not None
            and current == seen
            and now - looked < RECHECK_SECONDS
        ):
            return None
        seen, looked = current, now
        return changes.look()

    while True:
        news = await asyncio.to_thread(look)
        if news is not None:
            payload = runs_payload(news, initial=initial, status=status)
            if initial or payload["runs"]:
                yield "runs", payload
            initial = False
        await asyncio.sleep(POLL_INTERVAL)


WATCHES: dict[str, Watch] = {"runs": _watch_runs}
