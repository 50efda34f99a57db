"""Retrying one failed task of an ended run, and the run page's bulk reads (layout,
attempts), against real /bin/sh processes and a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gaia.errors import ConflictError, NotFoundError
from gaia.runtime import Runtime
from gaia.workflows.engine import RunStatus
from gaia.workflows.layout import LAYER_GAP, ROW_GAP, layout_graph
from gaia.workflows.retry import retry_set

WriteWorkflow = Callable[..., Path]

FLAKY = """
    name: flaky
    tasks:
      - {id: prepare, command: 'true'}
      - {id: lenient, command: 'exit 3', on_error: continue, dependencies: [prepare]}
      - {id: flaky, command: 'test -f {marker}', dependencies: [prepare, lenient]}
      - {id: after, command: 'echo after', dependencies: [flaky]}
      - {id: last, command: 'echo last', dependencies: [after]}
"""


async def wait_ended(runtime: Runtime, run_id: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = await asyncio.to_thread(runtime.workflows.store.status, run_id)
        if status not in ("pending", "running"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end in {timeout} s")


def statuses(runtime: Runtime, run_id: str) -> dict[str, tuple[str, int]]:
    return {t.id: (t.status, t.attempts) for t in runtime.workflows.get(run_id).tasks}


async def test_retry_runs_the_failed_task_and_the_dependents_it_held_back(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    marker = tmp_path / "ok"
    manager = runtime.workflows
    run_id = manager.create(
        manager.load_file(write_workflow(FLAKY.replace("{marker}", str(marker))))
    )
    result = await manager.execute(run_id)
    assert result.status is RunStatus.failed
    before = statuses(runtime, run_id)
    assert before["flaky"] == ("failed", 1)
    assert before["after"][0] == "skipped" and before["last"][0] == "skipped"

    # Still failing: one more attempt, the dependents stay skipped, the run failed.
    keys = await manager.retry_task(run_id, "flaky")
    assert keys == ["flaky", "after", "last"]
    assert await wait_ended(runtime, run_id) == "failed"
    again = statuses(runtime, run_id)
    assert again["flaky"] == ("failed", 2)
    assert again["after"][0] == "skipped"
    assert again["prepare"] == ("completed", 1)  # never re-run
    assert again["lenient"] == ("failed", 1)

    marker.touch()
    await manager.retry_task(run_id, "flaky")
    assert await wait_ended(runtime, run_id) == "completed"
    after = statuses(runtime, run_id)
    assert after["flaky"] == ("completed", 3)
    assert after["after"] == ("completed", 1) and after["last"] == ("completed", 1)
    assert after["prepare"] == ("completed", 1) and after["lenient"] == ("failed", 1)
    # Every attempt is kept: the Gantt chart shows the retries as bars of their own.
    flaky = [a for a in manager.attempts(run_id) if a["task"] == "flaky"]
    assert [(a["attempt"], a["status"]) for a in flaky] == [
        (1, "failed"),
        (2, "failed"),
        (3, "completed"),
    ]


async def test_retry_is_refused_for_a_task_that_did_not_fail_or_a_running_run(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    manager = runtime.workflows
    marker = tmp_path / "never"
    run_id = manager.create(
        manager.load_file(write_workflow(FLAKY.replace("{marker}", str(marker))))
    )
    with pytest.raises(ConflictError, match="it is pending"):
        await manager.retry_task(run_id, "flaky")  # the run never started
    await manager.execute(run_id)
    with pytest.raises(ConflictError, match=r"'prepare'.*it is completed, not failed"):
        await manager.retry_task(run_id, "prepare")
    with pytest.raises(ConflictError, match=r"'after'.*it is skipped, not failed"):
        await manager.retry_task(run_id, "after")
    with pytest.raises(NotFoundError, match="no task 'nope'"):
        await manager.retry_task(run_id, "nope")
    assert manager.store.status(run_id) == "failed"  # a refusal changes nothing

    slow = write_workflow(
        """
        name: slow
        tasks:
          - {id: wait, command: sleep 30}
        """
    )
    slow_id = manager.create(manager.load_file(slow))
    background = await manager.start(slow_id)
    with pytest.raises(ConflictError, match="already running"):
        await manager.retry_task(slow_id, "wait")
    manager.stop(slow_id)
    await background


def test_the_retry_set_leaves_other_failures_and_their_dependents_alone() -> None:
    tasks = [
        {"id": "a"},
        {"id": "b"},
        {"id": "a2", "dependencies": ["a"]},
        {"id": "both", "dependencies": ["a", "b"]},
        {"id": "a3", "dependencies": ["a2"]},
        {"id": "done", "dependencies": ["a"]},
    ]
    status = {
        "a": "failed",
        "b": "failed",
        "a2": "skipped",
        "both": "skipped",
        "a3": "cancelled",
        "done": "completed",
    }
    assert retry_set("a", tasks, status) == ["a", "a2", "a3"]
    assert retry_set("b", tasks, status) == ["b"]
    # A dependency that failed with on_error: continue does not hold a dependent back.
    lenient = [{**t, "on_error": "continue"} if t["id"] == "b" else t for t in tasks]
    assert retry_set("a", lenient, status) == ["a", "a2", "both", "a3"]


def test_the_layout_puts_each_task_right_of_its_dependencies() -> None:
    tasks = [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]), ("e", [])]
    graph = layout_graph(tasks)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert [n["id"] for n in graph["nodes"]] == ["a", "b", "c", "d", "e"]
    assert {k: n["layer"] for k, n in nodes.items()} == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 0}
    assert nodes["d"]["x"] - nodes["b"]["x"] == LAYER_GAP
    assert abs(nodes["b"]["y"] - nodes["c"]["y"]) >= ROW_GAP  # no overlap in a column
    assert sorted(map(tuple, graph["edges"])) == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    assert graph["width"] > nodes["d"]["x"] and graph["height"] > max(
        n["y"] for n in nodes.values()
    )


def test_barycentre_sweeps_uncross_a_crossed_pair() -> None:
    # Written crossed: x1 feeds y2 and x2 feeds y1; ordering puts y1 and y2 the other way.
    tasks = [("x1", []), ("x2", []), ("y1", ["x2"]), ("y2", ["x1"])]
    nodes = {n["id"]: n for n in layout_graph(tasks)["nodes"]}
    assert (nodes["x1"]["y"] < nodes["x2"]["y"]) == (nodes["y2"]["y"] < nodes["y1"]["y"])


async def test_the_layout_is_made_once_per_run(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(write_workflow(FLAKY.replace("{marker}", "x"))))
    first = manager.graph_layout(run_id)
    assert manager.graph_layout(run_id) is first  # the same bytes, not made again
    graph = json.loads(first)
    assert [n["id"] for n in graph["nodes"]] == ["prepare", "lenient", "flaky", "after", "last"]
    with pytest.raises(NotFoundError):
        manager.graph_layout("0" * 36)
