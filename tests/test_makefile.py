"""`make serve` as a user runs it: the real Makefile, the real daemon, a real port."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.executable).parent.parent
SERVING = re.compile(r"serving (http://127\.0\.0\.1:(\d+))")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_env(cli_env: dict[str, str]) -> dict[str, str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    up_to_date = subprocess.run(
        ["make", "-q", f"VENV={VENV}", f"{VENV}/.installed"], cwd=ROOT, check=False
    )
    if up_to_date.returncode != 0:
        pytest.skip("this venv was not installed by make (make serve would install it)")
    env = {k: v for k, v in cli_env.items() if not k.startswith("MAKE")}
    env.pop("PORT", None)
    return env


def serving_port(env: dict[str, str], *args: str) -> int:
    """Run `make serve ARGS` until the daemon says where it listens; then stop it."""
    proc = subprocess.Popen(
        ["make", "--no-print-directory", f"VENV={VENV}", "serve", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # make and gaia serve in a group of their own, ended below
    )
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # ends when make exits: bounded
            seen.append(line)
            found = SERVING.search(line)
            if found:
                return int(found.group(2))
        raise AssertionError(f"make serve exited ({proc.wait()}) without serving: {seen}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)
        wait_until(lambda: group_gone(proc.pid), timeout=30, what="gaia serve to exit")


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_serve_takes_a_port(make_env: dict[str, str]) -> None:
    """PORT on make's command line wins over the configured port."""
    port, configured = free_port(), free_port()
    assert serving_port({**make_env, "GAIA_PORT": str(configured)}, f"PORT={port}") == port


def test_make_serve_without_a_port_keeps_the_configured_one(make_env: dict[str, str]) -> None:
    """Without PORT, GAIA_PORT still decides; a PORT in the environment is not taken."""
    port = free_port()
    env = {**make_env, "GAIA_PORT": str(port), "PORT": "1"}
    assert serving_port(env) == port
