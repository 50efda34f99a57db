"""Helpers shared by the integration tests."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import psutil

__all__ = [
    "cgroup_containment_reason",
    "escape_command",
    "free_port",
    "proc_gone",
    "wait_until",
]


def wait_until(
    predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def proc_gone(proc: psutil.Process) -> bool:
    """True once the process has exited (a zombie nobody reaped counts as gone)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cgroup_containment_reason() -> str | None:
    """None when this machine contains children in cgroup v2, else why it does not."""
    from gaia._containment import containment

    current = containment()
    return None if current.kind == "cgroup" else current.reason


# A command that escapes every process-group and cookie based kill: the `sleep` leaves
# the group (setsid), drops GAIA_PROC_COOKIE (env -i) and is orphaned (its parents exit).
def escape_command(pidfile: object) -> str:
    inner = f"sleep 300 & echo \\$! > {pidfile}"
    return f"setsid sh -c 'env -i sh -c \"{inner}\"' &"
