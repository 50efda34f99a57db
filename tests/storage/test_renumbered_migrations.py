"""Databases made before the migrations were renumbered (010-013 now in chain order).

The fixtures are ``sqlite3`` dumps of databases built by the old chain (011 workflows ->
012 services -> 010 sessions -> 013 agents), stopped at each old revision, with a row in
each table that existed then. Opening one with today's code must keep the rows and bring
the schema to the head.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from gaia.storage.db import Database
from gaia.storage.migrate import (
    HEAD_REVISION,
    RENAMED_REVISIONS,
    alembic_config,
    current_revision,
    upgrade,
)

FIXTURES = Path(__file__).parent / "fixtures"
OLD_REVISIONS = ["011_gaia_workflows", "012_gaia_services", "010_gaia_sessions", "013_gaia_agents"]
KEPT_ROWS = {"gaia_workflows": "wf-1", "gaia_services": "svc-1", "gaia_sessions": "ses-1"}


def _restore(dump: Path, target: Path) -> None:
    with sqlite3.connect(target) as con:
        con.executescript(dump.read_text(encoding="utf-8"))
    con.close()


def test_files_are_numbered_in_chain_order(tmp_path: Path) -> None:
    """Each file's number is its place in the chain, starting at 010."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    scripts = ScriptDirectory.from_config(alembic_config(db))
    chain = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert chain[-1] == HEAD_REVISION
    assert [int(revision[:3]) for revision in chain] == list(range(10, 10 + len(chain)))
    for script in scripts.walk_revisions():
        assert Path(script.path).name == f"{script.revision}.py"


def test_renamed_ids_are_the_same_migrations(tmp_path: Path) -> None:
    """Every old id maps to a revision that exists, and the same name after the number."""
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    scripts = ScriptDirectory.from_config(alembic_config(db))
    known = {s.revision for s in scripts.walk_revisions()}
    for old, new in RENAMED_REVISIONS.items():
        assert new in known and old not in known
        assert old[3:] == new[3:]


@pytest.mark.parametrize("old_revision", OLD_REVISIONS)
def test_a_database_of_the_old_chain_opens_at_head_with_its_rows(
    tmp_path: Path, old_revision: str
) -> None:
    path = tmp_path / "gaia.db"
    _restore(FIXTURES / f"main-chain-at-{old_revision}.sql", path)
    db = Database(f"sqlite:///{path}")
    before = current_revision(db)
    assert before == old_revision
    with db.read() as conn:
        present = {t for t in KEPT_ROWS if inspect(conn).has_table(t)}
    assert present  # every fixture holds at least the workflows table

    upgrade(db)

    assert current_revision(db) == HEAD_REVISION
    with db.read() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        assert {"gaia_workflows", "gaia_services", "gaia_sessions", "gaia_agent_tasks"} <= tables
        columns = {c["name"] for c in inspector.get_columns("gaia_agent_tasks")}
        assert {"owner_host", "owner_started_at"} <= columns
        for table in present:
            ids = conn.execute(text(f"SELECT id FROM {table}")).scalars().all()
            assert ids == [KEPT_ROWS[table]], table
    db.dispose()


def test_a_database_at_head_is_recognised_without_sqlalchemy(tmp_path: Path) -> None:
    """The version check of a SQLite file is one sqlite3 query; a current database makes
    no engine and runs no migration."""
    url = f"sqlite:///{tmp_path / 'gaia.db'}"
    assert current_revision(Database(url)) is None
    upgrade(Database(url))
    db = Database(url)
    upgrade(db)
    assert current_revision(db) == HEAD_REVISION
    assert "engine" not in vars(db)
