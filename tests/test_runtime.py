"""Runtime: building one touches nothing; open() is the one step that does; reads read."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from gaia.config import Settings, load_settings
from gaia.runtime import Runtime
from gaia.storage.migrate import HEAD_REVISION, current_revision
from gaia.workflows.store import Owner


def test_building_a_runtime_touches_nothing(tmp_path: Path, tmux_socket: str) -> None:
    home = tmp_path / "fresh-home"
    runtime = Runtime(load_settings(home=home, environ={}, tmux_socket=tmux_socket))
    assert not home.exists()  # no directory, no database, no log file
    with pytest.raises(RuntimeError, match=r"Runtime.workflows used before Runtime.open\(\)"):
        _ = runtime.workflows
    runtime.close()  # closing what was never opened is harmless
    assert not home.exists()


def test_open_creates_the_home_and_the_schema_once(settings: Settings) -> None:
    runtime = Runtime(settings)
    assert runtime.open() is runtime
    try:
        assert runtime.opened
        assert settings.gaia_home.token_file.parent.is_dir()
        assert current_revision(runtime.db) == HEAD_REVISION
        assert runtime.open() is runtime  # again: nothing more happens
        built = set(vars(runtime))
        assert not built & {"services", "sessions", "agents"}  # built on first use only
    finally:
        runtime.close()


def test_reads_do_not_recover_a_dead_owners_run_opening_does(
    runtime: Runtime, settings: Settings, write_workflow: Callable[..., Path]
) -> None:
    """A run whose owner died stays 'running' however often it is read; the next process
    to open the runtime marks it interrupted (and would kill what it left)."""
    manager = runtime.workflows
    path = write_workflow("name: orphan\ntasks:\n  - {id: a, command: 'true'}\n")
    run_id = manager.create(manager.load_file(path))
    child = psutil.Popen(["true"])
    child.wait()
    dead = Owner(pid=child.pid, host=os.uname().nodename, started_at=child.create_time())
    manager.store.claim(run_id, dead, resume=False)

    for _ in range(2):
        assert [r.status for r in manager.list()] == ["running"]
        assert manager.get(run_id).status == "running"
        assert manager.task_statuses(run_id)[0].status == "running"

    other = Runtime(settings).open()
    try:
        assert other.workflows.get(run_id).status == "interrupted"
    finally:
        other.close()
    assert manager.get(run_id).status == "interrupted"
