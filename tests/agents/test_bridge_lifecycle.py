"""The bridge's tasks over time: timeouts, cancellation, close, restart, statistics."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import psutil
import pytest
from sqlalchemy import update

from gaia.agents import AgentRegistry, AgentResult, BridgeState, TaskStatus
from gaia.agents.store import AgentStore
from gaia.errors import AgentError, ConflictError, NotFoundError
from gaia.storage.models import agent_tasks_table
from tests.agents.conftest import Harness
from tests.helpers import proc_gone

# An agent that leaves two SIGTERM-ignoring grandchildren (one in its process group, one
# in a session of its own), ignores SIGTERM itself and would run for half a minute.
STUBBORN = ("@grandchild", "@grandchild setsid", "@ignore-term", "@sleep 30")


async def tree_of(harness: Harness, name: str) -> list[psutil.Process]:
    """The fake agent ``name`` and both its grandchildren, once all three are up."""
    start = await harness.started(name)
    await harness.wait(
        lambda: len([e for e in harness.journal.events("grandchild") if e["task"] == name]) == 2,
        what=f"{name}'s grandchildren",
    )
    pids = [start["pid"]]
    pids += [e["child"] for e in harness.journal.events("grandchild") if e["task"] == name]
    return [psutil.Process(pid) for pid in pids]


async def assert_all_gone(harness: Harness, processes: list[psutil.Process]) -> None:
    await harness.wait(
        lambda: all(proc_gone(p) for p in processes), timeout=5, what="the process tree to die"
    )


def stored(harness: Harness, task_id: str) -> Any:
    found = AgentStore(harness.database()).get(task_id)
    assert found is not None
    return found


async def test_timeout_kills_the_whole_tree(harness: Harness) -> None:
    """A task past its timeout ends timed_out and its process tree, grandchildren too, dies."""
    bridge = await harness.bridge()
    future = bridge.submit(harness.task("slow", *STUBBORN, timeout=0.5))
    tree = await tree_of(harness, "slow")
    t0 = time.monotonic()
    result = await asyncio.wait_for(future, 15)
    assert result.status is TaskStatus.timed_out
    assert result.error is not None and "timed out after" in result.error
    assert "500ms" in result.error
    assert time.monotonic() - t0 < 5  # 0.5 s, then 1 s of kill grace
    await assert_all_gone(harness, tree)
    assert not harness.journal.has("end", "slow")


async def test_cancel_running_task_kills_the_tree(harness: Harness) -> None:
    """Cancelling a running task kills its process tree and finishes it cancelled."""
    bridge = await harness.bridge()
    task = harness.task("victim", *STUBBORN)
    waiter = asyncio.create_task(bridge.execute(task))
    tree = await tree_of(harness, "victim")
    result = await asyncio.wait_for(bridge.cancel(task.id), 15)
    assert result is not None
    assert result.status is TaskStatus.cancelled
    assert result.error == "cancelled while running"
    assert (await asyncio.wait_for(waiter, 5)).status is TaskStatus.cancelled
    await assert_all_gone(harness, tree)
    await harness.wait(lambda: bridge.get_result(task.id) is not None)
    assert bridge.get_task(task.id).status is TaskStatus.cancelled
    with pytest.raises(ConflictError, match="already finished"):
        await bridge.cancel(task.id)
    with pytest.raises(NotFoundError):
        await bridge.cancel("no-such-task")


async def test_cancelling_the_caller_cancels_the_task(harness: Harness) -> None:
    """Cancelling the coroutine awaiting execute() cancels the task and kills its tree."""
    bridge = await harness.bridge()
    task = harness.task("abandoned", *STUBBORN)
    waiter = asyncio.create_task(bridge.execute(task))
    tree = await tree_of(harness, "abandoned")
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiter, 15)
    await assert_all_gone(harness, tree)
    await harness.wait(lambda: bridge.get_result(task.id) is not None)
    assert bridge.get_task(task.id).status is TaskStatus.cancelled


async def test_cancel_queued_task_never_starts_it(harness: Harness) -> None:
    """A task cancelled while queued finishes cancelled and its agent never starts."""
    bridge = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    blocker = bridge.submit(harness.blocker("blocker"))
    await harness.started("blocker")
    never = harness.task("never")
    future = bridge.submit(never)
    assert bridge.load("fake") == 2
    result = await bridge.cancel(never.id)
    assert result is not None
    assert result.status is TaskStatus.cancelled
    assert result.error == "cancelled before it started"
    assert future.done() and future.result() is result
    assert bridge.load("fake") == 1
    harness.release("blocker")
    after = await asyncio.wait_for(bridge.execute(harness.task("after")), 15)
    assert after.success and (await blocker).success
    assert harness.journal.started() == ["blocker", "after"]
    await harness.wait(lambda: bridge.get_result(never.id) is not None)
    assert bridge.get_task(never.id).status is TaskStatus.cancelled
    assert bridge.get_task(never.id).started_at is None


async def test_queue_survives_a_restart(harness: Harness) -> None:
    """Closing a bridge cancels what runs and keeps the queue; the next bridge runs it."""
    first = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    blocker_task = harness.blocker("blocker")
    blocker = first.submit(blocker_task)
    await harness.started("blocker")
    queued = [
        harness.task(name, f"@print {name}", priority=p)
        for name, p in [("q1", 1), ("q3", 3), ("q2", 2)]
    ]
    futures = [first.submit(task) for task in queued]
    await asyncio.wait_for(first.close(grace=0), 15)
    assert first.state is BridgeState.closed
    assert (await blocker).status is TaskStatus.cancelled
    for future in futures:
        error = future.exception()
        assert isinstance(error, AgentError) and "stays queued" in str(error)
    assert [stored(harness, t.id).status for t in queued] == [TaskStatus.queued] * 3
    assert stored(harness, blocker_task.id).status is TaskStatus.cancelled

    second = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    results: list[AgentResult] = await harness.wait(
        lambda: (
            all(second.get_result(t.id) for t in queued)
            and [second.get_result(t.id) for t in queued]
        ),
        what="the adopted tasks to finish",
    )
    assert [r.status for r in results] == [TaskStatus.succeeded] * 3
    assert [r.output for r in results] == ["q1\n", "q3\n", "q2\n"]
    assert harness.journal.started() == ["blocker", "q3", "q2", "q1"]
    assert second.get_task(queued[0].id).owner_pid is not None


async def test_restart_cancels_tasks_of_a_workflow_process(harness: Harness) -> None:
    """Queued tasks of a non-daemon bridge are not adopted: the daemon finishes them cancelled."""
    first = await harness.bridge(harness.agent(max_concurrency=1), workers=1, adopt=False)
    blocker = first.submit(harness.blocker("blocker"))
    await harness.started("blocker")
    orphan = harness.task("orphan")
    first.submit(orphan).add_done_callback(lambda f: f.exception())
    await first.close(grace=0)
    assert (await blocker).status is TaskStatus.cancelled
    second = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    task = second.get_task(orphan.id)
    assert task.status is TaskStatus.cancelled
    assert task.error == "interrupted: its owner stopped"
    assert second.load("fake") == 0
    assert harness.journal.started() == ["blocker"]


async def test_close_gives_running_tasks_a_grace_period(harness: Harness) -> None:
    """close() lets running tasks finish within its grace, cancels the rest, takes no more."""
    bridge = await harness.bridge(harness.agent(max_concurrency=2))
    quick = bridge.submit(harness.task("quick", "@sleep 0.3"))
    slow = bridge.submit(harness.task("slow", *STUBBORN))
    await harness.started("quick")
    tree = await tree_of(harness, "slow")
    t0 = time.monotonic()
    closing = asyncio.create_task(bridge.close(grace=1.0))
    await asyncio.sleep(0.05)
    assert bridge.state.value == "closing"
    with pytest.raises(AgentError, match="takes no new tasks"):
        bridge.submit(harness.task("late"))
    await asyncio.wait_for(closing, 15)
    elapsed = time.monotonic() - t0
    assert bridge.state is BridgeState.closed
    assert (await quick).status is TaskStatus.succeeded
    slow_result = await slow
    assert slow_result.status is TaskStatus.cancelled
    assert 1.0 <= elapsed < 5.0  # the grace, then at most the kill grace
    await assert_all_gone(harness, tree)
    with pytest.raises(AgentError, match="takes no new tasks"):
        bridge.submit(harness.task("later"))
    assert not harness.journal.has("start", "late")
    assert not harness.journal.has("start", "later")


async def test_stats_count_outcomes_and_survive_a_restart(harness: Harness) -> None:
    """Statistics count each outcome and mean duration, and a new bridge reads them back."""
    bridge = await harness.bridge(harness.agent(max_concurrency=8))
    tasks = [
        harness.task("ok1", "@sleep 0.2"),
        harness.task("ok2", "@sleep 0.2"),
        harness.task("bad", "@exit 3"),
        harness.task("late", "@sleep 30", timeout=0.3),
        harness.task("stopped", "@sleep 30"),
    ]
    futures = [bridge.submit(task) for task in tasks]
    await harness.started("stopped")
    await bridge.cancel(tasks[-1].id)
    results = await asyncio.wait_for(asyncio.gather(*futures), 15)
    assert [r.status for r in results] == [
        TaskStatus.succeeded,
        TaskStatus.succeeded,
        TaskStatus.failed,
        TaskStatus.timed_out,
        TaskStatus.cancelled,
    ]
    durations = [r.duration_ms for r in results]
    assert all(d is not None for d in durations)
    expected_mean = sum(d for d in durations if d is not None) / len(durations)
    assert all(d is not None and d >= 200 for d in durations[:2])

    (stats,) = bridge.stats("fake")
    assert (stats.total, stats.succeeded, stats.failed, stats.cancelled) == (5, 2, 2, 1)
    assert stats.success_rate == pytest.approx(0.5)
    assert stats.mean_duration_ms == pytest.approx(expected_mean)
    assert (stats.active, stats.queued, stats.peak_concurrency) == (0, 0, 5)
    await bridge.close()

    again = await harness.bridge(harness.agent("other"))
    by_agent = {s.agent_id: s for s in again.stats()}
    assert set(by_agent) == {"fake", "other"}
    seeded = by_agent["fake"]
    assert (seeded.total, seeded.succeeded, seeded.failed, seeded.cancelled) == (5, 2, 2, 1)
    assert seeded.success_rate == pytest.approx(0.5)
    assert seeded.mean_duration_ms == pytest.approx(expected_mean)
    assert (seeded.active, seeded.queued, seeded.peak_concurrency) == (0, 0, 0)
    other = by_agent["other"]
    assert (other.total, other.success_rate, other.mean_duration_ms) == (0, None, None)
    assert again.stats("fake") == [seeded]
    with pytest.raises(NotFoundError):
        again.stats("nobody")


async def test_cancel_right_after_submit_frees_the_slot(harness: Harness) -> None:
    """A task cancelled before its runner got to run ends cancelled and frees its slot."""
    bridge = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    task = harness.task("instant")
    future = bridge.submit(task)  # dispatched at once: it holds the only slot
    # Awaited directly, in the same step as the submit: the runner has not run yet.
    result = await bridge.cancel(task.id)
    assert result is not None and result.status is TaskStatus.cancelled
    assert future.done() and future.result().status is TaskStatus.cancelled
    (stats,) = bridge.stats("fake")
    assert (stats.active, stats.queued, stats.cancelled) == (0, 0, 1)
    after = await asyncio.wait_for(bridge.execute(harness.task("after")), 10)
    assert after.success
    assert harness.journal.started() == ["after"]


@pytest.mark.parametrize("reused", [True, False])
async def test_an_owner_whose_pid_was_reused_is_dead(harness: Harness, reused: bool) -> None:
    """Queued tasks whose owner's pid now belongs to another process are adopted.

    The owner is a live process; only its create time says whether it is the one that
    queued the task (a reused pid) or not. A pid alone kept the dead owner alive.
    """
    first = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    blocker = first.submit(harness.blocker("blocker"))
    await harness.started("blocker")
    waiting = harness.task("waiting", "@print adopted")
    first.submit(waiting).add_done_callback(lambda f: f.exception())
    await first.close(grace=0)
    assert (await blocker).status is TaskStatus.cancelled
    other = psutil.Popen(["sleep", "60"])
    try:
        started_at = other.create_time() - (1000 if reused else 0)
        with harness.database().write() as conn:
            conn.execute(
                update(agent_tasks_table)
                .where(agent_tasks_table.c.id == waiting.id)
                .values(owner_pid=other.pid, owner_started_at=started_at)
            )
        second = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
        if reused:
            result = await harness.wait(lambda: second.get_result(waiting.id), what="adoption")
            assert result.status is TaskStatus.succeeded
        else:
            assert second.get_task(waiting.id).status is TaskStatus.queued
            assert second.load("fake") == 0
    finally:
        other.kill()
        other.wait()


async def test_reconfigure_raises_a_limit_and_queued_tasks_start(harness: Harness) -> None:
    """A settings reload hands the bridge a new registry: a raised limit applies at once."""
    bridge = await harness.bridge(harness.agent(max_concurrency=1))
    first = bridge.submit(harness.blocker("first"))
    second = bridge.submit(harness.blocker("second"))
    await harness.started("first")
    assert bridge.load("fake") == 2 and not harness.journal.has("start", "second")

    registry = AgentRegistry()
    registry.register(harness.agent(max_concurrency=2))
    bridge.reconfigure(registry, dataclasses.replace(bridge.config, workers=4))
    await harness.started("second")  # started by the reconfigure itself, nothing else ran
    assert bridge.config.workers == 4
    assert bridge.config.logs_dir == harness.logs  # where logs go is not the settings'
    harness.release("first")
    harness.release("second")
    results = await asyncio.wait_for(asyncio.gather(first, second), 30)
    assert [r.status for r in results] == [TaskStatus.succeeded] * 2
    assert bridge.peak_concurrency == {"fake": 2}
