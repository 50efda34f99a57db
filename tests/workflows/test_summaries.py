"""Run summaries read with sqlite3 (what `gaia workflow list` does) are the store's."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from gaia.runtime import Runtime
from gaia.storage.db import Database, sqlite_file_of
from gaia.storage.migrate import HEAD_REVISION, current_revision, upgrade
from gaia.workflows.store import Owner
from gaia.workflows.summaries import has_running_runs, list_summaries

WriteWorkflow = Callable[..., Path]


@pytest.fixture
def stored_runs(runtime: Runtime, write_workflow: WriteWorkflow) -> list[str]:
    """Runs in each state a list shows: completed, failed, never started, interrupted."""
    if runtime.db.sqlite_file is None:
        pytest.skip("the sqlite3 reader is for SQLite files")
    manager = runtime.workflows
    ok = write_workflow(
        "name: ok\ntasks:\n  - {id: a, command: 'true'}\n  - {id: b, command: 'true'}\n"
    )
    bad = write_workflow(
        "name: bad\ndescription: it fails\ntasks:\n"
        "  - {id: a, command: 'exit 3'}\n  - {id: b, command: 'true', dependencies: [a]}\n"
    )
    ids = [manager.create(manager.load_file(path)) for path in (ok, bad, ok, ok)]
    return ids


async def test_the_sqlite_reader_gives_the_stores_summaries(
    runtime: Runtime, stored_runs: list[str]
) -> None:
    manager = runtime.workflows
    completed, failed, _pending, orphan = stored_runs
    await manager.execute(completed)
    await manager.execute(failed)
    child = psutil.Popen(["true"])
    child.wait()
    dead = Owner(pid=child.pid, host=os.uname().nodename, started_at=child.create_time())
    manager.store.claim(orphan, dead, resume=False)
    assert has_running_runs(runtime.db)
    assert manager.recover_interrupted() == [orphan]
    assert not has_running_runs(runtime.db)

    for status, limit in [(None, 100), (None, 2), ("failed", 100), ("pending", 1), ("x", 5)]:
        quick = list_summaries(runtime.db, status, limit)
        stored = manager.store.list(status, limit)
        assert [s.model_dump() for s in quick] == [s.model_dump() for s in stored]
    # Names containing a text, in any ASCII case; LIKE's wildcards match themselves.
    for status, name, count in [
        (None, "O", 3),
        ("failed", "BA", 1),
        (None, "%", 0),
        (None, "_", 0),
    ]:
        quick = list_summaries(runtime.db, status, 100, name=name)
        stored = manager.store.list(status, 100, name=name)
        assert [s.model_dump() for s in quick] == [s.model_dump() for s in stored]
        assert len(quick) == count
    assert manager.count_by_status("ok") == {"completed": 1, "interrupted": 1, "pending": 1}
    everything = list_summaries(runtime.db)
    assert {s.status for s in everything} == {"completed", "failed", "pending", "interrupted"}
    by_status = {s.status: s for s in everything}
    assert by_status["failed"].task_counts == {"failed": 1, "skipped": 1}
    assert by_status["completed"].duration_seconds is not None
    assert by_status["completed"].created_at.tzinfo is not None


def test_an_empty_database_lists_nothing(runtime: Runtime) -> None:
    assert list_summaries(runtime.db) == []
    assert not has_running_runs(runtime.db)


@pytest.mark.parametrize(
    ("url", "file"),
    [
        ("sqlite:////var/gaia/gaia.db", "/var/gaia/gaia.db"),
        ("sqlite:///relative.db", "relative.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///x.db?mode=ro", None),
        ("sqlite+pysqlite:///x.db", None),
        ("postgresql://u@localhost/gaia", None),
    ],
)
def test_which_urls_are_read_as_sqlite_files(url: str, file: str | None) -> None:
    found = sqlite_file_of(url)
    assert (str(found) if found else None) == file


def test_a_current_database_is_read_without_an_engine(tmp_path: Path) -> None:
    """The version check and the list go through sqlite3: SQLAlchemy is never asked."""
    url = f"sqlite:///{tmp_path / 'gaia.db'}"
    upgrade(Database(url))
    db = Database(url)
    upgrade(db)
    assert current_revision(db) == HEAD_REVISION
    assert list_summaries(db) == []
    assert not has_running_runs(db)
    assert "engine" not in vars(db)
