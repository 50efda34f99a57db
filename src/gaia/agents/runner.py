"""Running one agent task: its workspace, its process under a timeout, and its result.

Whatever happens (the agent is gone, the CLI fails, the timeout passes, the task is
cancelled, an adapter has a bug), ``run_task`` returns a result for the bridge to
record: it never raises, so that one task cannot take the queue down with it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gaia._duration import format_duration
from gaia.agents.base import Agent, AgentRun, Launcher
from gaia.agents.registry import AgentRegistry
from gaia.agents.store import AgentStore
from gaia.agents.task import AgentOutput, AgentResult, AgentTask, TaskStatus
from gaia.agents.workspace import (
    Workspace,
    commit_workspace,
    prepare_workspace,
    result_from_output,
)
from gaia.agents.worktree import remove_worktree
from gaia.errors import AgentError, GaiaError

__all__ = ["RunSetup", "run_task"]

log = logging.getLogger("gaia.agents")


@dataclass(frozen=True)
class RunSetup:
    """What running a task needs from its bridge, as the bridge is configured now."""

    registry: AgentRegistry
    store: AgentStore
    launcher: Launcher
    visible_launcher: Launcher | None
    base_env: Mapping[str, str]
    logs_dir: Path
    worktrees_dir: Path
    kill_grace: float
    worktree_retention: float


async def run_task(
    task: AgentTask, timeout: float, setup: RunSetup
) -> tuple[AgentResult, str | None]:
    """Run ``task`` to its end: (its result, its execution id once it had a workspace)."""
    execution_id = str(uuid.uuid4())
    prepared: Workspace | None = None
    result: AgentResult
    try:
        agent = setup.registry.require(task.agent_id)
        prepared = await prepare_workspace(task, setup.worktrees_dir)
        log_path = setup.logs_dir / f"{task.id}.log"
        setup.store.mark_started(
            task.id,
            execution_id,
            task.agent_id,
            work_dir=str(prepared.cwd),
            worktree=None if prepared.worktree is None else str(prepared.worktree.path),
            log_path=str(log_path),
            meta=prepared.meta,
        )
        output = await _execute(agent, task, timeout, setup, prepared.cwd, log_path, execution_id)
        result = result_from_output(task, output)
        if prepared.worktree is not None:
            await commit_workspace(prepared.worktree, task, result)
    except asyncio.CancelledError:
        result = AgentResult(
            task_id=task.id,
            agent_id=task.agent_id,
            status=TaskStatus.cancelled,
            error="cancelled while running",
        )
    except TimeoutError:
        result = AgentResult(
            task_id=task.id,
            agent_id=task.agent_id,
            status=TaskStatus.timed_out,
            error=f"timed out after {format_duration(timeout)}",
        )
        if prepared is not None and prepared.worktree is not None:
            await commit_workspace(prepared.worktree, task, result)
    except GaiaError as exc:
        result = AgentResult(
            task_id=task.id, agent_id=task.agent_id, status=TaskStatus.failed, error=str(exc)
        )
    except Exception as exc:  # an adapter bug must fail the task, not the bridge
        log.exception("agent task %s crashed", task.id)
        result = AgentResult(
            task_id=task.id,
            agent_id=task.agent_id,
            status=TaskStatus.failed,
            error=f"internal error: {exc!r}",
        )
    if prepared is not None:
        result.meta.update(prepared.meta)
    if prepared is not None and prepared.worktree is not None:
        result.meta["worktree"] = str(prepared.worktree.path)
        if setup.worktree_retention <= 0:
            await asyncio.to_thread(remove_worktree, prepared.worktree.repo, prepared.worktree.path)
    return result, execution_id if prepared is not None else None


async def _execute(
    agent: Agent,
    task: AgentTask,
    timeout: float,
    setup: RunSetup,
    cwd: Path,
    log_path: Path,
    execution_id: str,
) -> AgentOutput:
    launcher = setup.launcher
    if task.visible:
        if setup.visible_launcher is None:
            raise AgentError("visible runs need tmux, which is not available here")
        launcher = setup.visible_launcher
    run = AgentRun(
        task=task,
        prompt=task.prompt,
        cwd=cwd,
        log_path=log_path,
        stderr_path=log_path.with_suffix(".err"),
        cookie=f"agent/{task.id}",
        kill_grace=setup.kill_grace,
        launcher=launcher,
        env={**setup.base_env, **task.env},
        on_start=lambda pid: setup.store.set_pid(execution_id, pid),
    )
    async with asyncio.timeout(timeout):
        return await agent.execute(run)
