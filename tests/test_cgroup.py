"""cgroup v2 containment (gaia._containment, gaia._cgroup): real processes, real cgroups."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from gaia._containment import containment, probe
from gaia._proc import ProcessError, spawn
from tests.helpers import cgroup_containment_reason, escape_command, proc_gone, wait_until

NO_CGROUP = cgroup_containment_reason()
requires_cgroup = pytest.mark.skipif(
    NO_CGROUP is not None, reason=f"no cgroup v2 containment on this machine: {NO_CGROUP}"
)


def cgroup_of(pid: int) -> str:
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    return next(line[3:] for line in lines if line.startswith("0::"))


def read_pid(pidfile: Path) -> int:
    text = wait_until(
        lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=10, what=str(pidfile)
    )
    return int(text)


def gone(pid: int) -> bool:
    try:
        return proc_gone(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return True


def kill_if_alive(pid: int) -> None:
    """Tests must not leave a `sleep 300` behind when the code under test fails."""
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).kill()


def test_process_group_mode_is_a_choice_with_its_reason() -> None:
    current = probe("process-group")
    assert current.kind == "process-group"
    assert current.root is None
    assert current.describe() == (
        "process group + sweep (turned off by containment = process-group)"
    )


@requires_cgroup
async def test_the_child_runs_in_its_own_leaf_from_its_first_instruction(tmp_path: Path) -> None:
    """The command is in its leaf before it runs: what it prints is its cgroup, already moved."""
    out = tmp_path / "out"
    handle = spawn(["/bin/sh", "-c", "cat /proc/self/cgroup"], cookie="test/leaf", output=out)
    assert handle.cgroup is not None
    leaf = handle.cgroup.path
    assert await handle.wait() == 0
    root = containment().root
    assert root is not None and leaf.parent == root
    printed = next(line[3:] for line in out.read_text().splitlines() if line.startswith("0::"))
    assert leaf.as_posix().endswith(printed)
    assert not leaf.exists()  # the empty leaf is removed once the child is awaited


PRINT_ARGV_AND_CGROUP = "import sys; print(sys.argv[1:]); print(open('/proc/self/cgroup').read())"


@requires_cgroup
async def test_a_program_is_moved_before_exec_and_keeps_its_argv(tmp_path: Path) -> None:
    """A program that is not `sh -c` runs behind a shell that moves itself, then execs it."""
    out = tmp_path / "out"
    handle = spawn(
        [sys.executable, "-c", PRINT_ARGV_AND_CGROUP, "a b", "$HOME"],
        cookie="test/exec",
        output=out,
    )
    assert handle.cgroup is not None
    leaf = handle.cgroup.path
    assert await handle.wait() == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "['a b', '$HOME']"
    assert any(leaf.as_posix().endswith(line[3:]) for line in lines if line.startswith("0::"))


@requires_cgroup
def test_a_missing_program_is_reported_at_spawn_as_before() -> None:
    with pytest.raises(ProcessError) as caught:
        spawn(["gaia-no-such-program-x"], cookie="test/missing", env={"PATH": "/nonexistent"})
    assert str(caught.value) == "cannot start 'gaia-no-such-program-x': No such file or directory"


@requires_cgroup
async def test_kill_tree_kills_a_setsid_env_i_escapee(tmp_path: Path) -> None:
    """A double fork with setsid and env -i is out of reach of the group and the cookie."""
    pidfile = tmp_path / "escaped.pid"
    handle = spawn(
        ["/bin/sh", "-c", f"{escape_command(pidfile)} exec sleep 300"], cookie="test/kill"
    )
    escaped = read_pid(pidfile)
    try:
        assert psutil.Process(escaped).environ().get("GAIA_PROC_COOKIE") is None
        assert os.getpgid(escaped) != handle.pid
        assert handle.cgroup is not None
        leaf = handle.cgroup.path
        code = await handle.kill_tree(grace=0.5)
        assert code < 0
        wait_until(lambda: gone(escaped), timeout=5, what="the escapee")
        assert not leaf.exists()
    finally:
        kill_if_alive(escaped)
        kill_if_alive(handle.pid)


@requires_cgroup
async def test_reap_leftovers_kills_what_an_exited_command_left(tmp_path: Path) -> None:
    """The command exits at once; its escapee is found in its cgroup and killed."""
    pidfile = tmp_path / "escaped.pid"
    command = f"{escape_command(pidfile)} while [ ! -s {pidfile} ]; do sleep 0.01; done"
    handle = spawn(["/bin/sh", "-c", command], cookie="test/reap")
    escaped = read_pid(pidfile)
    try:
        assert await handle.wait() == 0
        assert handle.group_alive()  # the escapee keeps the cgroup populated
        await handle.reap_leftovers(grace=0.5)
        assert gone(escaped)
        assert handle.cgroup is not None and not handle.cgroup.path.exists()
    finally:
        kill_if_alive(escaped)


CRASH = r"""
import json, os, sys
from gaia._proc import spawn
from gaia._containment import containment
handle = spawn(["/bin/sh", "-c", sys.argv[1]], cookie="test/crash")
print(json.dumps({"root": str(containment().root), "leader": handle.pid}), flush=True)
sys.stdin.read()  # the test reads the pidfile, then closes our stdin
os._exit(0)  # a crash: no atexit, no stop
"""

AFTER = r"""
import json
from gaia._proc import spawn
import asyncio
handle = spawn(["/bin/sh", "-c", "true"], cookie="test/after")
print(json.dumps({"code": asyncio.run(handle.wait())}))
"""


@requires_cgroup
def test_a_new_gaia_kills_what_a_crashed_one_left_in_its_cgroups(tmp_path: Path) -> None:
    pidfile = tmp_path / "escaped.pid"
    command = f"{escape_command(pidfile)} exec sleep 300"
    crashed = subprocess.Popen(
        [sys.executable, "-c", CRASH, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert crashed.stdout is not None and crashed.stdin is not None
    started = json.loads(crashed.stdout.readline())
    escaped = read_pid(pidfile)
    try:
        crashed.stdin.close()
        assert crashed.wait(timeout=10) == 0
        root = Path(started["root"])
        assert root.is_dir()  # left behind, with the leader and the escapee in it
        assert not gone(escaped)
        after = subprocess.run(
            [sys.executable, "-c", AFTER], capture_output=True, text=True, timeout=60, check=False
        )
        assert after.returncode == 0, after.stderr
        assert json.loads(after.stdout) == {"code": 0}
        assert gone(escaped)
        assert gone(started["leader"])
        assert not root.exists()
    finally:
        kill_if_alive(escaped)
        kill_if_alive(started["leader"])


CHOSEN = r"""
import json, asyncio
from gaia._containment import containment
from gaia._proc import spawn
handle = spawn(["/bin/sh", "-c", "true"], cookie="test/mode")
asyncio.run(handle.wait())
current = containment()
print(json.dumps({"kind": current.kind, "leaf": handle.cgroup is not None}))
"""


def test_gaia_containment_process_group_turns_cgroups_off() -> None:
    env = {**os.environ, "GAIA_CONTAINMENT": "process-group"}
    done = subprocess.run(
        [sys.executable, "-c", CHOSEN], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"kind": "process-group", "leaf": False}


@requires_cgroup
async def test_a_child_killed_before_it_moved_in_is_stopped_by_its_group() -> None:
    """kill_tree at once after spawn, before the child's shell has entered its cgroup."""
    handle = spawn(["/bin/sh", "-c", "exec sleep 300"], cookie="test/early")
    try:
        code = await handle.kill_tree(grace=5.0)
        assert code < 0
        assert handle.cgroup is not None
        wait_until(lambda: not handle.cgroup.path.exists(), timeout=5, what="the leaf removed")
    finally:
        kill_if_alive(handle.pid)


NESTED = r"""
import asyncio, sys
from gaia._proc import spawn
handle = spawn(["/bin/sh", "-c", sys.argv[1]], cookie="test/inner")
asyncio.run(handle.wait())
"""


@requires_cgroup
async def test_a_gaia_inside_a_task_is_stopped_with_everything_it_started(tmp_path: Path) -> None:
    """A gaia run as a task nests its cgroups in the task's leaf; one kill ends them all."""
    pidfile = tmp_path / "escaped.pid"
    inner = f"{escape_command(pidfile)} exec sleep 300"
    handle = spawn([sys.executable, "-c", NESTED, inner], cookie="test/outer")
    escaped = read_pid(pidfile)
    try:
        assert handle.cgroup is not None
        leaf = handle.cgroup.path
        assert cgroup_of(escaped).startswith(cgroup_of(handle.pid) + "/gaia-")
        await handle.kill_tree(grace=0.5)
        wait_until(lambda: gone(escaped), timeout=5, what="the inner escapee")
        assert not leaf.exists()  # the inner gaia's cgroups, removed bottom-up
    finally:
        kill_if_alive(escaped)
