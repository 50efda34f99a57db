"""Shared fixtures: every test gets its own GAIA_HOME and SQLite file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gaia.config import Settings, load_settings
from gaia.runtime import Runtime
from tests.helpers import known_shell_home

GAIA_BIN = Path(sys.executable).parent / "gaia"


@pytest.fixture(autouse=True)
def tmux_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Every test gets its own tmux server socket; the server is reaped even on failure.

    Autouse, so that no test — not even one that starts `gaia serve`, which reconciles
    sessions — ever touches the user's `gaia` or default tmux server.
    """
    name = f"gaia-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("GAIA_TMUX_SOCKET", name)
    # Pane shells: bash with a short, known prompt and none of the user's dotfiles.
    for key, value in known_shell_home(tmp_path_factory.mktemp("home")).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PROMPT_COMMAND", raising=False)
    yield name
    tmux = shutil.which("tmux")
    if tmux:
        subprocess.run([tmux, "-L", name, "kill-server"], capture_output=True, check=False)
    base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
    (base / name).unlink(missing_ok=True)


@pytest.fixture
def gaia_home(tmp_path: Path) -> Path:
    home = tmp_path / "gaia-home"
    home.mkdir()
    return home


# Set GAIA_TEST_DATABASE_URL (e.g. postgresql+psycopg://gaia@127.0.0.1:55432/gaia_test)
# to run the in-process tests against another database; each test starts from empty.
TEST_DATABASE_URL = os.environ.get("GAIA_TEST_DATABASE_URL")


def _empty_database(url: str) -> None:
    from sqlalchemy import text

    from gaia.storage.db import Database
    from gaia.storage.models import metadata

    db = Database(url)
    with db.write() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.dispose()


@pytest.fixture
def settings(gaia_home: Path, tmux_socket: str) -> Settings:
    """Settings with short grace and heartbeat so stop/recovery tests run quickly."""
    extra: dict[str, str] = {}
    if TEST_DATABASE_URL:
        _empty_database(TEST_DATABASE_URL)
        extra["database_url"] = TEST_DATABASE_URL
    return load_settings(
        home=gaia_home,
        environ={},
        tmux_socket=tmux_socket,
        kill_grace_period=1.0,
        heartbeat_interval=0.2,
        # Every service start waits this long for an early exit: short, to keep tests fast.
        service_start_seconds=0.2,
        stale_heartbeat=5.0,
        **extra,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings).open()
    yield rt
    rt.close()


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[..., Path]:
    """Write a dedented YAML workflow to a file and return its path."""
    counter = iter(range(1_000_000))

    def write(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"workflow-{next(counter)}.yaml")
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli_env(gaia_home: Path, tmux_socket: str) -> dict[str, str]:
    """Environment for running the `gaia` CLI as a subprocess against this test's home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env["GAIA_TMUX_SOCKET"] = tmux_socket
    env["GAIA_HOME"] = str(gaia_home)
    env["GAIA_KILL_GRACE_PERIOD"] = "1s"
    env["GAIA_HEARTBEAT_INTERVAL"] = "0.2s"
    env["COLUMNS"] = "200"
    return env
