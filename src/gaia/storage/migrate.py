"""Alembic migrations, run automatically when gaia opens its database."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from gaia.storage.db import Database

_IMPORT_LOCK = threading.Lock()

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISION", "upgrade"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The newest revision. A database already there skips Alembic entirely, which keeps
# short CLI commands fast; tests check this matches Alembic's own head.
HEAD_REVISION = "014_agent_task_owner"


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config(db: Database) -> Config:
    # Alembic is imported only when a migration runs: it costs ~60 ms of every start.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


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
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
