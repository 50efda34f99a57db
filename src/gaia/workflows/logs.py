"""Reading task logs, whole or followed live while the task runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from gaia.workflows.manager import WorkflowManager

__all__ = ["ACTIVE", "follow_log", "read_log"]

ACTIVE = frozenset({"pending", "running", "retrying"})
CHUNK = 64 * 1024
RECOVERY_EVERY = 5  # polls between checks that the run's owner is alive


def read_log(path: Path | None, tail: int | None = None) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace")
    if tail is not None:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[-tail:]) if tail > 0 else ""
    return text


async def follow_log(
    manager: WorkflowManager,
    run_id: str,
    task_key: str,
    *,
    poll_interval: float = 0.2,
    idle_timeout: float | None = None,
    stop: Callable[[], bool] | None = None,
) -> AsyncIterator[str]:
    """Yield the task's output as it is written, across retries, until the task ends.

    Each new attempt's file is followed from its start. Ends when the task is no
    longer pending/running/retrying and its file is drained, after ``idle_timeout``
    seconds without output or state change, or once ``stop()`` answers True.
    """
    path: Path | None = None
    offset = 0
    idle = 0.0
    polls = 0
    while True:
        polls += 1
        if polls % RECOVERY_EVERY == 0:
            # The process running the task may have died: without recovery its task
            # would stay "running" and this loop would follow it forever.
            await asyncio.to_thread(manager.recover_interrupted)
        task = await asyncio.to_thread(manager.task, run_id, task_key)
        latest = Path(task.log_path) if task.log_path else None
        if latest != path:
            path, offset = latest, 0
        progressed = False
        if path is not None and path.exists():
            with path.open("rb") as fh:
                fh.seek(offset)
                while data := fh.read(CHUNK):
                    offset += len(data)
                    progressed = True
                    yield data.decode("utf-8", errors="replace")
        if task.status not in ACTIVE and not progressed:
            run_status = await asyncio.to_thread(manager.store.status, run_id)
            if task.status != "pending" or run_status not in ACTIVE:
                return
        idle = 0.0 if progressed else idle + poll_interval
        if (idle_timeout is not None and idle >= idle_timeout) or (stop is not None and stop()):
            return
        await asyncio.sleep(poll_interval)
