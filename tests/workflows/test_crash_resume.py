"""`gaia workflow run` SIGKILLed, then resumed: no task's work is lost or done twice.

The runner is the real CLI without a daemon, in its own GAIA_HOME, killed with SIGKILL.
Tasks append their id to a file. Each task first waits at a gate (a FIFO the test writes
to), so that the test knows which task may be writing and kills only at moments where
the database either holds a task's end or the task has not written yet: a kill between
a task's write and its recorded end cannot be told apart from a task that never ran, by
any runner, and would make "exactly once" a matter of luck.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from gaia._proc import kill_cookie_holders
from tests.helpers import proc_gone, wait_until

GAIA = str(Path(sys.executable).parent / "gaia")
LAYERS, WIDTH = 5, 4
KILLS = 30

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("GAIA_TEST_DATABASE_URL")), reason="reads the SQLite file directly"
)


def task_ids() -> list[str]:
    return [f"t{layer}_{i}" for layer in range(LAYERS) for i in range(WIDTH)]


def write_dag(path: Path, work: Path) -> None:
    lines = ["name: chaos", f"max_parallel: {WIDTH}", "tasks:"]
    for layer in range(LAYERS):
        for i in range(WIDTH):
            key = f"t{layer}_{i}"
            deps = [] if layer == 0 else [f"t{layer - 1}_{i}", f"t{layer - 1}_{(i + 1) % WIDTH}"]
            command = (
                f"echo {key} $PPID >> {work}/started; read _ < {work}/gate.{key};"
                f" echo {key} >> {work}/out"
            )
            lines.append(
                f"  - id: {key}\n    command: '{command}'\n    dependencies: [{', '.join(deps)}]"
            )
    path.write_text("\n".join(lines) + "\n")


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


class Chaos:
    def __init__(self, home: Path, work: Path, env: dict[str, str]) -> None:
        self.db = home / "gaia.db"
        self.work = work
        self.env = env
        self.runner: subprocess.Popen[bytes] | None = None
        self.run_id: str | None = None
        self.starts_made = 0
        self.output = work.parent / "runner-0.log"
        self.released: set[str] = set()  # by the test, to the current runner's tasks
        # Held open read-write by the test: a task's `read` never blocks in open(), and
        # "go" waits in the pipe if the test is quicker than the task.
        self.gates = {key: os.open(work / f"gate.{key}", os.O_RDWR) for key in task_ids()}

    def start(self, *argv: str) -> None:
        self.released = set()
        self.starts_made += 1
        self.output = self.work.parent / f"runner-{self.starts_made}.log"
        with self.output.open("wb") as output:
            self.runner = subprocess.Popen(
                [GAIA, "workflow", *argv, "--json"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def last_output(self) -> str:
        """What the current runner printed: why it failed, when it did."""
        return self.output.read_text(encoding="utf-8", errors="replace")[-4000:]

    def status(self, key: str | None = None) -> str | None:
        if not self.db.exists():
            return None
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            if key is None:
                row = conn.execute("SELECT id, status FROM gaia_workflows").fetchone()
                if row is not None:
                    self.run_id = row[0]
            else:
                row = conn.execute(
                    "SELECT status FROM gaia_workflow_tasks WHERE task_key = ?", (key,)
                ).fetchone()
        except sqlite3.OperationalError:  # the schema is still being created
            return None
        finally:
            conn.close()
        return None if row is None else str(row[-1])

    def waiting(self) -> list[str]:
        """Tasks this runner started (their shell's parent is it) and not yet released."""
        assert self.runner is not None
        mine = str(self.runner.pid)
        words = lines(self.work / "started")
        started = [
            key for key, parent in zip(words[::2], words[1::2], strict=True) if parent == mine
        ]
        return [key for key in dict.fromkeys(started) if key not in self.released]

    def starts(self) -> int:
        return len(lines(self.work / "started")) // 2

    def release(self, key: str) -> None:
        os.write(self.gates[key], b"go\n")
        self.released.add(key)

    def kill(self) -> None:
        assert self.runner is not None
        self.runner.send_signal(signal.SIGKILL)
        self.runner.wait(timeout=30)

    def ended(self) -> bool:
        return self.runner is not None and self.runner.poll() is not None


def test_thirty_sigkills_at_random_points_lose_and_repeat_nothing(
    tmp_path: Path, gaia_home: Path, cli_env: dict[str, str]
) -> None:
    """30 SIGKILLs of the runner, each followed by `resume`: every line exactly once.

    Kill points, chosen with a fixed seed: right after a task starts (its dependencies'
    ends must be in the database by then), or once a released task's end is there.
    """
    rng = random.Random(15)
    work = tmp_path / "work"
    work.mkdir()
    for key in task_ids():
        os.mkfifo(work / f"gate.{key}")
    dag = tmp_path / "chaos.yaml"
    write_dag(dag, work)
    dependents: dict[str, set[str]] = {key: set() for key in task_ids()}
    for layer in range(1, LAYERS):
        for i in range(WIDTH):
            for parent in (f"t{layer - 1}_{i}", f"t{layer - 1}_{(i + 1) % WIDTH}"):
                dependents[parent].add(f"t{layer}_{i}")
    chaos = Chaos(gaia_home, work, cli_env)
    kills = 0
    seen = 0

    def maybe_kill(at_an_end: bool = False) -> None:
        nonlocal kills
        # Each task still to end is an end kill point to come, and a loaded machine starts
        # tasks in batches (fewer start points): once the kills still owed are as many as
        # the ends to come, every end is taken, so that all 30 kills happen.
        to_end = len(set(task_ids()) - set(lines(work / "out"))) + 1
        owed = KILLS - kills
        if owed > 0 and (rng.random() < 0.6 or (at_an_end and owed >= to_end)):
            chaos.kill()
            kills += 1
            assert chaos.run_id is not None
            chaos.start("resume", chaos.run_id)

    chaos.start("run", str(dag))
    try:
        wait_until(lambda: chaos.status() is not None, timeout=30, interval=0.01)
        while not chaos.ended():
            wait_until(
                lambda seen=seen: chaos.starts() > seen or chaos.waiting() or chaos.ended(),
                timeout=30,
                interval=0.005,
            )
            if chaos.starts() > seen:
                # A start is a kill point: whatever it depends on must be recorded by now.
                seen = chaos.starts()
                maybe_kill()
                continue
            if chaos.ended():
                break
            key = rng.choice(chaos.waiting())
            chaos.release(key)
            wait_until(lambda key=key: key in lines(work / "out"), timeout=30, interval=0.005)
            # Its end is a kill point once the database holds it, or once a dependent
            # started, which the scheduler allows only after the same commit.
            wait_until(
                lambda key=key: (
                    chaos.status(key) == "completed" or dependents[key] & set(chaos.waiting())
                ),
                timeout=30,
                interval=0.005,
            )
            seen = chaos.starts()
            maybe_kill(at_an_end=True)
        assert chaos.runner is not None
        assert chaos.runner.returncode == 0, chaos.last_output()
    finally:
        if chaos.runner is not None and chaos.runner.poll() is None:
            chaos.kill()
        if chaos.run_id is not None:
            kill_cookie_holders(f"{chaos.run_id}/")
        for fd in chaos.gates.values():
            os.close(fd)
    assert kills == KILLS
    out = lines(work / "out")
    assert sorted(out) == sorted(task_ids()), f"lines written more or less than once: {out}"
    assert chaos.status() == "completed"


def test_a_dead_runners_tasks_die_with_it(
    tmp_path: Path, gaia_home: Path, cli_env: dict[str, str], write_workflow: Callable[..., Path]
) -> None:
    """SIGKILL the runner: each running task's whole tree goes too, without any resume."""
    work = tmp_path / "work"
    work.mkdir()
    tasks = "\n".join(
        # A grandchild that left the task's group (setsid) must die with the rest.
        f"  - {{id: t{i}, command: 'sleep 300 & setsid sleep 300 & echo $! > {work}/{i}.pids;"
        f" echo $$ >> {work}/{i}.pids; wait'}}"
        for i in range(4)
    )
    path = write_workflow(f"name: tethered\ntasks:\n{tasks}\n")
    runner = subprocess.Popen(
        [GAIA, "workflow", "run", str(path), "--json"],
        env=cli_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    procs: list[psutil.Process] = []
    try:
        for i in range(4):
            pids = wait_until(
                lambda i=i: len(lines(work / f"{i}.pids")) == 2 and lines(work / f"{i}.pids")
            )
            procs += [psutil.Process(int(pid)) for pid in pids]
        children = psutil.Process(runner.pid).children(recursive=True)
        procs += [p for p in children if p.pid not in {q.pid for q in procs}]
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)
        # Before the fix they ran on: the sleeps would have lasted their 300 s.
        wait_until(lambda: all(proc_gone(p) for p in procs), timeout=15, what="tasks to die")
    finally:
        if runner.poll() is None:
            runner.kill()
        for proc in procs:
            if not proc_gone(proc):
                proc.kill()
