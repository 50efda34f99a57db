"""The bridge's queue: priority order, FIFO among equals, per-agent limits, the worker pool."""

from __future__ import annotations

import asyncio
from collections import Counter

from gaia.agents import AgentBridge, AgentResult, TaskStatus
from tests.agents.conftest import Harness


def trace_peaks(bridge: AgentBridge, agent_of: dict[str, str]) -> tuple[int, dict[str, int]]:
    """The most tasks running at once in the bridge's own trace: in total and per agent."""
    assert bridge.trace is not None
    running: Counter[str] = Counter()
    total = peak_total = 0
    peaks: Counter[str] = Counter()
    for kind, task_id in bridge.trace:
        agent = agent_of[task_id]
        step = 1 if kind == "start" else -1
        running[agent] += step
        total += step
        peaks[agent] = max(peaks[agent], running[agent])
        peak_total = max(peak_total, total)
    return peak_total, dict(peaks)


async def gather(*futures: asyncio.Future[AgentResult], timeout: float = 30) -> list[AgentResult]:
    return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))


async def test_priority_order_with_one_worker(harness: Harness) -> None:
    """Queued tasks start by priority, highest first, equal priorities in submission order."""
    bridge = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    blocker = bridge.submit(harness.blocker("blocker"))
    await harness.started("blocker")
    futures = [
        bridge.submit(harness.task(name, priority=priority))
        for name, priority in [("p1", 1), ("p5-first", 5), ("p3", 3), ("p5-second", 5), ("p0", 0)]
    ]
    assert bridge.load("fake") == 6
    harness.release("blocker")
    results = await gather(blocker, *futures)
    assert [r.status for r in results] == [TaskStatus.succeeded] * 6
    assert harness.journal.started() == ["blocker", "p5-first", "p5-second", "p3", "p1", "p0"]
    assert bridge.peak_concurrency == {"fake": 1}


async def test_fifo_among_equal_priorities(harness: Harness) -> None:
    """Among many tasks, equal priorities start in submission order within each priority."""
    bridge = await harness.bridge(harness.agent(max_concurrency=1), workers=4)
    bridge.trace = []
    blocker = bridge.submit(harness.blocker("blocker"))
    await harness.started("blocker")
    priorities = [(index * 7) % 3 for index in range(30)]  # 0, 1, 2 interleaved
    tasks = [harness.task(f"t{index:02d}", priority=p) for index, p in enumerate(priorities)]
    futures = [bridge.submit(task) for task in tasks]
    harness.release("blocker")
    results = await gather(blocker, *futures)
    assert all(r.success for r in results)
    expected = [
        task.instruction.splitlines()[0].removeprefix("@name ")
        for _index, task in sorted(enumerate(tasks), key=lambda it: (-it[1].priority, it[0]))
    ]
    assert harness.journal.started() == ["blocker", *expected]
    starts = [task_id for kind, task_id in bridge.trace if kind == "start"]
    by_id = {task.id: task for task in tasks}
    assert [by_id[i].priority for i in starts[1:]] == sorted(priorities, reverse=True)


async def test_per_agent_limits_under_load(harness: Harness) -> None:
    """With a large pool, each agent runs at most its max_concurrency at once, and reaches it."""
    limits = {"a": 2, "b": 3, "c": 1}
    agents = [harness.agent(name, max_concurrency=n) for name, n in limits.items()]
    bridge = await harness.bridge(*agents, workers=32)
    bridge.trace = []
    tasks = [
        harness.task(f"{name}{index}", "@sleep 0.1", agent=name)
        for index in range(30)
        for name in limits
    ]
    results = await gather(*(bridge.submit(task) for task in tasks), timeout=60)
    assert all(r.success for r in results), [r.error for r in results if not r.success]
    for name, limit in limits.items():
        assert harness.journal.max_concurrency(name) == limit, name
    assert bridge.peak_concurrency == limits
    _total, peaks = trace_peaks(bridge, {task.id: task.agent_id for task in tasks})
    assert peaks == limits
    stats = {s.agent_id: s for s in bridge.stats()}
    assert {name: stats[name].succeeded for name in limits} == dict.fromkeys(limits, 30)


async def test_worker_pool_caps_total_concurrency(harness: Harness) -> None:
    """The worker pool bounds the tasks running at once across all agents."""
    agents = [harness.agent(name, max_concurrency=4) for name in ("x", "y")]
    bridge = await harness.bridge(*agents, workers=3)
    bridge.trace = []
    tasks = [
        harness.task(f"{name}{index}", "@sleep 0.1", agent=name)
        for index in range(8)
        for name in ("x", "y")
    ]
    results = await gather(*(bridge.submit(task) for task in tasks))
    assert all(r.success for r in results)
    assert harness.journal.max_concurrency() == 3
    total, peaks = trace_peaks(bridge, {task.id: task.agent_id for task in tasks})
    assert total == 3
    assert all(peak <= 3 for peak in peaks.values())
    assert all(peak <= 3 for peak in bridge.peak_concurrency.values())


async def test_full_agent_does_not_block_another_agents_task(harness: Harness) -> None:
    """An agent at its limit with high-priority tasks queued holds up no other agent's task."""
    bridge = await harness.bridge(
        harness.agent("a", max_concurrency=1), harness.agent("b", max_concurrency=1), workers=4
    )
    blocker = bridge.submit(harness.blocker("a-blocker", agent="a"))
    await harness.started("a-blocker")
    high = [bridge.submit(harness.task(f"a-high{i}", agent="a", priority=10)) for i in range(3)]
    low = await asyncio.wait_for(bridge.submit(harness.task("b-low", agent="b", priority=-5)), 10)
    assert low.success
    # a's tasks are still where they were: the blocker running, the rest queued.
    assert not harness.journal.has("end", "a-blocker")
    assert bridge.load("a") == 4
    assert all(not f.done() for f in high)
    harness.release("a-blocker")
    await gather(blocker, *high)
    assert harness.journal.started() == ["a-blocker", "b-low", "a-high0", "a-high1", "a-high2"]


async def test_priority_spans_agents_when_the_pool_is_full(harness: Harness) -> None:
    """When the pool frees a worker, the highest-priority task of any agent gets it."""
    bridge = await harness.bridge(
        harness.agent("a", max_concurrency=2), harness.agent("b", max_concurrency=2), workers=1
    )
    blocker = bridge.submit(harness.blocker("blocker", agent="a"))
    await harness.started("blocker")
    futures = [
        bridge.submit(harness.task(name, agent=agent, priority=priority))
        for name, agent, priority in [
            ("a1", "a", 1),
            ("b5", "b", 5),
            ("a3", "a", 3),
            ("b0", "b", 0),
        ]
    ]
    harness.release("blocker")
    await gather(blocker, *futures)
    assert harness.journal.started() == ["blocker", "b5", "a3", "a1", "b0"]


async def test_execute_parallel_keeps_the_given_order(harness: Harness) -> None:
    """execute_parallel returns results in the order of its tasks, not the order they finish."""
    bridge = await harness.bridge(harness.agent(max_concurrency=3))
    sleeps = {"slow": 0.6, "fast": 0.05, "middle": 0.3}
    tasks = [harness.task(name, f"@sleep {s}", f"@print {name}") for name, s in sleeps.items()]
    results = await asyncio.wait_for(bridge.execute_parallel(tasks), 30)
    assert [r.task_id for r in results] == [task.id for task in tasks]
    assert [r.output for r in results] == ["slow\n", "fast\n", "middle\n"]
    assert harness.journal.ended() == ["fast", "middle", "slow"]
