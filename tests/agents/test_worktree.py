"""Worktree isolation: code tasks run on their own branch in a git worktree of the repo."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gaia.agents import AgentBridge, AgentResult, AgentTask, Isolation, TaskStatus, TaskType
from gaia.storage.models import agent_executions_table
from tests.agents.conftest import Harness, git, make_repo


def code_task(harness: Harness, name: str, *steps: str, work_dir: Path, **fields: Any) -> AgentTask:
    """A code task with the default isolation (a worktree) for the fake agent."""
    return harness.task(
        name, *steps, task_type=TaskType.code, isolation=None, work_dir=work_dir, **fields
    )


async def execute(bridge: AgentBridge, task: AgentTask) -> AgentResult:
    return await asyncio.wait_for(bridge.execute(task), 30)


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


async def test_code_task_runs_in_its_own_worktree(harness: Harness) -> None:
    """A code task works in $worktrees/<id> on gaia/<id>; the commit holds its changes."""
    repo = make_repo(harness.tmp / "repo")
    base = head(repo)
    bridge = await harness.bridge()
    task = code_task(harness, "feature", "@write feature.txt new feature", work_dir=repo)
    assert task.effective_isolation is Isolation.worktree
    result = await execute(bridge, task)
    assert result.status is TaskStatus.succeeded, result.error
    worktree = harness.worktrees / task.id
    assert Path(harness.journal.first("start", "feature")["cwd"]) == worktree
    assert result.branch == f"gaia/{task.id}"
    assert result.base_commit == base
    assert result.commit is not None and result.commit == head(repo, result.branch)
    assert head(repo, f"{result.commit}^") == base
    changed = git(repo, "show", "--name-only", "--format=", result.commit).split()
    assert changed == ["feature.txt"]
    assert git(repo, "show", f"{result.commit}:feature.txt") == "new feature\n"
    message = git(repo, "log", "-1", "--format=%B", result.commit)
    assert message.startswith("gaia: @name feature") and task.id in message
    assert result.diff_stat == {
        "files_changed": 1,
        "insertions": 1,
        "deletions": 0,
        "files": ["feature.txt"],
    }
    assert result.meta["worktree"] == str(worktree)
    # The repository's own work tree and branch are untouched.
    assert not (repo / "feature.txt").exists()
    assert git(repo, "status", "--porcelain") == ""
    assert head(repo) == base
    assert git(repo, "branch", "--show-current").strip() == "main"
    bridge.store.flush()  # results are written behind
    stored = bridge.get_result(task.id)
    assert stored is not None
    assert (stored.branch, stored.commit, stored.diff_stat) == (
        result.branch,
        result.commit,
        result.diff_stat,
    )


async def test_worktree_result_names_its_repository(harness: Harness) -> None:
    """The result of an isolated task says which repository its branch is in."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    result = await execute(bridge, code_task(harness, "f", "@write f.txt x", work_dir=repo))
    assert result.commit is not None
    # agent_tasks._summary reads meta["repo"]: a review needs it to find the diff.
    assert result.meta.get("repo") == str(repo)


async def test_sub_directory_maps_into_the_worktree(harness: Harness) -> None:
    """A work_dir inside the repository runs in the same sub-directory of the worktree."""
    repo = make_repo(harness.tmp / "repo", {"pkg/lib/mod.txt": "module\n"})
    bridge = await harness.bridge()
    task = code_task(harness, "sub", "@write out.txt result", work_dir=repo / "pkg" / "lib")
    result = await execute(bridge, task)
    assert result.success, result.error
    cwd = Path(harness.journal.first("start", "sub")["cwd"])
    assert cwd == harness.worktrees / task.id / "pkg" / "lib"
    assert result.diff_stat["files"] == ["pkg/lib/out.txt"]
    assert not (repo / "pkg" / "lib" / "out.txt").exists()


async def test_isolation_none_runs_in_place(harness: Harness) -> None:
    """A code task with isolation none runs in the repository itself, with no branch."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task = code_task(harness, "inplace", "@write here.txt x", work_dir=repo)
    task.isolation = Isolation.none
    result = await execute(bridge, task)
    assert result.success
    assert Path(harness.journal.first("start", "inplace")["cwd"]) == repo
    assert (repo / "here.txt").read_text() == "x\n"
    assert (result.branch, result.commit, result.base_commit) == (None, None, None)
    assert branches(repo) == ["main"]
    assert not harness.worktrees.exists()


async def test_outside_git_falls_back_to_in_place(harness: Harness) -> None:
    """A code task whose work_dir is not in a git repository runs in place and says so."""
    bridge = await harness.bridge()
    task = code_task(harness, "nogit", "@write loose.txt x", work_dir=harness.work)
    result = await execute(bridge, task)
    assert result.success
    assert Path(harness.journal.first("start", "nogit")["cwd"]) == harness.work
    assert (harness.work / "loose.txt").exists()
    assert result.branch is None
    bridge.store.flush()
    with harness.database().read() as conn:
        meta = conn.execute(
            select(agent_executions_table.c.metadata).where(
                agent_executions_table.c.task_id == task.id
            )
        ).scalar_one()
    assert meta == {"isolation": "none: not a git repository"}
    # ... and the result, which is what the API and the CLI show, says so too.
    assert result.meta.get("isolation") == "none: not a git repository"


async def test_task_that_changes_nothing_has_no_commit(harness: Harness) -> None:
    """An isolated task that changes nothing leaves its branch at the base, commit None."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task = code_task(harness, "idle", "@print looked around", work_dir=repo)
    result = await execute(bridge, task)
    assert result.success
    assert result.commit is None
    assert result.branch == f"gaia/{task.id}"
    assert head(repo, result.branch) == result.base_commit == head(repo)
    assert result.diff_stat == {"files_changed": 0, "insertions": 0, "deletions": 0, "files": []}


async def test_timed_out_task_keeps_its_partial_work(harness: Harness) -> None:
    """What a task changed before its timeout is committed on its branch."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task = code_task(
        harness, "partial", "@write half.txt half done", "@sleep 30", work_dir=repo, timeout=0.5
    )
    result = await execute(bridge, task)
    assert result.status is TaskStatus.timed_out
    assert result.commit is not None
    assert result.diff_stat["files"] == ["half.txt"]
    assert "(timed_out)" in git(repo, "log", "-1", "--format=%B", result.commit)


async def test_sweep_removes_worktrees_past_retention(harness: Harness) -> None:
    """sweep_worktrees removes finished tasks' worktrees past the retention; branches stay."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge(worktree_retention=3600.0)
    task = code_task(harness, "kept", "@write kept.txt x", work_dir=repo)
    result = await execute(bridge, task)
    worktree = harness.worktrees / task.id
    assert worktree.is_dir()
    bridge.store.flush()
    assert await asyncio.to_thread(bridge.sweep_worktrees) == 0
    assert worktree.is_dir()
    bridge.config = dataclasses.replace(bridge.config, worktree_retention=0.0)
    assert await asyncio.to_thread(bridge.sweep_worktrees) == 1
    assert not worktree.exists()
    assert str(worktree) not in git(repo, "worktree", "list")
    assert f"gaia/{task.id}" in branches(repo)
    assert head(repo, f"gaia/{task.id}") == result.commit
    assert await asyncio.to_thread(bridge.sweep_worktrees) == 0


async def test_zero_retention_removes_the_worktree_at_once(harness: Harness) -> None:
    """With retention 0 the worktree goes as soon as the task ends; the branch stays."""
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge(worktree_retention=0.0)
    task = code_task(harness, "gone", "@write gone.txt x", work_dir=repo)
    result = await execute(bridge, task)
    assert result.success and result.commit is not None
    assert not (harness.worktrees / task.id).exists()
    assert head(repo, f"gaia/{task.id}") == result.commit
    assert git(repo, "worktree", "list").count("\n") == 1


async def test_repository_without_commits_fails_clearly(harness: Harness) -> None:
    """A code task in a repository with no commit fails, saying why and what to do."""
    repo = harness.tmp / "empty"
    repo.mkdir()
    git(repo, "init", "--quiet")
    bridge = await harness.bridge()
    result = await execute(bridge, code_task(harness, "x", "@write a.txt x", work_dir=repo))
    assert result.status is TaskStatus.failed
    assert result.error is not None
    assert "has no commits yet" in result.error and "isolation none" in result.error
    assert harness.journal.started() == []


async def test_untracked_sub_directory_maps_into_the_worktree(harness: Harness) -> None:
    """A work_dir git does not track yet (a new, empty directory) still maps into the worktree."""
    repo = make_repo(harness.tmp / "repo")
    (repo / "newpkg").mkdir()
    bridge = await harness.bridge()
    task = code_task(harness, "new", "@write init.txt x", work_dir=repo / "newpkg")
    result = await execute(bridge, task)
    assert result.success, result.error
    cwd = Path(harness.journal.first("start", "new")["cwd"])
    assert cwd == harness.worktrees / task.id / "newpkg"
    assert result.diff_stat["files"] == ["newpkg/init.txt"]
