"""Process groups killed as a tree (gaia._proc), with real child processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from gaia._proc import spawn

# Run in its own interpreter: it makes itself a child subreaper (as an init that does not
# reap would leave things), which must not change how the test process treats orphans.
ORPHANED_ZOMBIE = r"""
import asyncio, ctypes, json, os, time
import psutil
from gaia._proc import spawn

PR_SET_CHILD_SUBREAPER = 36
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, ctypes.get_errno()

async def main() -> dict:
    # The subshell outlives the shell by design: on SIGTERM the shell dies at once and
    # the subshell 0.2 s later, orphaned; it comes to us and is never reaped. (With a
    # plain `sleep 30; true` the sleep often died first and was reaped by the shell.)
    script = "(trap 'sleep 0.2; exit 0' TERM; sleep 30 & wait); true"
    handle = spawn(["/bin/sh", "-c", script], cookie="test/zombie")
    leader = psutil.Process(handle.pid)
    deadline = time.monotonic() + 10
    # The subshell has set its trap once it has started its sleep; and the sleep must have
    # been exec'd: a SIGTERM that reaches dash's fork before it resets its traps is lost,
    # and that `sleep 30` would live on until the SIGKILL at the end of the grace.
    def sleeping() -> bool:
        children = leader.children()
        grandchildren = children[0].children() if children else []
        return bool(grandchildren) and grandchildren[0].name() == "sleep"
    while time.monotonic() < deadline:
        try:
            if sleeping():
                break
        except psutil.NoSuchProcess:
            pass
        await asyncio.sleep(0.01)
    [sleeper] = leader.children()
    started = time.monotonic()
    await handle.kill_tree(grace=8.0)
    took = time.monotonic() - started
    return {"took": took, "sleeper": psutil.Process(sleeper.pid).status()}

print(json.dumps(asyncio.run(main())))
"""


def test_a_group_of_zombies_counts_as_stopped() -> None:
    """kill_tree returns once only unreaped zombies are left, not after its grace period."""
    result = subprocess.run(
        [sys.executable, "-c", ORPHANED_ZOMBIE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["sleeper"] == "zombie"  # the situation: an orphan nobody has reaped
    assert outcome["took"] < 4.0, outcome  # the grace period is 8 s


GRACEFUL = Path(__file__).parent / "services" / "programs" / "graceful.py"


async def test_a_second_stop_joins_the_first_and_a_shorter_grace_hurries_it(
    tmp_path: Path,
) -> None:
    """Three stops of one process: one SIGTERM; the one with no grace brings the SIGKILL
    forward for all three."""
    record, log = tmp_path / "signals", tmp_path / "out.log"
    argv = [sys.executable, str(GRACEFUL), str(record), "--shutdown=60"]
    handle = spawn(argv, cookie="test/join", output=log)
    waiter = asyncio.create_task(handle.wait())  # copies the output meanwhile
    deadline = asyncio.get_running_loop().time() + 20
    while not (log.exists() and "ready" in log.read_text()):
        assert asyncio.get_running_loop().time() < deadline, "the program did not start"
        await asyncio.sleep(0.02)
    patient = [asyncio.create_task(handle.kill_tree(60.0)) for _ in range(2)]
    while not record.exists():  # it has its SIGTERM (and would take 60 s to shut down)
        assert asyncio.get_running_loop().time() < deadline, "no SIGTERM arrived"
        await asyncio.sleep(0.01)
    assert await handle.kill_tree(0.0) == -signal.SIGKILL
    assert [await stop for stop in patient] == [-signal.SIGKILL] * 2
    assert await waiter == -signal.SIGKILL
    assert record.read_text().splitlines() == ["server: SIGTERM"]
