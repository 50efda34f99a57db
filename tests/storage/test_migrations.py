"""Migrations and the database helpers on a real SQLite file."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from gaia.storage.db import Database
from gaia.storage.migrate import HEAD_REVISION, alembic_config, current_revision, upgrade
from gaia.storage.models import workflows_table
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow

WORKFLOW_TABLES = {
    "gaia_workflows",
    "gaia_workflow_tasks",
    "gaia_workflow_task_dependencies",
    "gaia_workflow_executions",
}
AGENT_TABLES = {"gaia_agents", "gaia_agent_tasks", "gaia_agent_results", "gaia_agent_executions"}


def test_head_constant_matches_alembic(tmp_path: Path) -> None:
    """The fast-path HEAD_REVISION is the head of the Alembic scripts."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    assert head == HEAD_REVISION


def test_upgrade_creates_tables_indexes_and_foreign_keys(tmp_path: Path) -> None:
    """The migrations create the workflow and agent tables with foreign keys, in WAL mode."""
    db = Database(f"sqlite:///{tmp_path / 'gaia.db'}")
    upgrade(db)
    upgrade(db)  # idempotent
    assert current_revision(db) == HEAD_REVISION
    with db.read() as conn:
        inspector = inspect(conn)
        assert set(inspector.get_table_names()) >= WORKFLOW_TABLES | AGENT_TABLES
        agent_keys = inspector.get_foreign_keys("gaia_agent_results")
        assert [(k["referred_table"], k["constrained_columns"]) for k in agent_keys] == [
            ("gaia_agent_tasks", ["task_id"])
        ]
        fks = inspector.get_foreign_keys("gaia_workflow_executions")
        assert {fk["referred_table"] for fk in fks} == {"gaia_workflows", "gaia_workflow_tasks"}
        indexes = {i["name"] for i in inspector.get_indexes("gaia_workflows")}
        assert "ix_gaia_workflows_status" in indexes
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_concurrent_upgrades_do_not_collide(tmp_path: Path) -> None:
    """Several processes (here threads) opening a new database at once all succeed."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []

    def open_db() -> None:
        try:
            upgrade(Database(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_db) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(Database(url)) == HEAD_REVISION


def test_recorder_merges_updates_and_keeps_the_newest_value(tmp_path: Path) -> None:
    """Queued insert and updates of one row end as a single row with the last values."""
    db = Database(f"sqlite:///{tmp_path / 'rec.db'}")
    upgrade(db)
    recorder = Recorder(db)
    now = utcnow()
    recorder.insert(
        workflows_table,
        {
            "id": "run-1",
            "name": "n",
            "status": "pending",
            "source": "s",
            "definition": "d",
            "spec": {},
            "base_dir": "/",
            "max_parallel": 1,
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        },
    )
    recorder.update(workflows_table, "run-1", status="running", error="x")
    recorder.update(workflows_table, "run-1", status="completed")
    recorder.close()
    with db.read() as conn:
        row = conn.execute(text("SELECT status, error FROM gaia_workflows")).one()
    assert tuple(row) == ("completed", "x")
