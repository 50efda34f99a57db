"""What the database holds when a run is reported, and what a refusing database does.

Real /bin/sh tasks and a real SQLite file. The database "starts refusing writes" through
a trigger installed by a second connection: SQLite itself aborts the statement, exactly
as it would for a full disk or a read-only file, and every gaia layer above sees it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text

from gaia.runtime import Runtime
from gaia.storage.models import workflow_tasks_table
from gaia.workflows.engine import RunEvent, RunStatus

WriteWorkflow = Callable[..., Path]

T = workflow_tasks_table


def stored_status(runtime: Runtime, run_id: str, key: str) -> str:
    with runtime.db.read() as conn:
        return str(
            conn.execute(
                select(T.c.status).where(T.c.workflow_id == run_id, T.c.task_key == key)
            ).scalar_one()
        )


def refuse_completions(runtime: Runtime) -> None:
    """From now on the database aborts every write that marks a workflow task completed."""
    if not runtime.db.is_sqlite:
        pytest.skip("the refusing trigger is written for SQLite")
    with runtime.db.write() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_completion BEFORE UPDATE OF status ON gaia_workflow_tasks "
                "WHEN NEW.status = 'completed' "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        )


async def test_a_task_end_is_committed_before_it_is_announced_or_dependents_start(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """When a listener hears 'finished', or a dependent starts, the database says completed.

    The listener reads through its own connection, as `gaia workflow resume` in another
    process would after a crash at that very moment.
    """
    path = write_workflow(
        """
        name: durable
        tasks:
          - {id: a, command: 'true'}
          - {id: b, command: 'true', dependencies: [a]}
          - {id: c, command: 'true', dependencies: [b]}
        """
    )
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    seen: list[tuple[str, str, str]] = []

    def listener(event: RunEvent) -> None:
        if event.kind == "finished":
            seen.append(("finished", event.task, stored_status(runtime, run_id, event.task)))
        elif event.kind == "started" and event.task != "a":
            parent = {"b": "a", "c": "b"}[event.task]
            seen.append(("started " + event.task, parent, stored_status(runtime, run_id, parent)))

    result = await manager.execute(run_id, listener=listener)
    assert result.status is RunStatus.completed
    assert seen == [
        ("finished", "a", "completed"),
        ("started b", "a", "completed"),
        ("finished", "b", "completed"),
        ("started c", "b", "completed"),
        ("finished", "c", "completed"),
    ]


async def test_a_database_that_refuses_writes_fails_the_run_instead_of_hanging_it(
    runtime: Runtime, write_workflow: WriteWorkflow, tmp_path: Path
) -> None:
    """The refused completion fails the run with a reason; its dependent never starts."""
    marker = tmp_path / "b-ran"
    path = write_workflow(
        f"""
        name: refused
        tasks:
          - {{id: a, command: 'true'}}
          - {{id: b, command: 'touch {marker}', dependencies: [a]}}
        """
    )
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(path))
    refuse_completions(runtime)
    async with asyncio.timeout(60):  # the old recorder hung here forever
        result = await manager.execute(run_id)
    assert result.status is RunStatus.failed
    assert result.error is not None
    assert "the database could not record task 'a'" in result.error
    assert "disk says no" in result.error
    assert not marker.exists()
    assert stored_status(runtime, run_id, "a") != "completed"


async def test_a_later_run_gets_a_fresh_recorder_once_the_database_accepts_writes(
    runtime: Runtime, write_workflow: WriteWorkflow
) -> None:
    """A recorder that gave up does not doom every later run of a long-lived process."""
    path = write_workflow("name: again\ntasks:\n  - {id: a, command: 'true'}\n")
    manager = runtime.workflows
    first = manager.create(manager.load_file(path))
    refuse_completions(runtime)
    async with asyncio.timeout(60):
        assert (await manager.execute(first)).status is RunStatus.failed
    with runtime.db.write() as conn:
        conn.execute(text("DROP TRIGGER refuse_completion"))
    second = manager.create(manager.load_file(path))
    result = await manager.execute(second)
    assert result.status is RunStatus.completed
    assert stored_status(runtime, second, "a") == "completed"
