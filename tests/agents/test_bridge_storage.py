"""The bridge when its database starts refusing writes: nobody waits forever.

A real SQLite file; the refusal is a trigger another connection installs, so SQLite
itself aborts the bridge's writes.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gaia.agents import TaskStatus
from gaia.errors import StorageError
from tests.agents.conftest import Harness


async def test_a_result_the_database_refuses_fails_the_task_visibly(harness: Harness) -> None:
    """The waiter gets a failed result naming the refusal; later submissions are refused."""
    db = harness.database()
    if not db.is_sqlite:
        pytest.skip("the refusing trigger is written for SQLite")
    bridge = await harness.bridge(harness.agent(max_concurrency=1), workers=1)
    with db.write() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_results BEFORE INSERT ON gaia_agent_results "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        )
    async with asyncio.timeout(60):
        result = await bridge.submit(harness.task("refused", "@print done"))
    assert result.status is TaskStatus.failed
    assert result.error is not None
    assert "the database could not record the result" in result.error
    assert "disk says no" in result.error
    with pytest.raises(StorageError, match="refused writes"):
        bridge.submit(harness.task("later", "@print later"))
    async with asyncio.timeout(60):
        await bridge.close(grace=0)
