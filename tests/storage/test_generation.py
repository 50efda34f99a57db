"""Database.generation: the cheap "did anything commit?" check of the live views."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from gaia.storage.db import Database


def test_it_changes_with_every_commit_of_this_process_or_another(tmp_path: Path) -> None:
    path = tmp_path / "gaia.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.write() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        before = db.generation()
        assert before is not None
        assert db.generation() == before  # nothing committed: the same, without a query

        with db.read() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert db.generation() == before  # reading commits nothing

        with db.write() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        after_own = db.generation()
        assert after_own != before

        # Another process (a `gaia workflow run`) writes to the same file.
        code = f"import sqlite3; c = sqlite3.connect({str(path)!r}); "
        code += "c.execute('INSERT INTO t VALUES (2)'); c.commit()"
        subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
        assert db.generation() not in (before, after_own)
    finally:
        db.dispose()


def test_it_is_unknown_for_a_database_it_cannot_watch(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}?timeout=5")  # not a plain file URL
    try:
        assert db.generation() is None
    finally:
        db.dispose()
