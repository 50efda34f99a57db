"""A task's diff (its worktree, or its branch once the worktree is gone) and its retry."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gaia.agents import Isolation, TaskStatus, TaskType
from gaia.agents.diff import task_diff
from gaia.agents.retry import retry_of
from gaia.errors import ConflictError
from tests.agents.conftest import Harness, git, make_repo


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


async def test_a_running_task_shows_its_uncommitted_and_untracked_changes(
    harness: Harness,
) -> None:
    repo = make_repo(harness.tmp / "repo", {"README.md": "hello\nworld\n"})
    base = head(repo)
    bridge = await harness.bridge()
    task = harness.task(
        "live",
        "@write README.md hello",
        "@write fresh.txt brand new",
        f"@wait {harness.flag('live')} 30",
        task_type=TaskType.code,
        isolation=None,
        work_dir=repo,
    )
    future = bridge.submit(task)
    await harness.started("live")
    worktree = harness.worktrees / task.id
    await harness.wait(lambda: (worktree / "fresh.txt").exists(), what="the agent to write")

    found = await asyncio.to_thread(task_diff, bridge.store, bridge.get_task(task.id))
    assert (found.source, found.base_commit, found.truncated) == ("worktree", base, False)
    assert "+brand new" in found.text and "-world" in found.text
    assert "diff --git a/fresh.txt b/fresh.txt" in found.text
    # The agent's own index is untouched: its new file is still untracked there.
    assert git(worktree, "status", "--porcelain").splitlines() == [" M README.md", "?? fresh.txt"]

    harness.release("live")
    result = await asyncio.wait_for(future, 30)
    assert result.status is TaskStatus.succeeded, result.error
    after = await asyncio.to_thread(task_diff, bridge.store, bridge.get_task(task.id))
    assert after.text == found.text


async def test_once_the_worktree_is_gone_the_diff_is_the_branchs(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo", {"README.md": "hello\nworld\n"})
    base = head(repo)
    bridge = await harness.bridge(worktree_retention=0)
    task = harness.task(
        "gone", "@write README.md hi", task_type=TaskType.code, isolation=None, work_dir=repo
    )
    result = await asyncio.wait_for(bridge.execute(task), 30)
    assert result.status is TaskStatus.succeeded, result.error
    assert not (harness.worktrees / task.id).exists()
    bridge.store.flush()
    found = await asyncio.to_thread(task_diff, bridge.store, bridge.get_task(task.id))
    assert (found.source, found.base_commit) == ("branch", base)
    assert "+hi" in found.text and "-hello" in found.text and "-world" in found.text

    unchanged = harness.task(
        "idle", "@print nothing", task_type=TaskType.code, isolation=None, work_dir=repo
    )
    await asyncio.wait_for(bridge.execute(unchanged), 30)
    bridge.store.flush()
    empty = await asyncio.to_thread(task_diff, bridge.store, bridge.get_task(unchanged.id))
    assert empty.text == ""


async def test_no_worktree_no_diff(harness: Harness) -> None:
    bridge = await harness.bridge()
    in_place = harness.task("here", "@print hi", isolation=Isolation.none)
    await asyncio.wait_for(bridge.execute(in_place), 30)
    bridge.store.flush()
    with pytest.raises(ConflictError, match=r"has no worktree to diff: it runs in place in .*"):
        task_diff(bridge.store, bridge.get_task(in_place.id))
    # Asked for a worktree outside any git repository: it ran in place.
    outside = harness.task("outside", "@print hi", isolation=Isolation.worktree)
    await asyncio.wait_for(bridge.execute(outside), 30)
    bridge.store.flush()
    with pytest.raises(ConflictError, match="the work_dir is not a git repository"):
        task_diff(bridge.store, bridge.get_task(outside.id))


async def test_a_queued_task_has_no_diff_yet_and_cannot_be_retried(harness: Harness) -> None:
    repo = make_repo(harness.tmp / "repo")
    bridge = await harness.bridge(harness.agent(max_concurrency=1))
    blocker = harness.blocker("first", work_dir=repo)
    bridge.submit(blocker)
    waiting = harness.task("second", "@print hi", task_type=TaskType.code, work_dir=repo)
    waiting.isolation = None
    bridge.submit(waiting)
    await harness.started("first")
    stored = bridge.get_task(waiting.id)
    assert stored.status is TaskStatus.queued
    with pytest.raises(ConflictError, match=r"has not started yet \(queued\)"):
        task_diff(bridge.store, stored)
    with pytest.raises(ConflictError, match="only a finished task can be retried"):
        retry_of(stored)
    harness.release("first")


async def test_a_retry_asks_what_the_task_asked(harness: Harness) -> None:
    bridge = await harness.bridge()
    task = harness.task("again", "@exit 3", priority=7, timeout=60, context={"ticket": "T-1"})
    result = await asyncio.wait_for(bridge.execute(task), 30)
    assert result.status is TaskStatus.failed
    bridge.store.flush()
    fresh = retry_of(bridge.get_task(task.id))
    assert fresh.id != task.id
    assert fresh.meta == {"retry_of": task.id}
    for name in ("instruction", "agent_id", "task_type", "context", "work_dir", "timeout"):
        assert getattr(fresh, name) == getattr(task, name), name
    assert (fresh.priority, fresh.isolation, fresh.visible) == (7, Isolation.none, False)
