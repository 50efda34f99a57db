"""Choosing an agent: ``auto`` tasks go to the least busy available agent taking their type."""

from __future__ import annotations

import asyncio

import pytest

from gaia.agents import AgentBridge, AgentTask, TaskType
from gaia.errors import AgentUnavailableError
from tests.agents.conftest import Harness


async def team(harness: Harness) -> AgentBridge:
    """alpha and beta (AI agents), a review-only agent, an agent not installed, the shell."""
    return await harness.bridge(
        harness.agent("alpha", max_concurrency=2),
        harness.agent("beta", max_concurrency=2),
        harness.agent("reviewer", max_concurrency=4, capabilities=["review"]),
        harness.agent("ghost", command=["/nonexistent/ghost-cli", "{prompt}"]),
        harness.agent("system", command=None),
    )


async def test_coordinate_balances_by_active_plus_queued(harness: Harness) -> None:
    """Each auto task goes to the fitting available agent with the fewest active+queued."""
    bridge = await team(harness)
    blockers = [bridge.submit(harness.blocker(f"hold{i}", agent="alpha")) for i in range(2)]
    await harness.started("hold0")
    await harness.started("hold1")
    assert (bridge.load("alpha"), bridge.load("beta")) == (2, 0)
    code = [harness.task(f"code{i}", agent="auto", task_type=TaskType.code) for i in range(4)]
    reviews = [harness.task(f"review{i}", agent="", task_type=TaskType.review) for i in range(2)]
    batch = asyncio.create_task(bridge.coordinate([*code, *reviews]))
    await harness.wait(lambda: all(t.agent_id not in ("auto", "") for t in [*code, *reviews]))
    # alpha 2 / beta 0 -> beta; 2/1 -> beta; 2/2 -> alpha (first registered); 3/2 -> beta.
    assert [t.agent_id for t in code] == ["beta", "beta", "alpha", "beta"]
    # The reviewer takes reviews only, and is the least busy of those taking them.
    assert [t.agent_id for t in reviews] == ["reviewer", "reviewer"]
    for i in range(2):
        harness.release(f"hold{i}")
    results = await asyncio.wait_for(batch, 30)
    await asyncio.wait_for(asyncio.gather(*blockers), 10)
    assert [r.agent_id for r in results] == [t.agent_id for t in [*code, *reviews]]
    assert all(r.success for r in results)
    ran = {e["task"]: e["agent"] for e in harness.journal.events("start")}
    assert ran == {
        "hold0": "alpha",
        "hold1": "alpha",
        "code0": "beta",
        "code1": "beta",
        "code2": "alpha",
        "code3": "beta",
        "review0": "reviewer",
        "review1": "reviewer",
    }
    stored = bridge.get_task(code[0].id)
    assert (stored.requested_agent, stored.task.agent_id) == ("auto", "beta")


async def test_auto_never_chooses_an_unavailable_or_unfit_agent(harness: Harness) -> None:
    """ghost (not installed) and reviewer (review only) never get an auto code task."""
    bridge = await team(harness)
    tasks = [harness.task(f"t{i}", task_type=TaskType.code, agent="auto") for i in range(12)]
    results = await asyncio.wait_for(bridge.coordinate(tasks), 30)
    assert all(r.success for r in results)
    assert {r.agent_id for r in results} == {"alpha", "beta"}


async def test_auto_prefers_ai_agents_and_sends_shell_tasks_to_the_shell(
    harness: Harness,
) -> None:
    """test tasks go to an AI agent when one takes them; shell tasks go to the system agent."""
    bridge = await team(harness)
    assert bridge.choose_agent("test") == "alpha"
    assert bridge.choose_agent("shell") == "system"
    assert bridge.choose_agent("review") == "alpha"


async def test_explicit_agent_errors(harness: Harness) -> None:
    """Unknown, unavailable and unfit agents are refused at submission with a clear reason."""
    bridge = await team(harness)
    with pytest.raises(AgentUnavailableError, match=r"'nobody' is not registered \(registered"):
        bridge.submit(harness.task("x", agent="nobody"))
    with pytest.raises(AgentUnavailableError, match="'ghost' is not available"):
        bridge.submit(harness.task("x", agent="ghost"))
    with pytest.raises(AgentUnavailableError, match="'reviewer' does not take code tasks"):
        bridge.submit(harness.task("x", agent="reviewer", task_type=TaskType.code))
    assert harness.journal.started() == []


async def test_no_agent_for_the_type(harness: Harness) -> None:
    """An auto task no available agent takes is refused, naming the type and the agents."""
    bridge = await harness.bridge(
        harness.agent("reviewer", capabilities=["review"]),
        harness.agent("ghost", command=["/nonexistent/ghost-cli", "{prompt}"]),
    )
    message = r"no available agent takes code tasks \(registered: reviewer, ghost\)"
    with pytest.raises(AgentUnavailableError, match=message):
        bridge.submit(harness.task("x", agent="auto", task_type=TaskType.code))
    with pytest.raises(AgentUnavailableError, match=message):
        await bridge.coordinate([harness.task("y", agent="auto", task_type=TaskType.code)])


async def test_rejected_batch_leaves_no_task_behind(harness: Harness) -> None:
    """When coordinate refuses one task of a batch, no task of the batch is queued at all."""
    bridge = await harness.bridge(harness.agent("reviewer", capabilities=["review"]))
    first = harness.task("first", "@sleep 0.2", agent="auto", task_type=TaskType.review)
    second = harness.task("second", agent="auto", task_type=TaskType.code)
    with pytest.raises(AgentUnavailableError):
        await bridge.coordinate([first, second])
    bridge.store.flush()
    assert bridge.store.get(first.id) is None
    assert bridge.load("reviewer") == 0


def test_task_defaults_to_auto() -> None:
    """A task without an agent is an auto task."""
    assert AgentTask(instruction="x").agent_id == "auto"
