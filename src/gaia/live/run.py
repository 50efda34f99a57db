"""Live watches of one workflow run's page (see gaia.live).

``run:RUN_ID`` sends ``run`` (the run's status, error, times and task counts) when it
changes, ``tasks`` (``{"full": bool, "tasks": [[id, status, attempts, exit code], ...]}``:
every task first, then those that changed, by ``updated_at``) and ``attempts`` (attempts
that started or ended since the last poll; the page reads the earlier ones from
``GET /workflows/{id}/attempts``).

``log:RUN_ID/TASK_ID`` sends ``task`` (the task's status, attempts, exit code, error) when
it changes and ``log`` (``{"task", "attempt", "reset", "truncated", "text"}``): the latest
attempt's output so far (its last 256 KiB), then what is appended, across retries (a new
attempt's log starts with ``reset``).

Each poll is one or a few indexed queries in a thread; nothing runs for a page that is
closed.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gaia.errors import NotFoundError
from gaia.live.base import POLL_INTERVAL, RECHECK_SECONDS, LiveEvent, Watch, WatchError
from gaia.runtime import Runtime
from gaia.storage.models import workflows_table
from gaia.workflows.run_view import AttemptCursor, TaskCursor, task_log_state

__all__ = ["LOG_TAIL", "WATCHES"]

LOG_TAIL = 256 * 1024  # of a log that is already long, what a page gets first
LOG_CHUNK = 256 * 1024  # the most sent in one event
W = workflows_table


def _run_row(runtime: Runtime, run_id: str) -> Any:
    with runtime.db.read() as conn:
        row = conn.execute(
            select(
                W.c.id,
                W.c.name,
                W.c.status,
                W.c.error,
                W.c.created_at,
                W.c.started_at,
                W.c.finished_at,
                W.c.stop_requested_at,
                W.c.updated_at,
            ).where(W.c.id == run_id)
        ).first()
    if row is None:
        raise NotFoundError.of("workflow", run_id)
    return row


def _run_state(row: Any, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "error": row.error,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "stopping": row.stop_requested_at is not None and row.status == "running",
        "task_counts": counts,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _watch_run(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    if not argument:
        raise WatchError("run needs a run id: run:RUN_ID")
    run_id = await asyncio.to_thread(runtime.workflows.resolve, argument)
    tasks = TaskCursor(runtime.db, run_id)
    attempts = AttemptCursor(runtime.db, run_id)
    previous: dict[str, Any] | None = None
    seen_update: Any = None
    full = True
    counts: dict[str, int] = {}

    gate = _Gate(runtime)

    def poll() -> tuple[dict[str, Any] | None, list[list[Any]], list[dict[str, Any]]]:
        nonlocal seen_update, counts
        if not gate.changed():
            return previous, [], []
        row = _run_row(runtime, run_id)
        changed: list[list[Any]] = []
        started: list[dict[str, Any]] = []
        # Only a running run's tasks change without the run's row changing too (a start,
        # resume, retry, stop or recovery writes both): a page of an idle run reads one row.
        if row.status == "running" or row.updated_at != seen_update:
            seen_update = row.updated_at
            changed, started = tasks.changes(), attempts.changes()
            if changed:
                counts = tasks.counts()
        return _run_state(row, counts), changed, started

    while True:
        state, changed, started = await asyncio.to_thread(poll)
        if changed or full:
            yield "tasks", {"full": full, "tasks": changed}
            full = False
        if started:
            yield "attempts", started
        if state is not None and state != previous:
            yield "run", state
            previous = state
        await asyncio.sleep(POLL_INTERVAL)


class _Gate:
    """Whether anything committed to the database since the last look (the database's
    generation), or RECHECK_SECONDS passed: an idle page queries nothing in between."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen: object = None
        self.checked = float("-inf")

    def changed(self) -> bool:
        now = time.monotonic()
        current = self.runtime.db.generation()
        if current is not None and current == self.seen and now - self.checked < RECHECK_SECONDS:
            return False
        self.seen, self.checked = current, now
        return True


class _LogReader:
    """The latest attempt's log of one task, read on from where it was left."""

    def __init__(self, runtime: Runtime, run_id: str, task_key: str) -> None:
        self.runtime, self.run_id, self.task_key = runtime, run_id, task_key
        self.path: Path | None = None
        self.started = False  # the first poll always sends a log event, empty or not
        self.offset = 0
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.gate = _Gate(runtime)
        self.state: dict[str, Any] | None = None

    def poll(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(the task's state, a log event or None). The task's row is read again only
        after a commit; its log file is looked at each time (writing it commits nothing)."""
        if self.state is None or self.gate.changed():
            self.state = task_log_state(self.runtime.db, self.run_id, self.task_key)
        state = dict(self.state)
        latest = Path(state["log_path"]) if state["log_path"] else None
        reset = False
        truncated = False
        if latest != self.path or not self.started:
            self.path, self.offset, reset, self.started = latest, 0, True, True
            self.decoder.reset()
            if latest is not None and latest.exists():
                size = latest.stat().st_size
                if size > LOG_TAIL:
                    self.offset, truncated = size - LOG_TAIL, True
        data = b""
        if self.path is not None and self.path.exists():
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read(LOG_CHUNK)
            self.offset += len(data)
        state.pop("log_path")
        if not data and not reset:
            return state, None
        text = self.decoder.decode(data)
        if truncated:  # cut at a line's start
            text = text.partition("\n")[2]
        event = {
            "task": self.task_key,
            "attempt": state["attempts"],
            "reset": reset,
            "truncated": truncated,
            "text": text,
        }
        return state, event


async def _watch_log(runtime: Runtime, argument: str) -> AsyncIterator[LiveEvent]:
    run_ident, _, task_key = argument.partition("/")
    if not run_ident or not task_key:
        raise WatchError("log needs a run id and a task id: log:RUN_ID/TASK_ID")
    run_id = await asyncio.to_thread(runtime.workflows.resolve, run_ident)
    reader = _LogReader(runtime, run_id, task_key)
    previous: dict[str, Any] | None = None
    while True:
        state, event = await asyncio.to_thread(reader.poll)
        if state != previous:
            yield "task", state
            previous = state
        if event is not None:
            yield "log", event
            if len(event["text"]) >= LOG_CHUNK // 2:
                continue  # more is waiting: read on at once
        await asyncio.sleep(POLL_INTERVAL)


WATCHES: dict[str, Watch] = {"run": _watch_run, "log": _watch_log}
