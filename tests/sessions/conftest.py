"""Fixtures for the sessions tests: a SessionManager on this test's own tmux server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gaia.config import Settings
from gaia.sessions.manager import SessionManager
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade
from tests.helpers import known_shell_home
from tests.sessions.support import Tmux


@pytest.fixture(autouse=True)
def shell_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's tmux server and its shells get an empty HOME and a known shell.

    Login bash with the prompt `$ `: none of the user's rc files (no pyenv init, whose
    'pyenv rehash' lock makes shell startup take up to 60 s when many shells start at
    once), and no ~/.tmux.conf (a base-index there would renumber windows).
    """
    home = tmp_path_factory.mktemp("shell-home")
    for key, value in known_shell_home(home).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


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
