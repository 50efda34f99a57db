"""Handing an agent task's result to its waiter only once the database holds it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from gaia.agents.task import AgentResult, TaskStatus
from gaia.errors import StorageError
from gaia.storage.recorder import Recorder

__all__ = ["resolve_when_recorded"]

log = logging.getLogger("gaia.agents")


def resolve_when_recorded(
    recorder: Recorder, future: asyncio.Future[AgentResult], result: AgentResult
) -> None:
    """Set ``future`` to ``result`` once ``recorder`` has committed it; if the database
    refuses, to a failed result that says so.

    A waiter must never hang on a write that will not happen, nor be told of a result
    that a restart would not find.
    """

    def settle(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
            return
        log.error("agent task %s: its result was not recorded: %s", result.task_id, error)
        future.set_result(
            dataclasses.replace(
                result,
                status=TaskStatus.failed,
                error=f"the database could not record the result: {error}",
            )
        )

    try:
        recorded = recorder.flushed()
    except StorageError as exc:  # the recorder is closed
        settle(exc)
        return
    recorded.add_done_callback(lambda done: settle(None if done.cancelled() else done.exception()))
