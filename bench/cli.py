"""CLI start-up: each command as a whole process, beside ``python -c pass``.

Every row is a fresh process as a user runs it (interpreter start, imports, the work,
exit), timed from outside over ``--runs`` runs after one warm-up: min, median and max
wall-clock milliseconds, the median also as a multiple of ``python -c pass`` (the
interpreter's own start: the floor any Python CLI stands on), and the median CPU time
(user + system, from the kernel's accounting of the finished child), which other
processes on a shared machine bend far less than the wall clock.

    gaia --help                 imports none of its commands (target < 150 ms)
    gaia workflow list          in-process: settings, database, one query for the
                                schema version (target < 300 ms), on an empty home and
                                on one holding --runs-stored runs
    gaia session list           asks the daemon when one runs with these settings
    gaia service list           asks the daemon (a real `gaia serve` in the bench home)
    gaia agent tasks            asks the daemon

Targets are for a quiet machine; on a shared one read the ratio to ``python -c pass``.

    python bench/cli.py [--runs 9] [--runs-stored 200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from _serve import gaia_serve

BIN = Path(sys.executable).parent
WORKFLOW = """\
name: bench-{n}
tasks:
  - id: build
    command: "true"
  - id: test
    command: "true"
    dependencies: [build]
"""


@dataclass
class Timing:
    wall: list[float]  # ms from start to exit
    cpu: list[float]  # ms of user + system CPU: what load from other processes bends least


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def time_process(argv: list[str], env: dict[str, str], runs: int) -> Timing:
    """``runs`` runs of ``argv`` (after one warm-up), each a whole process."""
    timing = Timing([], [])
    for attempt in range(runs + 1):
        cpu_before = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
        if attempt:  # the first run warms the file cache and writes .pyc files
            timing.wall.append(elapsed)
            timing.cpu.append(_children_cpu() - cpu_before)
    return timing


def seed_runs(home: Path, count: int) -> None:
    """``count`` stored runs: most created, a few run to completion."""
    import asyncio

    from gaia.config import load_settings
    from gaia.runtime import Runtime

    runtime = Runtime(load_settings(home=home, environ={}))
    # A gaia from before Runtime.open() opened in its constructor: this script also
    # runs with an older checkout's interpreter, to compare before and after.
    opener = getattr(runtime, "open", None)
    if opener is not None:
        opener()
    try:
        manager = runtime.workflows
        ids = [manager.create(manager.load_text(WORKFLOW.format(n=n))) for n in range(count)]

        async def run_some() -> None:
            for run_id in ids[:5]:
                await manager.execute(run_id)

        asyncio.run(run_some())
    finally:
        runtime.close()


@contextlib.contextmanager
def daemon(env: dict[str, str]) -> Iterator[None]:
    """A real `gaia serve` on a free port for this home; stopped (by its pid) after."""
    with gaia_serve(env):
        yield


def row(label: str, timing: Timing, floor: Timing, target: float | None) -> str:
    wall, cpu = timing.wall, timing.cpu
    median = statistics.median(wall)
    ratio = median / statistics.median(floor.wall)
    aim = f"< {target:.0f}" if target is not None else "-"
    verdict = "" if target is None else ("met" if median < target else "missed")
    return (
        f"{label:<34} {min(wall):7.0f} {median:7.0f} {max(wall):7.0f} {ratio:7.1f}x"
        f" {statistics.median(cpu):8.0f} {aim:>7} {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="counted runs of each command")
    parser.add_argument("--runs-stored", type=int, default=200, help="runs in the full home")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gaia-bench-cli-") as work:
        empty_home, full_home = Path(work) / "empty", Path(work) / "full"
        base = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        socket_name = f"gaia-bench-cli-{os.getpid()}"
        base |= {"GAIA_TMUX_SOCKET": socket_name}
        empty = base | {"GAIA_HOME": str(empty_home)}
        full = base | {"GAIA_HOME": str(full_home)}
        gaia = str(BIN / "gaia")
        # Open both homes once (schema created), as every later command finds them.
        subprocess.run([gaia, "workflow", "list"], env=empty, capture_output=True, check=True)
        seed_runs(full_home, args.runs_stored)

        print(f"CLI start-up over {args.runs} runs after a warm-up: wall-clock ms (min, median,")
        print("max, median as a multiple of python -c pass) and the median CPU ms (user + sys)")
        print(
            f"{'command':<34} {'min':>7} {'median':>7} {'max':>7} {'vs pass':>8}"
            f" {'cpu':>8} {'target':>7}"
        )
        floor = time_process([sys.executable, "-c", "pass"], empty, args.runs)
        print(row("python -c pass", floor, floor, None))
        cases: list[tuple[str, list[str], dict[str, str], float | None]] = [
            ("gaia --help", [gaia, "--help"], empty, 150),
            ("gaia workflow list (no runs)", [gaia, "workflow", "list"], empty, 300),
            (
                f"gaia workflow list ({args.runs_stored} runs)",
                [gaia, "workflow", "list", "--limit", "50"],
                full,
                300,
            ),
            ("gaia session list (no daemon)", [gaia, "session", "list"], empty, None),
        ]
        for label, argv, env, target in cases:
            print(row(label, time_process(argv, env, args.runs), floor, target))
        with daemon(full):
            for label, argv in (
                ("gaia session list (daemon)", [gaia, "session", "list"]),
                ("gaia service list (daemon)", [gaia, "service", "list"]),
                ("gaia agent tasks (daemon)", [gaia, "agent", "tasks"]),
            ):
                print(row(label, time_process(argv, full, args.runs), floor, None))
        subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True)


if __name__ == "__main__":
    main()
