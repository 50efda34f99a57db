"""Fixtures for the sessions tests: a SessionManager on this test's own tmux server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from gaia.config import Settings
from gaia.sessions.manager import SessionManager
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade
from tests.sessions.support import Tmux


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def manager(db: Database, settings: Settings) -> SessionManager:
    return SessionManager(db, settings)


@pytest.fixture
def tmux(tmux_socket: str) -> Tmux:
    """Run a raw tmux command on this test's server and return its stdout; it must succeed."""

    def run(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", tmux_socket, *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        assert done.returncode == 0, f"tmux {' '.join(args)} failed: {done.stderr}"
        return done.stdout

    return run
