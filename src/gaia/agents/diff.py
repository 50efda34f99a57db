"""The diff of an agent task's work: its worktree (or branch) against the commit it started from.

While the task runs, or while its worktree is kept (``worktree_retention``), the diff is
of the worktree as it is now, uncommitted and untracked files included: git stages it in
a temporary index of its own, so the agent's index is never touched. Once the worktree is
removed, it is the diff between the base commit and the commit gaia made on the task's
branch. A task that ran in place (isolation ``none``) has no worktree, hence no diff.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gaia.agents.store import AgentStore, StoredTask
from gaia.agents.task import Isolation
from gaia.agents.worktree import GIT_TIMEOUT
from gaia.errors import AgentError, ConflictError
from gaia.storage.models import agent_executions_table

__all__ = ["MAX_DIFF_CHARS", "TaskDiff", "task_diff"]

MAX_DIFF_CHARS = 2_000_000  # a page shows this much; the branch holds the rest
_EXECUTIONS = agent_executions_table


@dataclass(frozen=True)
class TaskDiff:
    """A unified diff and where it came from."""

    text: str
    base_commit: str
    source: str  # "worktree" (as it is now) or "branch" (base..the commit gaia made)
    truncated: bool


def _latest_execution(store: AgentStore, task_id: str) -> tuple[str | None, dict[str, Any]] | None:
    """(worktree path, metadata) of the task's latest execution; None before it started."""
    query = (
        select(_EXECUTIONS.c.worktree, _EXECUTIONS.c.metadata)
        .where(_EXECUTIONS.c.task_id == task_id)
        .order_by(_EXECUTIONS.c.started_at.desc())
        .limit(1)
    )
    with store.db.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return row.worktree, dict(row.metadata or {})


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=false", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except FileNotFoundError:
        raise AgentError("showing a task's diff needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"git {args[0]} in {cwd} took longer than {GIT_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise AgentError(f"git {' '.join(args[:2])} failed in {cwd}: {message}")
    return done.stdout.decode("utf-8", "replace")


_DIFF = ("diff", "--no-color", "--no-ext-diff", "--find-renames")


def _worktree_diff(path: Path, base: str, extra: tuple[str, ...] = ()) -> str:
    """``path``'s files now (tracked, changed, untracked) against ``base``."""
    with tempfile.TemporaryDirectory(prefix="gaia-diff-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(path, "read-tree", "HEAD", env=env)
        _git(path, "add", "--all", env=env)
        return _git(path, *_DIFF, *extra, "--cached", base, env=env)


def _no_worktree(stored: StoredTask, why: str) -> ConflictError:
    return ConflictError(
        f"agent task {stored.task.id} has no worktree to diff: {why}",
        details={"task_id": stored.task.id, "isolation": str(stored.task.effective_isolation)},
    )


def task_diff(
    store: AgentStore, stored: StoredTask, max_chars: int = MAX_DIFF_CHARS, *, stat: bool = False
) -> TaskDiff:
    """The diff of ``stored``'s work (blocking: runs git). ConflictError when there is none.

    ``stat``: git's ``--stat`` summary (a line per file, then the totals) instead.
    """
    extra = ("--stat=200",) if stat else ()
    task = stored.task
    if task.effective_isolation is Isolation.none:
        where = f" in {task.work_dir}" if task.work_dir else ""
        raise _no_worktree(stored, f"it runs in place{where} (isolation none)")
    execution = _latest_execution(store, task.id)
    if execution is None:
        raise _no_worktree(stored, f"it has not started yet ({stored.status})")
    worktree, meta = execution
    if worktree is None:
        reason = str(meta.get("isolation") or "it ran without one")
        raise _no_worktree(stored, reason.replace("none: ", "it ran in place: the work_dir is "))
    result = stored.result
    base = meta.get("base_commit") or (result.base_commit if result else None)
    path = Path(worktree)
    if path.is_dir():
        # A task started before base commits were recorded has not committed yet while it
        # runs, so its worktree's HEAD is still the base.
        base = base or _git(path, "rev-parse", "HEAD").strip()
        text, source = _worktree_diff(path, str(base), extra), "worktree"
    else:
        repo = Path(str(meta.get("repo") or ""))
        if result is None or not base:
            raise _no_worktree(stored, f"its worktree {worktree} is gone")
        # The branch, not gaia's commit: an agent that committed its work itself leaves
        # gaia nothing to commit (result.commit is None) but its commits on the branch.
        tip = result.branch or result.commit
        review = meta.get("review") or {}
        if review.get("state") == "discarded":
            raise _no_worktree(stored, "it was discarded (its worktree and branch are deleted)")
        if review.get("branch_deleted") and review.get("tip"):
            tip = str(review["tip"])  # merged: the branch is gone, its commits are in the target
        if tip is None:
            text = ""
        elif not repo.is_dir():
            raise _no_worktree(stored, f"its worktree and its repository {repo} are gone")
        else:
            text = _git(repo, *_DIFF, *extra, str(base), tip)
        source = "branch"
    truncated = len(text) > max_chars
    if truncated:
        text = text[:max_chars] + f"\n[diff truncated at {max_chars} characters]\n"
    return TaskDiff(text=text, base_commit=str(base), source=source, truncated=truncated)
