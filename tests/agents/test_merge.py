"""Merging a finished task's branch into its repository, or discarding it: real git, real
agents (tests/agents/fake_agent.py) committing in real worktrees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gaia.agents import AgentBridge, TaskStatus, TaskType
from gaia.agents.diff import task_diff
from gaia.agents.merge import discard_task, merge_task
from gaia.agents.views import task_view
from gaia.errors import ConflictError
from tests.agents.conftest import Harness, git, make_repo


def snapshot(repo: Path) -> dict[str, str]:
    """Everything a refused merge must leave as it was: refs, HEAD, status, index, worktrees."""
    return {
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
        "head": git(repo, "symbolic-ref", "HEAD"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all"),
        "index": git(repo, "ls-files", "--stage"),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
        "readme": (repo / "README.md").read_text(),
    }


async def run_task(
    harness: Harness, bridge: AgentBridge, repo: Path, name: str, *steps: str
) -> str:
    task = harness.task(name, *steps, task_type=TaskType.code, isolation=None, work_dir=repo)
    result = await asyncio.wait_for(bridge.execute(task), 30)
    assert result.status is TaskStatus.succeeded, result.error
    assert result.branch == f"gaia/{task.id}" and result.commit
    bridge.store.flush()
    return task.id


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


async def test_a_clean_merge_fast_forwards_the_current_branch_and_removes_the_worktree(
    harness: Harness,
) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task_id = await run_task(harness, bridge, repo, "add", "@write added.txt from the agent")
    worktree = harness.worktrees / task_id
    assert worktree.is_dir()

    done = await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id))
    assert (done.review, done.into, done.fast_forward, done.squash) == (
        "merged",
        "main",
        True,
        False,
    )
    assert git(repo, "rev-parse", "main").strip() == done.commit
    assert (repo / "added.txt").read_text() == "from the agent\n"  # the checkout followed
    assert git(repo, "status", "--porcelain") == ""
    assert not worktree.exists() and done.worktree_removed
    assert done.branch_deleted and f"gaia/{task_id}" not in branches(repo)
    assert task_view(bridge.get_task(task_id)).review == "merged"
    # Its branch is gone, its diff is not: the commit it had is in main now.
    shown = await asyncio.to_thread(task_diff, bridge.store, bridge.get_task(task_id))
    assert shown.source == "branch" and "+from the agent" in shown.text

    with pytest.raises(ConflictError, match="was already merged"):
        merge_task(bridge.store, bridge.get_task(task_id))


async def test_a_squash_onto_a_moved_branch_is_one_commit_and_keeps_the_branch(
    harness: Harness,
) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task_id = await run_task(harness, bridge, repo, "squash", "@write added.txt agent")
    (repo / "other.txt").write_text("mine\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "--quiet", "-m", "meanwhile")
    before = git(repo, "rev-parse", "main").strip()

    done = await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id), squash=True)
    assert (done.squash, done.fast_forward) == (True, False)
    parents = git(repo, "rev-list", "--parents", "-n", "1", "main").split()
    assert parents == [str(done.commit), before]  # one parent: no merge commit
    assert (repo / "added.txt").read_text() == "agent\n"
    assert (repo / "other.txt").read_text() == "mine\n"
    # The target holds the content, not the commits: the branch stays.
    assert not done.branch_deleted and f"gaia/{task_id}" in branches(repo)
    assert not (harness.worktrees / task_id).exists()


async def test_a_merge_into_a_branch_not_checked_out_makes_a_merge_commit(
    harness: Harness,
) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    git(repo, "branch", "release")
    task_id = await run_task(harness, bridge, repo, "rel", "@write added.txt agent")
    git(repo, "switch", "--quiet", "release")
    (repo / "other.txt").write_text("release\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "--quiet", "-m", "on release")
    git(repo, "switch", "--quiet", "main")
    main_before = git(repo, "rev-parse", "main").strip()

    done = await asyncio.to_thread(
        merge_task, bridge.store, bridge.get_task(task_id), into="release"
    )
    assert done.into == "release" and not done.fast_forward
    assert len(git(repo, "rev-list", "--parents", "-n", "1", "release").split()) == 3
    assert git(repo, "show", "release:added.txt") == "agent\n"
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert not (repo / "added.txt").exists()  # main's checkout was not touched
    assert done.branch_deleted


async def test_a_dirty_target_is_refused_and_nothing_changes(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo", {"README.md": "hello\n", "b.txt": "b\n"})
    bridge = await harness.bridge()
    task_id = await run_task(harness, bridge, repo, "dirty", "@write added.txt agent")
    (repo / "README.md").write_text("edited, not committed\n")
    (repo / "b.txt").write_text("staged\n")
    git(repo, "add", "b.txt")
    before = snapshot(repo)

    with pytest.raises(ConflictError, match="has uncommitted changes") as caught:
        await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id))
    assert sorted(caught.value.details["files"]) == ["README.md", "b.txt"]
    assert snapshot(repo) == before
    assert (harness.worktrees / task_id / "added.txt").exists()
    assert task_view(bridge.get_task(task_id)).review is None


async def test_a_conflict_names_the_files_and_nothing_changes(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo", {"README.md": "hello\n", "notes.md": "a\n"})
    bridge = await harness.bridge()
    task_id = await run_task(
        harness, bridge, repo, "clash", "@write README.md agent", "@write notes.md agent"
    )
    (repo / "README.md").write_text("user\n")
    (repo / "notes.md").write_text("user\n")
    git(repo, "commit", "--quiet", "-am", "the user's edit")
    before = snapshot(repo)

    with pytest.raises(ConflictError, match=r"conflicts in README\.md, notes\.md") as caught:
        await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id))
    assert caught.value.details["files"] == ["README.md", "notes.md"]
    assert snapshot(repo) == before
    assert (harness.worktrees / task_id).is_dir()
    assert git(harness.worktrees / task_id, "status", "--porcelain") == ""


async def test_discard_removes_the_worktree_and_the_branch(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task_id = await run_task(harness, bridge, repo, "drop", "@write added.txt agent")
    main_before = git(repo, "rev-parse", "main").strip()

    done = await asyncio.to_thread(discard_task, bridge.store, bridge.get_task(task_id))
    assert (done.review, done.branch_deleted, done.worktree_removed) == ("discarded", True, True)
    assert not (harness.worktrees / task_id).exists()
    assert branches(repo) == ["main"]
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert task_view(bridge.get_task(task_id)).review == "discarded"
    with pytest.raises(ConflictError, match="it was discarded"):
        task_diff(bridge.store, bridge.get_task(task_id))
    with pytest.raises(ConflictError, match="was already discarded"):
        merge_task(bridge.store, bridge.get_task(task_id))


async def test_a_running_task_cannot_be_merged_or_discarded(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task = harness.blocker("busy", task_type=TaskType.code, isolation=None, work_dir=repo)
    future = bridge.submit(task)
    await harness.started("busy")
    for action in (merge_task, discard_task):
        with pytest.raises(ConflictError, match="only a finished task can be"):
            action(bridge.store, bridge.get_task(task.id))
    harness.release("busy")
    await asyncio.wait_for(future, 30)


async def test_work_left_in_the_worktree_or_an_untracked_file_in_the_way_is_refused(
    harness: Harness,
) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge()
    task_id = await run_task(harness, bridge, repo, "left", "@write added.txt agent")
    worktree = harness.worktrees / task_id
    (worktree / "later.txt").write_text("written after the task\n")
    before = snapshot(repo)
    with pytest.raises(ConflictError, match=r"its worktree .* has uncommitted changes \(later"):
        await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id))
    assert snapshot(repo) == before and (worktree / "later.txt").exists()

    (worktree / "later.txt").unlink()
    (repo / "added.txt").write_text("the user's, untracked\n")
    before = snapshot(repo)
    with pytest.raises(ConflictError, match="untracked working tree files would be overwritten"):
        await asyncio.to_thread(merge_task, bridge.store, bridge.get_task(task_id))
    assert snapshot(repo) == before
    assert (repo / "added.txt").read_text() == "the user's, untracked\n"
    assert task_view(bridge.get_task(task_id)).review is None
