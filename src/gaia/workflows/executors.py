"""Task executors: the seam between the scheduler and whatever runs a task.

The scheduler hands an executor a ``TaskRun`` and awaits a ``TaskOutcome``. Cancelling
the awaiting coroutine (stop, timeout, a failing sibling) must stop everything the
executor started; the shell executor kills the whole process tree. The agents component
registers further executors by agent name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gaia._lifeline import tethered
from gaia._proc import describe_exit, spawn
from gaia.errors import ProcessError
from gaia.workflows.spec import TaskSpec

__all__ = ["ShellExecutor", "TaskExecutor", "TaskOutcome", "TaskRun"]

SHELL = "/bin/sh"


@dataclass(frozen=True)
class TaskRun:
    """One attempt of one task, fully resolved."""

    workflow_id: str
    task: TaskSpec
    attempt: int
    execution_id: str
    working_dir: Path
    env: dict[str, str]
    log_path: Path
    kill_grace: float
    # What the executors of this task's dependencies reported (agent branch, commit...).
    dependency_results: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskOutcome:
    ok: bool
    exit_code: int | None = None
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)


class TaskExecutor(Protocol):
    """Runs one task attempt. ``on_start(pid)`` is called once the task is under way."""

    async def execute(
        self, run: TaskRun, on_start: Callable[[int | None], None]
    ) -> TaskOutcome: ...


class ShellExecutor:
    """Runs the command with ``/bin/sh -c`` in its own process group, output to the log."""

    async def execute(self, run: TaskRun, on_start: Callable[[int | None], None]) -> TaskOutcome:
        cookie = f"{run.workflow_id}/{run.execution_id}"
        # Tethered: if this process dies, the task's whole tree dies with it rather than
        # finishing its side effects unrecorded (and then again on resume).
        with tethered(cookie) as tether:
            try:
                handle = spawn(
                    [SHELL, "-c", run.task.command],
                    cookie=cookie,
                    cwd=run.working_dir,
                    env=run.env,
                    output=run.log_path,
                )
            except ProcessError as exc:
                run.log_path.write_text(f"gaia: {exc}\n", encoding="utf-8")
                return TaskOutcome(ok=False, error=str(exc))
            tether.group(handle.pid)
            # On cancellation the kill is shielded: a second cancel must not leave it half
            # done.
            on_start(handle.pid)
            try:
                code = await handle.wait()
            except asyncio.CancelledError:
                await asyncio.shield(handle.kill_tree(run.kill_grace))
                raise
            # Background jobs the command left behind would otherwise outlive the task.
            await handle.reap_leftovers(run.kill_grace)
        if code == 0:
            return TaskOutcome(ok=True, exit_code=0)
        return TaskOutcome(ok=False, exit_code=code, error=describe_exit(code))
