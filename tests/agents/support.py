"""Helpers for the agent tests: git with a fixed identity, finding an agent's processes."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import psutil

from gaia._proc import COOKIE_ENV
from tests.helpers import proc_gone

__all__ = ["agent_processes", "git", "kill_leftover_agents"]


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity (HOME is empty in the tests) and return its stdout."""
    done = subprocess.run(
        ["git", "-c", "user.name=gaia-test", "-c", "user.email=test@gaia", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout


def agent_processes(task_id: str) -> list[psutil.Process]:
    """Live processes carrying the task's cookie (the agent, its tee, the tmux waiter)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            cookie = proc.environ().get(COOKIE_ENV, "")
            if cookie.startswith(f"agent/{task_id}") and not proc_gone(proc):
                found.append(proc)
    return found


def kill_leftover_agents(home: Path) -> None:
    """SIGKILL agent processes a daemon under ``home`` left behind (only after a failure)."""
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            env = proc.environ()
            if env.get("GAIA_HOME") == str(home) and env.get(COOKIE_ENV, "").startswith("agent/"):
                proc.kill()
