"""RunChanges on a real SQLite file with real runs: what a live runs list is told."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from gaia.runtime import Runtime
from gaia.workflows.changes import RunChanges, RunsChanged
from tests.helpers import wait_until

WriteWorkflow = Callable[..., Path]


def ids(news: RunsChanged | None) -> list[str]:
    assert news is not None
    return [run.id for run in news.runs]


def quiet(changes: RunChanges) -> None:
    """Nothing more is reported (a heartbeat's row change is not news)."""
    assert changes.look() is None


async def test_first_the_active_runs_then_only_what_changed(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    manager = runtime.workflows
    path = write_workflow("name: quick\ntasks:\n  - {id: a, command: 'true'}\n")
    done = manager.create(manager.load_file(path))
    await manager.execute(done)
    waiting = manager.create(manager.load_file(path))

    changes = RunChanges(runtime.db)
    first = changes.look()
    assert ids(first) == [waiting]  # the pending one; the finished one is not news
    assert first is not None and first.counts == {"completed": 1, "pending": 1}
    quiet(changes)

    newer = manager.create(manager.load_file(path))
    news = changes.look()
    assert ids(news) == [newer]
    assert news is not None and news.created == {newer}
    assert news.counts == {"completed": 1, "pending": 2}
    assert not news.may_have_had(newer, "pending")
    quiet(changes)

    await manager.execute(waiting)
    news = changes.look()
    assert ids(news) == [waiting]
    assert news is not None and news.runs[0].status == "completed"
    assert news.runs[0].task_counts == {"completed": 1}
    assert news.previous == {waiting: "pending"}
    assert news.may_have_had(waiting, "pending") and not news.may_have_had(waiting, "failed")
    assert news.counts == {"completed": 2, "pending": 1}
    quiet(changes)


async def test_a_running_runs_task_counts_and_its_end(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """A task's change does not touch its run's row: the counts are watched themselves."""
    manager = runtime.workflows
    path = write_workflow(
        "name: two-waits\ntasks:\n"
        "  - {id: a, command: 'while [ ! -e a.go ]; do sleep 0.02; done'}\n"
        "  - {id: b, command: 'while [ ! -e b.go ]; do sleep 0.02; done'}\n"
    )
    run_id = manager.create(manager.load_file(path))
    changes = RunChanges(runtime.db)
    changes.look()
    running = asyncio.create_task(manager.execute(run_id))
    try:

        async def reported(check: Callable[[dict[str, int], str], bool]) -> None:
            for _ in range(400):
                news = await asyncio.to_thread(changes.look)
                for run in news.runs if news else []:
                    if run.id == run_id and check(run.task_counts, run.status):
                        return
                await asyncio.sleep(0.05)
            pytest.fail("the change was not reported")

        await reported(lambda counts, status: counts == {"running": 2} and status == "running")
        (path.parent / "a.go").touch()
        await reported(lambda counts, _: counts == {"completed": 1, "running": 1})
        (path.parent / "b.go").touch()
        await reported(lambda counts, status: status == "completed")
    finally:
        (path.parent / "a.go").touch()
        (path.parent / "b.go").touch()
        await running


async def test_a_finished_run_resumed_between_two_looks_is_news(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    manager = runtime.workflows
    path = write_workflow("name: flaky\ntasks:\n  - {id: a, command: 'test -e ok'}\n")
    run_id = manager.create(manager.load_file(path))
    await manager.execute(run_id)
    changes = RunChanges(runtime.db)
    changes.look()
    wait_until(lambda: changes.look() is None, what="nothing new")
    (path.parent / "ok").touch()
    await manager.execute(run_id, resume=True)  # failed -> running -> completed, unseen
    news = changes.look()
    assert ids(news) == [run_id]
    assert news is not None and news.runs[0].status == "completed"
    # Its status before is not known to this watcher: it may have been any.
    assert news.may_have_had(run_id, "failed")
