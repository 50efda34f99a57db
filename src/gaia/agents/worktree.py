"""Git worktrees: each isolated task works on its own branch ``gaia/<task-id>``.

gaia adds the worktree under ``$GAIA_HOME/worktrees/<task-id>``, runs the agent in the
same sub-directory of it as the task's ``work_dir`` was of the repository, commits
whatever the agent changed, and removes the worktree after the retention period. The
branch stays, so the work can be reviewed and merged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaia.errors import AgentError

__all__ = [
    "Worktree",
    "branch_name",
    "commit_changes",
    "create_worktree",
    "diff",
    "remove_worktree",
    "remove_worktrees",
    "repository_root",
]

GIT_TIMEOUT = 120.0
# Used only when the repository has no identity of its own: a commit must not fail.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "gaia",
    "GIT_AUTHOR_EMAIL": "gaia@localhost",
    "GIT_COMMITTER_NAME": "gaia",
    "GIT_COMMITTER_EMAIL": "gaia@localhost",
}


@dataclass(frozen=True)
class Worktree:
    repo: Path
    path: Path
    branch: str
    base_commit: str
    subdir: Path  # the task's work_dir relative to the repository root

    @property
    def work_dir(self) -> Path:
        return self.path / self.subdir


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    if shutil.which("git") is None:
        raise AgentError("worktree isolation needs git, which is not installed")
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env={**os.environ, **(env or {})},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AgentError(f"git {args[0]} in {cwd} took longer than {GIT_TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip()
        raise AgentError(f"git {' '.join(args[:2])} failed in {cwd}: {message}")
    return done.stdout


def branch_name(task_id: str) -> str:
    return f"gaia/{task_id}"


def repository_root(path: Path) -> Path | None:
    """The top of the git work tree containing ``path``, or None."""
    if shutil.which("git") is None or not path.is_dir():
        return None
    done = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=path,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    return Path(done.stdout.strip()).resolve() if done.returncode == 0 else None


def create_worktree(repo: Path, work_dir: Path, root: Path, task_id: str) -> Worktree:
    """Add a worktree of ``repo``'s HEAD on a new branch ``gaia/<task_id>``."""
    try:
        base = _git(repo, "rev-parse", "--verify", "HEAD^{commit}").strip()
    except AgentError:
        raise AgentError(
            f"cannot isolate the task in a worktree: the repository {repo} has no commits yet "
            "(commit once, or run with isolation none)"
        ) from None
    path = root / task_id
    root.mkdir(parents=True, exist_ok=True)
    branch = branch_name(task_id)
    _git(repo, "worktree", "add", "--quiet", "-b", branch, str(path), base)
    subdir = work_dir.resolve().relative_to(repo)
    # An untracked directory (new, or holding only untracked files) is not checked out.
    (path / subdir).mkdir(parents=True, exist_ok=True)
    return Worktree(repo=repo, path=path, branch=branch, base_commit=base, subdir=subdir)


def _identity_env(path: Path) -> dict[str, str]:
    done = subprocess.run(
        ["git", "config", "user.email"], cwd=path, capture_output=True, text=True, check=False
    )
    return {} if done.stdout.strip() else dict(_FALLBACK_IDENTITY)


def commit_changes(worktree: Worktree, message: str) -> tuple[str | None, dict[str, Any]]:
    """Commit everything the agent changed; the new commit (None if nothing) and diff stat."""
    _git(worktree.path, "add", "--all")
    staged = subprocess.run(
        ["git", "diff", "--cached", "--quiet"], cwd=worktree.path, check=False, timeout=GIT_TIMEOUT
    )
    if staged.returncode == 0:
        return None, {"files_changed": 0, "insertions": 0, "deletions": 0, "files": []}
    _git(
        worktree.path,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        env=_identity_env(worktree.path),
    )
    commit = _git(worktree.path, "rev-parse", "HEAD").strip()
    return commit, diff_stat(worktree.path, worktree.base_commit, commit)


def diff_stat(cwd: Path, base: str, commit: str) -> dict[str, Any]:
    numstat = _git(cwd, "diff", "--numstat", base, commit)
    files = []
    insertions = deletions = 0
    for line in numstat.splitlines():
        added, removed, name = line.split("\t", 2)
        files.append(name)
        insertions += int(added) if added.isdigit() else 0  # '-' for binary files
        deletions += int(removed) if removed.isdigit() else 0
    return {
        "files_changed": len(files),
        "insertions": insertions,
        "deletions": deletions,
        "files": files,
    }


def diff(repo: Path, base: str, commit: str, *, max_chars: int = 50_000) -> str:
    """The patch between two commits, cut at ``max_chars`` (it goes into a prompt)."""
    text = _git(repo, "diff", base, commit)
    if len(text) > max_chars:
        return text[:max_chars] + f"\n[diff truncated at {max_chars} characters]\n"
    return text


def remove_worktree(repo: Path, path: Path) -> None:
    """Remove the worktree (the branch stays); a worktree already gone is fine."""
    if path.exists():
        try:
            _git(repo, "worktree", "remove", "--force", str(path))
        except AgentError:
            shutil.rmtree(path, ignore_errors=True)
    if repo.exists():
        with contextlib.suppress(AgentError):
            _git(repo, "worktree", "prune")


def remove_worktrees(worktrees: Iterable[tuple[str, str]]) -> int:
    """Remove each (repository, worktree path) that still exists; how many were."""
    removed = 0
    for repo, path in worktrees:
        if Path(path).exists():
            remove_worktree(Path(repo), Path(path))
            removed += 1
    return removed
