"""Alembic migrations, run when gaia opens its database (``Runtime.open``).

Alembic costs ~60 ms to import: a database already at the newest revision is recognised
with one query and Alembic is never loaded.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gaia.errors import StorageError
from gaia.storage.db import Database

_IMPORT_LOCK = threading.Lock()

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

__all__ = ["HEAD_REVISION", "RENAMED_REVISIONS", "current_revision", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The newest revision: tests check it is Alembic's own head.
HEAD_REVISION = "015_workflow_updated_index"

# Until 2026-12-07 the chain ran 011 workflows -> 012 services -> 010 sessions -> 013
# agents; the files are now numbered in chain order. A database made before stores an old
# id in alembic_version, which Alembic would not find: it is renamed first. Old and new ids
# never collide (the name follows the number), so renaming twice is harmless.
RENAMED_REVISIONS = {
    "011_gaia_workflows": "010_gaia_workflows",
    "012_gaia_services": "011_gaia_services",
    "010_gaia_sessions": "012_gaia_sessions",
}


_VERSION_QUERY = "SELECT version_num FROM alembic_version"


def current_revision(db: Database) -> str | None:
    """The revision the database is at (one query), or None for a database without one.

    A SQLite file is asked directly, without SQLAlchemy: a current database costs a
    short command one query and no import."""
    if db.sqlite_file is not None:
        try:
            with db.sqlite_read() as conn:
                row = conn.execute(_VERSION_QUERY).fetchone()
        except StorageError as exc:
            if isinstance(exc.__cause__, sqlite3.OperationalError) and "no such table" in str(
                exc.__cause__
            ):
                return None
            raise
        return None if row is None else str(row[0])
    from sqlalchemy import inspect, text

    try:
        with db.read() as conn:
            version: str | None = conn.execute(text(_VERSION_QUERY)).scalar()
            return version
    except StorageError:
        # Rare (a new database): was it the table that was missing, or something worse?
        with db.read() as conn:
            if inspect(conn).has_table("alembic_version"):
                raise
        return None


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def rename_old_revisions(conn: Connection) -> None:
    """Translate a revision id of the chain's old numbering to its new id."""
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return
    for old, new in RENAMED_REVISIONS.items():
        conn.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"old": old, "new": new},
        )


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision (safe when several processes race)."""
    if current_revision(db) == HEAD_REVISION:
        return
    with _IMPORT_LOCK:  # alembic imported late; threads must not import it half-way at once
        from alembic import command

        config = alembic_config(db)
    # One write transaction around the whole upgrade: a second process waits here and
    # then finds the schema current, instead of racing through the same DDL.
    with db.write() as conn:
        rename_old_revisions(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
