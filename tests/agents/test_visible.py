"""Visible runs: the agent in a window of tmux session gaia-agents on the test's own server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from gaia.agents import AgentTask, Isolation, TaskStatus
from gaia.agents.launch import VISIBLE_SESSION
from gaia.config import AgentSettings, Settings
from gaia.runtime import Runtime
from tests.agents.support import agent_processes
from tests.helpers import proc_gone

COOKIE_ENV = "GAIA_PROC_COOKIE"

AGENTS = {
    "fake": AgentSettings(command=["sh", "-c", 'echo "$0" > out.txt; echo done', "{prompt}"]),
    "bad": AgentSettings(command=["sh", "-c", "echo oops; echo why >&2; exit 3", "{prompt}"]),
    # 300 KB of stderr: several pipe buffers still in flight when the agent exits.
    "loud": AgentSettings(
        command=["sh", "-c", "seq 1 50000 >&2; echo last words >&2; exit 4", "{prompt}"]
    ),
    "slow": AgentSettings(command=["sh", "-c", "echo waiting; sleep 30", "{prompt}"]),
}


@pytest.fixture
async def runtime(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    """A Runtime with AGENTS on this test's tmux server; its bridge is closed after the test."""
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)  # no user tmux.conf
    rt = Runtime(settings.model_copy(update={"agents": AGENTS})).open()
    try:
        yield rt
    finally:
        await asyncio.wait_for(rt.agents.close(grace=0), timeout=30)
        rt.close()


def tmux(socket: str, *args: str) -> list[str]:
    """Run tmux on the test's socket; its output lines (the command must succeed)."""
    done = subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10, check=False
    )
    assert done.returncode == 0, f"tmux {' '.join(args)} failed: {done.stderr}"
    return done.stdout.splitlines()


def windows(socket: str) -> list[str]:
    return tmux(socket, "list-windows", "-t", VISIBLE_SESSION, "-F", "#{window_name}")


async def eventually(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``predicate`` (in a thread, so the bridge runs meanwhile) until it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def visible(
    agent: str, work_dir: Path, instruction: str = "hello visible", timeout: float | None = None
) -> AgentTask:
    """A visible task that runs in place (no worktree) in ``work_dir``."""
    return AgentTask(
        instruction=instruction,
        agent_id=agent,
        visible=True,
        isolation=Isolation.none,
        work_dir=work_dir,
        timeout=timeout,
    )


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()


async def test_visible_run_succeeds_in_a_named_tmux_window(
    runtime: Runtime, tmux_socket: str, work: Path
) -> None:
    """The agent runs in window fake-<id> of gaia-agents; output, log and status come back."""
    task = visible("fake", work)
    result = await asyncio.wait_for(runtime.agents.execute(task), timeout=30)
    assert result.status is TaskStatus.succeeded, result
    assert (result.output, result.exit_code, result.error) == ("done\n", 0, None)
    assert (work / "out.txt").read_text() == "hello visible\n"

    window = f"fake-{task.id[:8]}"
    assert re.fullmatch(r"fake-[0-9a-f]{8}", window)
    assert window in windows(tmux_socket)
    # -S -: from the start of the history (a resize may have scrolled the first line up).
    screen = tmux(
        tmux_socket, "capture-pane", "-p", "-J", "-S", "-", "-t", f"{VISIBLE_SESSION}:{window}"
    )
    assert "done" in screen
    assert "[gaia] agent exited with status 0" in screen

    await asyncio.to_thread(runtime.agents.store.flush)
    stored = runtime.agents.get_task(task.id)
    assert stored.status is TaskStatus.succeeded and stored.task.visible
    assert stored.log_path is not None
    log = Path(stored.log_path)
    assert log.read_text() == "done\n"
    # The wrapper script (it holds the environment) and the status file are gone.
    assert not log.with_suffix(".run.sh").exists()
    assert not log.with_suffix(".status").exists()
    assert not agent_processes(task.id)


async def test_visible_run_reports_a_nonzero_exit(
    runtime: Runtime, tmux_socket: str, work: Path
) -> None:
    """A visible agent that exits 3 is failed with exit code 3, its stdout and stderr's tail."""
    task = visible("bad", work)
    result = await asyncio.wait_for(runtime.agents.execute(task), timeout=30)
    assert result.status is TaskStatus.failed, result
    assert (result.exit_code, result.output) == (3, "oops\n")
    assert result.error == "the agent exited with status 3: why"
    window = f"{VISIBLE_SESSION}:bad-{task.id[:8]}"
    screen = tmux(tmux_socket, "capture-pane", "-p", "-J", "-S", "-", "-t", window)
    assert "[gaia] agent exited with status 3" in screen


async def test_visible_run_waits_for_all_of_stderr(
    runtime: Runtime, tmux_socket: str, work: Path
) -> None:
    """The error quotes the last line of a long stderr: gaia reads it after the tee is done."""
    result = await asyncio.wait_for(runtime.agents.execute(visible("loud", work)), timeout=30)
    assert result.status is TaskStatus.failed, result
    assert result.exit_code == 4
    assert result.error is not None and result.error.endswith("last words"), result.error


async def test_cancel_kills_a_visible_run(runtime: Runtime, tmux_socket: str, work: Path) -> None:
    """Cancelling a visible slow task kills every process of it, the pane's too."""
    task = visible("slow", work)
    running = asyncio.create_task(runtime.agents.execute(task))
    try:

        def sleeping() -> list[psutil.Process]:
            procs = agent_processes(task.id)
            cmdlines = []
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    cmdlines.append(proc.cmdline()[:2])
            return procs if ["sleep", "30"] in cmdlines else []

        procs = await eventually(sleeping, timeout=15, what="the visible agent's sleep")
        window = f"{VISIBLE_SESSION}:slow-{task.id[:8]}"
        [pane_pid] = tmux(tmux_socket, "list-panes", "-t", window, "-F", "#{pane_pid}")
        members = [*procs, psutil.Process(int(pane_pid))]

        result = await asyncio.wait_for(runtime.agents.cancel(task.id), timeout=30)
        assert result is not None
        assert (result.status, result.error) == (TaskStatus.cancelled, "cancelled while running")
        assert (await asyncio.wait_for(running, timeout=10)).status is TaskStatus.cancelled
        await eventually(
            lambda: all(proc_gone(p) for p in members), timeout=10, what="the agent to die"
        )
        assert not agent_processes(task.id)
        assert tmux(tmux_socket, "list-panes", "-t", window, "-F", "#{pane_dead}") == ["1"]
    finally:
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def test_visible_run_times_out(runtime: Runtime, work: Path) -> None:
    """A visible task past its timeout is timed_out and leaves no process behind."""
    task = visible("slow", work, timeout=1.0)
    result = await asyncio.wait_for(runtime.agents.execute(task), timeout=30)
    assert result.status is TaskStatus.timed_out, result
    assert result.error == "timed out after 1.0s"
    await eventually(lambda: not agent_processes(task.id), timeout=10, what="the agent to die")


async def test_two_visible_runs_at_once(runtime: Runtime, tmux_socket: str, tmp_path: Path) -> None:
    """Two visible tasks started together both succeed, each in its own window."""
    dirs = [tmp_path / "one", tmp_path / "two"]
    for path in dirs:
        path.mkdir()
    tasks = [visible("fake", path, instruction=path.name) for path in dirs]
    results = await asyncio.wait_for(
        asyncio.gather(*(runtime.agents.execute(t) for t in tasks)), timeout=60
    )
    assert [r.status for r in results] == [TaskStatus.succeeded, TaskStatus.succeeded]
    assert [r.output for r in results] == ["done\n", "done\n"]
    assert [(path / "out.txt").read_text() for path in dirs] == ["one\n", "two\n"]
    assert {f"fake-{t.id[:8]}" for t in tasks} <= set(windows(tmux_socket))
    [stats] = runtime.agents.stats("fake")
    assert (stats.total, stats.succeeded, stats.peak_concurrency) == (2, 2, 2)


async def test_visible_run_whose_work_dir_vanished_fails_at_once(
    runtime: Runtime, tmp_path: Path
) -> None:
    """A task whose work_dir is gone when it starts fails at once, visible or not."""
    loop = asyncio.get_running_loop()
    for shown in (False, True):
        work = tmp_path / f"vanishing-{shown}"
        work.mkdir()
        runtime.agents.pause()
        task = visible("fake", work, timeout=8.0)
        task.visible = shown
        future = runtime.agents.submit(task)
        work.rmdir()
        started = loop.time()
        runtime.agents.resume()
        result = await asyncio.wait_for(future, timeout=30)
        assert result.status is TaskStatus.failed, (shown, result)
        assert result.error is not None and str(work) in result.error
        assert loop.time() - started < 5, f"visible={shown} took {loop.time() - started:.1f}s"


def test_wrapper_script_is_private_from_its_first_byte(tmp_path: Path) -> None:
    """The wrapper holds the agent's environment: never readable by others, even with a
    permissive umask or an older, world-readable file in its place."""
    from gaia.agents.launch import _write_private_script

    script = tmp_path / "task.run.sh"
    script.write_text("old")
    script.chmod(0o644)
    previous = os.umask(0)
    try:
        _write_private_script(script, "export KEY=secret\n")
    finally:
        os.umask(previous)
    assert script.stat().st_mode & 0o777 == 0o700
    assert script.read_text() == "export KEY=secret\n"
