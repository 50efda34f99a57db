"""What the Workflows page's live list costs the daemon: the ``runs`` watch's look.

A database of many finished runs and one running run of 2,000 tasks (claimed, so the
watch counts its tasks each look); the watch looks twice a second, when something was
committed since its last look (``Database.generation``), else it only asks that. Printed beside the
issue's budget (an idle page under 1% of a core, 10 ms of CPU a second) and beside the
naive way (reading the page's 500 newest runs again each time).

    python bench/runs_watch.py [--runs 5000] [--looks 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from sqlalchemy import text

from gaia._owner import Owner
from gaia.config import load_settings
from gaia.runtime import Runtime
from gaia.workflows.changes import RunChanges
from gaia.workflows.summaries import list_summaries

LOOKS_PER_SECOND = 2  # gaia.live.base.POLL_INTERVAL = 0.5 s


def cpu_ms(action: object, times: int) -> float:
    """Median CPU time of one call (this thread's), in ms."""
    samples = []
    for _ in range(times):
        start = time.thread_time()
        action()  # type: ignore[operator]
        samples.append((time.thread_time() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--looks", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["GAIA_HOME"] = home
        runtime = Runtime(load_settings()).open()
        try:
            manager = runtime.workflows
            small = Path(home) / "small.yaml"
            small.write_text(
                "name: nightly\ntasks:\n"
                + "".join(f"  - {{id: t{i}, command: 'true'}}\n" for i in range(3))
            )
            big = Path(home) / "big.yaml"
            big.write_text(
                "name: big\ntasks:\n"
                + "".join(f"  - {{id: t{i}, command: 'true'}}\n" for i in range(2000))
            )
            loaded = manager.load_file(small)
            started = time.perf_counter()
            for _ in range(args.runs):
                manager.create(loaded)
            running = manager.create(manager.load_file(big))
            # History is spread over time (one run a minute), not made in the last seconds:
            # runs changed within LOOKBACK of the newest are looked at again each time,
            # so a burst of thousands costs more for those seconds (printed below too).
            with runtime.db.write() as conn:
                conn.execute(
                    text(
                        "UPDATE gaia_workflows SET updated_at = strftime("
                        "'%Y-%m-%d %H:%M:%f', updated_at, '-' || rowid || ' minutes')"
                    )
                )
            print(
                f"{args.runs:,} runs + 1 running run of 2,000 tasks "
                f"(made in {time.perf_counter() - started:.1f} s), one a minute"
            )

            quiet = RunChanges(runtime.db)
            quiet.look()
            nothing_running = cpu_ms(quiet.look, args.looks)
            # What the watch does while nothing commits: ask the database's generation.
            runtime.db.generation()
            nothing_committed = cpu_ms(runtime.db.generation, args.looks)
            me = psutil.Process()
            manager.store.claim(
                running,
                Owner(pid=me.pid, host=os.uname().nodename, started_at=me.create_time()),
                resume=False,
            )
            changes = RunChanges(runtime.db)
            changes.look()
            idle = cpu_ms(changes.look, args.looks)
            naive = cpu_ms(lambda: list_summaries(runtime.db, limit=500), max(args.looks // 10, 5))
            for _ in range(1000):  # a burst: 1,000 runs made in the last seconds
                manager.create(loaded)
            busy = RunChanges(runtime.db)
            busy.look()
            burst = cpu_ms(busy.look, max(args.looks // 10, 5))
        finally:
            runtime.close()
    budget = 10.0
    print(f"{'':34} {'per look':>10} {'CPU per second':>16}")
    print(
        f"{'nothing committed':34} {nothing_committed:8.2f} ms "
        f"{nothing_committed * LOOKS_PER_SECOND:11.2f} ms/s"
    )
    print(
        f"{'a commit each time, nothing running':34} {nothing_running:8.2f} ms "
        f"{nothing_running * LOOKS_PER_SECOND:11.2f} ms/s"
    )
    print(f"{'same, the 2,000-task run running':34} {idle:8.2f} ms {idle * 2:11.2f} ms/s")
    print(f"{'same, 1,000 made in the last 10 s':34} {burst:8.2f} ms {burst * 2:11.2f} ms/s")
    print(
        f"{'naive: the 500 newest again':34} {naive:8.2f} ms {naive * LOOKS_PER_SECOND:11.2f} ms/s"
    )
    print(f"{'budget: 1% of a core':34} {'':>10} {budget:11.2f} ms/s")


if __name__ == "__main__":
    main()
