"""Where a task runs and what it leaves: its worktree before, its commit and result after."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from gaia.agents.task import AgentOutput, AgentResult, AgentTask, Isolation, TaskStatus
from gaia.agents.worktree import Worktree, commit_changes, create_worktree, repository_root
from gaia.errors import AgentError

__all__ = ["Workspace", "commit_workspace", "prepare_workspace", "result_from_output"]


@dataclass
class Workspace:
    """The directory a task runs in, and its worktree when it is isolated."""

    cwd: Path
    worktree: Worktree | None = None
    meta: dict[str, str] = field(default_factory=dict)  # copied onto the result


async def prepare_workspace(task: AgentTask, worktrees_dir: Path) -> Workspace:
    """A new worktree for an isolated task in a git repository; else ``work_dir`` itself."""
    work_dir = task.work_dir or Path.cwd()
    if task.effective_isolation is not Isolation.worktree:
        return Workspace(cwd=work_dir)
    repo = await asyncio.to_thread(repository_root, work_dir)
    if repo is None:
        return Workspace(cwd=work_dir, meta={"isolation": "none: not a git repository"})
    worktree = await asyncio.to_thread(create_worktree, repo, work_dir, worktrees_dir, task.id)
    # The base commit and branch are recorded when the task starts (the execution's
    # metadata), so that the diff of a task still running can be shown against its base.
    meta = {"repo": str(repo), "base_commit": worktree.base_commit, "branch": worktree.branch}
    return Workspace(cwd=worktree.work_dir, worktree=worktree, meta=meta)


async def commit_workspace(worktree: Worktree, task: AgentTask, result: AgentResult) -> None:
    """Commit what the agent changed on the task's branch; record it on the result."""
    first_line = task.instruction.strip().splitlines()[0][:72] if task.instruction else ""
    message = f"gaia: {first_line}\n\nAgent {task.agent_id}, task {task.id} ({result.status})."
    try:
        # Shielded: a cancel arriving now must not leave the index half committed.
        commit, stat = await asyncio.shield(asyncio.to_thread(commit_changes, worktree, message))
    except AgentError as exc:
        result.meta["commit_error"] = str(exc)
        return
    result.branch = worktree.branch
    result.base_commit = worktree.base_commit
    result.commit = commit
    result.diff_stat = stat


def result_from_output(task: AgentTask, output: AgentOutput) -> AgentResult:
    return AgentResult(
        task_id=task.id,
        agent_id=task.agent_id,
        status=TaskStatus.succeeded if output.ok else TaskStatus.failed,
        output=output.text,
        error=output.error,
        exit_code=output.exit_code,
        session_id=output.session_id,
        cost_usd=output.cost_usd,
        input_tokens=output.input_tokens,
        output_tokens=output.output_tokens,
        num_turns=output.num_turns,
        duration_ms=output.duration_ms,
        meta=output.meta,
    )
