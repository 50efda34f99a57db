"""Which process owns a row, told apart from a later process that reused its pid.

A pid alone keeps a dead owner alive as soon as the pid is reused (containers restart
at pid 1, busy hosts wrap around). The owner is recorded as pid, process create time
and host; it is alive if a process with that pid and create time runs on this host.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import psutil

__all__ = ["Owner", "current_owner", "owner_alive"]

# psutil's create time is derived from boot time and clock ticks: it may move a little.
_CREATE_TIME_SLACK = 1.0


@dataclass(frozen=True)
class Owner:
    """The process that runs something; ``started_at`` tells a reused pid apart."""

    pid: int
    host: str
    started_at: float


def current_owner() -> Owner:
    me = psutil.Process()
    return Owner(pid=me.pid, host=socket.gethostname(), started_at=me.create_time())


def owner_alive(pid: int | None, host: str | None, started_at: float | None) -> bool | None:
    """Whether that owner still runs: None when it ran on another host (cannot tell)."""
    if pid is None:
        return False
    if host is not None and host != socket.gethostname():
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if started_at is None:  # recorded before create times were: the pid must do
            return True
        return abs(proc.create_time() - started_at) <= _CREATE_TIME_SLACK
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # there, but not ours to inspect
        return True
