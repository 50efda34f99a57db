"""`gaia daemon status` as a subprocess, against a real background daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_until

GAIA = Path(sys.executable).parent / "gaia"


def gaia(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GAIA), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def env(cli_env: dict[str, str], gaia_home: Path) -> Iterator[dict[str, str]]:
    """CLI environment on a free port; a daemon started by the test is stopped after."""
    cli_env["GAIA_PORT"] = "0"
    yield cli_env
    daemon_file = gaia_home / "daemon.json"
    if daemon_file.exists():
        pid = json.loads(daemon_file.read_text())["pid"]
        subprocess.run([str(GAIA), "daemon", "stop"], env=cli_env, timeout=60, check=False)
        wait_until(lambda: pid_gone(pid), timeout=10, what="the daemon to exit")


def test_status_without_a_daemon_says_so(env: dict[str, str], gaia_home: Path) -> None:
    result = gaia(env, "daemon", "status")
    assert result.returncode == 1
    assert f"no gaia daemon is running for {gaia_home.resolve()}" in result.stdout


def test_status_prints_url_token_file_database_and_socket(
    env: dict[str, str], gaia_home: Path, tmp_path: Path, tmux_socket: str
) -> None:
    """status shows what the daemon uses, even when the asking shell's settings differ."""
    database = tmp_path / "elsewhere.db"
    started = gaia({**env, "GAIA_DATABASE_URL": f"sqlite:///{database}"}, "service", "list")
    assert started.returncode == 0, started.stderr
    info = json.loads((gaia_home / "daemon.json").read_text())

    # Asked without GAIA_DATABASE_URL: the daemon's database is shown, not the default.
    result = gaia(env, "daemon", "status")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    home = gaia_home.resolve()
    lines = result.stdout.splitlines()
    assert lines[0] == f"gaia daemon running: pid {info['pid']}, {info['url']}"
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(": ") for line in lines[1:])}
    assert fields["API"].startswith(f"{info['url']}/api/orchestration")
    assert fields["token file"].startswith(f"{home / 'token'} ")
    assert fields["database"] == f"sqlite:///{database}"
    assert fields["home"] == str(home)
    assert fields["tmux socket"] == tmux_socket
