"""Review's end: merge a finished task's branch into a branch of its repository, or discard it.

A merge never touches the user's files unless it can succeed: the merged tree is computed
with ``git merge-tree --write-tree`` (objects only: no working tree, no index), so a
conflict is found and reported while the target branch, its working tree, its index and
the task's branch are exactly as they were. Only a clean result is applied: by
``git merge --ff-only`` to the new commit where the target is checked out (after checking
that its tracked files have no uncommitted changes), else by a compare-and-swap
``git update-ref``. Then the task's worktree is removed, its branch is deleted when the
target now contains it (a squash keeps it), and the task records ``merged``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from gaia.agents.store import AgentStore, StoredTask
from gaia.agents.worktree import GIT_TIMEOUT, remove_worktree
from gaia.errors import AgentError, ConflictError
from gaia.storage.models import agent_executions_table

__all__ = ["MergeOutcome", "discard_task", "merge_task"]

_EXECUTIONS = agent_executions_table
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "gaia",
    "GIT_AUTHOR_EMAIL": "gaia@localhost",
    "GIT_COMMITTER_NAME": "gaia",
    "GIT_COMMITTER_EMAIL": "gaia@localhost",
}


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge or a discard did."""

    task_id: str
    review: str  # "merged" or "discarded"
    branch: str
    into: str | None = None
    commit: str | None = None  # the target's new tip (None: discarded)
    fast_forward: bool = False
    squash: bool = False
    branch_deleted: bool = False
    worktree_removed: bool = False


def _run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-c", "core.quotepath=false", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except FileNotFoundError:
        raise AgentError("merging a task's branch needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise AgentError(f"git {args[0]} in {cwd} took longer than {GIT_TIMEOUT:.0f}s") from None


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = _run(cwd, *args, env=env)
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip()
        raise AgentError(f"git {' '.join(args[:2])} failed in {cwd}: {message}")
    return done.stdout


@dataclass(frozen=True)
class _Work:
    """Where a task's work is: its repository, branch, worktree and execution."""

    repo: Path
    branch: str
    worktree: Path | None
    execution_id: str
    meta: dict[str, Any]


def _work_of(store: AgentStore, stored: StoredTask, doing: str) -> _Work:
    task = stored.task
    details = {"task_id": task.id, "status": str(stored.status)}
    if not stored.status.finished:
        raise ConflictError(
            f"agent task {task.id} is {stored.status}: only a finished task can be {doing} "
            "(wait for it, or cancel it first)",
            details=details,
        )
    store.flush()
    query = (
        select(_EXECUTIONS.c.id, _EXECUTIONS.c.worktree, _EXECUTIONS.c.metadata)
        .where(_EXECUTIONS.c.task_id == task.id)
        .order_by(_EXECUTIONS.c.started_at.desc())
        .limit(1)
    )
    with store.db.read() as conn:
        row = conn.execute(query).first()
    meta = {} if row is None else dict(row.metadata or {})
    branch = (stored.result.branch if stored.result else None) or meta.get("branch")
    repo = meta.get("repo")
    if row is None or not branch or not repo:
        raise ConflictError(
            f"agent task {task.id} has no branch to be {doing}: it did not run in a worktree",
            details=details,
        )
    review = meta.get("review")
    if isinstance(review, dict) and review.get("state"):
        raise ConflictError(
            f"agent task {task.id} was already {review['state']}",
            details={**details, "review": review["state"]},
        )
    if not Path(repo).is_dir():
        raise ConflictError(
            f"the repository {repo} of agent task {task.id} is gone", details=details
        )
    worktree = Path(row.worktree) if row.worktree else None
    return _Work(Path(repo), str(branch), worktree, str(row.id), meta)


def _record(store: AgentStore, work: _Work, review: dict[str, Any]) -> None:
    meta = {**work.meta, "review": review}
    with store.db.write() as conn:
        conn.execute(
            update(_EXECUTIONS).where(_EXECUTIONS.c.id == work.execution_id).values(metadata=meta)
        )


def _rev(repo: Path, name: str) -> str | None:
    done = _run(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
    return done.stdout.strip() if done.returncode == 0 else None


def _checked_out_at(repo: Path, branch: str) -> Path | None:
    """The worktree (the main one or a linked one) where ``branch`` is checked out."""
    path: Path | None = None
    for line in _git(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            path = Path(line.removeprefix("worktree "))
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


def _identity_env(repo: Path) -> dict[str, str]:
    has_identity = _run(repo, "config", "user.email").stdout.strip()
    return {} if has_identity else dict(_FALLBACK_IDENTITY)


def _refuse_dirty(where: Path, task_id: str, into: str) -> None:
    changed = _git(where, "status", "--porcelain", "--untracked-files=no").splitlines()
    if changed:
        files = [line[3:] for line in changed]
        raise ConflictError(
            f"cannot merge agent task {task_id} into {into}: its working tree {where} has "
            f"uncommitted changes ({', '.join(files[:10])}); commit or stash them first",
            details={"task_id": task_id, "into": into, "worktree": str(where), "files": files},
        )


def _default_target(repo: Path, task_id: str) -> str:
    done = _run(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    if done.returncode != 0:
        raise ConflictError(
            f"cannot merge agent task {task_id}: the repository {repo} is on a detached HEAD "
            '(name the branch to merge into with --into / "into")',
            details={"task_id": task_id},
        )
    return done.stdout.strip()


def _merged_commit(
    work: _Work, task_id: str, into: str, target: str, tip: str, squash: bool
) -> tuple[str, bool]:
    """The target's new tip and whether it is a fast-forward; ConflictError on conflicts."""
    ancestor = _run(work.repo, "merge-base", "--is-ancestor", target, tip).returncode == 0
    if ancestor and not squash:
        return tip, True
    done = _run(
        work.repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", target, tip
    )
    lines = done.stdout.splitlines()
    if done.returncode == 1:
        files = sorted(dict.fromkeys(line for line in lines[1:] if line))
        raise ConflictError(
            f"cannot merge agent task {task_id} into {into}: it conflicts in "
            f"{', '.join(files)}; nothing was changed (resolve it in the task's worktree, "
            "or merge by hand)",
            details={"task_id": task_id, "into": into, "branch": work.branch, "files": files},
        )
    if done.returncode != 0 or not lines:
        raise AgentError(f"git merge-tree failed in {work.repo}: {done.stderr.strip()}")
    tree = lines[0].strip()
    if squash:
        subject = f"Squashed {work.branch} (gaia agent task {task_id})"
        parents = ["-p", target]
    else:
        subject = f"Merge branch '{work.branch}' into {into}"
        parents = ["-p", target, "-p", tip]
    env = _identity_env(work.repo)
    commit = _git(work.repo, "commit-tree", tree, *parents, "-m", subject, env=env).strip()
    return commit, False


def merge_task(
    store: AgentStore, stored: StoredTask, *, squash: bool = False, into: str | None = None
) -> MergeOutcome:
    """Merge ``stored``'s branch into ``into`` (default: the repository's current branch).

    Blocking (runs git). ConflictError, with nothing changed, when the task is not
    finished, has no branch, the target has uncommitted changes, or the merge conflicts
    (``details["files"]`` names the files).
    """
    task_id = stored.task.id
    work = _work_of(store, stored, "merged")
    into = into or _default_target(work.repo, task_id)
    target = _rev(work.repo, f"refs/heads/{into}")
    tip = _rev(work.repo, f"refs/heads/{work.branch}")
    if target is None or tip is None:
        missing = into if target is None else work.branch
        raise ConflictError(
            f"cannot merge agent task {task_id}: the branch {missing} does not exist in "
            f"{work.repo}",
            details={"task_id": task_id, "into": into, "branch": work.branch},
        )
    if work.worktree is not None and work.worktree.is_dir():
        # Removing the worktree after the merge must not lose work done in it since.
        left = _git(work.worktree, "status", "--porcelain").splitlines()
        if left:
            raise ConflictError(
                f"cannot merge agent task {task_id}: its worktree {work.worktree} has "
                f"uncommitted changes ({', '.join(line[3:] for line in left[:10])}); "
                "commit them there first",
                details={
                    "task_id": task_id,
                    "worktree": str(work.worktree),
                    "files": [line[3:] for line in left],
                },
            )
    checked_out = _checked_out_at(work.repo, into)
    if checked_out is not None:
        _refuse_dirty(checked_out, task_id, into)
    if _run(work.repo, "merge-base", "--is-ancestor", tip, target).returncode == 0:
        new, fast_forward = target, True  # already in the target: nothing to merge
    else:
        new, fast_forward = _merged_commit(work, task_id, into, target, tip, squash)
    if new != target:
        if checked_out is not None:
            # Refuses, changing nothing, if an untracked file would be overwritten.
            done = _run(checked_out, "merge", "--ff-only", "--quiet", new)
            if done.returncode != 0:
                raise ConflictError(
                    f"cannot merge agent task {task_id} into {into}: "
                    f"{done.stderr.strip() or done.stdout.strip()}",
                    details={"task_id": task_id, "into": into, "worktree": str(checked_out)},
                )
        else:
            # Compare-and-swap: a branch moved since it was read is left as it is now.
            reason = f"gaia: merge {work.branch}"
            done = _run(work.repo, "update-ref", "-m", reason, f"refs/heads/{into}", new, target)
            if done.returncode != 0:
                raise ConflictError(
                    f"cannot merge agent task {task_id} into {into}: the branch moved while "
                    "merging; try again",
                    details={"task_id": task_id, "into": into},
                )
    worktree_removed = _remove_worktree(work)
    # The branch goes only when the target holds its commits (a squash holds their content,
    # not the commits: the branch stays, for the record).
    contained = _run(work.repo, "merge-base", "--is-ancestor", tip, new).returncode == 0
    deleted = contained and _run(work.repo, "branch", "-D", work.branch).returncode == 0
    outcome = MergeOutcome(
        task_id=task_id,
        review="merged",
        branch=work.branch,
        into=into,
        commit=new,
        fast_forward=fast_forward,
        squash=squash,
        branch_deleted=deleted,
        worktree_removed=worktree_removed,
    )
    _record(store, work, {**_review(outcome), "tip": tip})
    return outcome


def _remove_worktree(work: _Work) -> bool:
    if work.worktree is None or not work.worktree.exists():
        return False
    remove_worktree(work.repo, work.worktree)
    return not work.worktree.exists()


def discard_task(store: AgentStore, stored: StoredTask) -> MergeOutcome:
    """Remove ``stored``'s worktree and delete its branch (blocking: runs git)."""
    work = _work_of(store, stored, "discarded")
    removed = _remove_worktree(work)
    deleted = False
    tip = _rev(work.repo, f"refs/heads/{work.branch}")
    if tip is not None:
        _git(work.repo, "branch", "-D", work.branch)
        deleted = True
    outcome = MergeOutcome(
        task_id=stored.task.id,
        review="discarded",
        branch=work.branch,
        branch_deleted=deleted,
        worktree_removed=removed,
    )
    _record(store, work, {**_review(outcome), "tip": tip})
    return outcome


def _review(outcome: MergeOutcome) -> dict[str, Any]:
    return {
        "state": outcome.review,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "into": outcome.into,
        "commit": outcome.commit,
        "squash": outcome.squash,
        "branch_deleted": outcome.branch_deleted,
    }
