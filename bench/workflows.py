"""Workflow engine benchmark: gaia against `make -j` on the same graphs, side by side.

(a) a wide DAG: 20 layers of 100 `true` tasks, each depending on 2 tasks of the layer
    before (2,000 tasks);
(b) a chain of 200 `true` tasks.

gaia runs with persistence on (a real SQLite file in a temporary GAIA_HOME, every task
and attempt recorded, a log file per attempt). Two gaia figures are printed: the engine
in-process (what the daemon does: validation, database and scheduling included, Python
start-up excluded) and the `gaia workflow run` command end to end.

    python bench/workflows.py [--repeat 3] [--no-cli] [--containment process-group]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gaia.config import load_settings
from gaia.runtime import Runtime, settle_heap

LAYERS, WIDTH, CHAIN = 20, 100, 200


def wide_graph() -> dict[str, list[str]]:
    graph: dict[str, list[str]] = {}
    for layer in range(LAYERS):
        for i in range(WIDTH):
            deps = [] if layer == 0 else [f"t{layer - 1}_{i}", f"t{layer - 1}_{(i + 1) % WIDTH}"]
            graph[f"t{layer}_{i}"] = deps
    return graph


def chain_graph() -> dict[str, list[str]]:
    return {f"c{i}": ([f"c{i - 1}"] if i else []) for i in range(CHAIN)}


def write_yaml(path: Path, name: str, graph: dict[str, list[str]], max_parallel: int) -> None:
    lines = [f"name: {name}", f"max_parallel: {max_parallel}", "tasks:"]
    for task, deps in graph.items():
        lines.append(f"  - id: {task}\n    command: 'true'\n    dependencies: [{', '.join(deps)}]")
    path.write_text("\n".join(lines) + "\n")


def write_makefile(path: Path, graph: dict[str, list[str]]) -> None:
    dependents = {d for deps in graph.values() for d in deps}
    sinks = [t for t in graph if t not in dependents]
    lines = [f".PHONY: all {' '.join(graph)}", f"all: {' '.join(sinks)}"]
    for task, deps in graph.items():
        lines.append(f"{task}: {' '.join(deps)}\n\t@true")
    path.write_text("\n".join(lines) + "\n")


def timed(fn: Callable[[], None], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_make(makefile: Path) -> None:
    subprocess.run(["make", "-s", "-j", "-f", str(makefile)], check=True, cwd=makefile.parent)


def run_engine(workflow: Path, home: Path, containment: str) -> None:
    runtime = Runtime(load_settings(home=home, environ={}, containment=containment)).open()
    settle_heap()  # as `gaia serve` and every command do once started
    try:
        manager = runtime.workflows
        run_id = manager.create(manager.load_file(workflow))
        result = asyncio.run(manager.execute(run_id))
        if result.status != "completed":
            raise SystemExit(f"gaia run failed: {result.error}")
    finally:
        runtime.close()


def run_spawn_floor(count: int, concurrency: int) -> None:
    """Only start and await `count` `/bin/sh -c true` processes from Python, no scheduling."""

    async def main() -> None:
        slots = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with slots:
                proc = await asyncio.create_subprocess_exec(
                    "/bin/sh", "-c", "true", start_new_session=True
                )
                await proc.wait()

        await asyncio.gather(*(one() for _ in range(count)))

    asyncio.run(main())


def run_cli(workflow: Path, home: Path) -> None:
    gaia = Path(sys.executable).parent / "gaia"
    env = {**os.environ, "GAIA_HOME": str(home)}
    subprocess.run(
        [str(gaia), "workflow", "run", "--json", str(workflow)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI figure")
    parser.add_argument(
        "--max-parallel",
        type=int,
        default=WIDTH * 2,
        help="gaia's max_parallel (make -j is unlimited)",
    )
    parser.add_argument(
        "--containment",
        choices=["auto", "cgroup", "process-group"],
        default="auto",
        help="how gaia contains each task (cgroup v2 leaves cost a mkdir, a move, an rmdir)",
    )
    args = parser.parse_args()
    if shutil.which("make") is None:
        raise SystemExit("make is not installed: the benchmark compares against make -j")

    work = Path(tempfile.mkdtemp(prefix="gaia-bench-"))
    home = work / "home"
    rows = []
    try:
        for name, graph in (("wide DAG 20x100", wide_graph()), ("chain of 200", chain_graph())):
            slug = name.split()[0]
            workflow, makefile = work / f"{slug}.yaml", work / f"{slug}.mk"
            write_yaml(workflow, slug, graph, args.max_parallel)
            write_makefile(makefile, graph)
            n = len(graph)
            print(f"running {name} ({n} tasks) ×{args.repeat}…", file=sys.stderr, flush=True)
            make_s = timed(lambda m=makefile: run_make(m), args.repeat)
            engine_s = timed(lambda w=workflow: run_engine(w, home, args.containment), args.repeat)
            cli_s = None if args.no_cli else timed(lambda w=workflow: run_cli(w, home), args.repeat)
            width = args.max_parallel if slug == "wide" else 1
            floor_s = timed(lambda n=n, c=width: run_spawn_floor(n, c), args.repeat)
            rows.append((name, n, make_s, engine_s, cli_s, floor_s))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = (
        f"{'graph':<18}{'tasks':>6}{'make -j':>10}{'gaia':>10}{'gaia/make':>11}"
        f"{'tasks/s':>10}{'+ms/task':>10}{'gaia CLI':>10}{'py spawn':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, n, make_s, engine_s, cli_s, floor_s in rows:
        overhead_ms = (engine_s - make_s) / n * 1000
        cli = f"{cli_s:>9.3f}s" if cli_s is not None else f"{'-':>10}"
        print(
            f"{name:<18}{n:>6}{make_s:>9.3f}s{engine_s:>9.3f}s{engine_s / make_s:>10.2f}x"
            f"{n / engine_s:>10.0f}{overhead_ms:>10.2f}{cli}{floor_s:>9.3f}s"
        )
    print("\ntargets: wide DAG gaia/make <= 1.5x; chain overhead < 2 ms per task over make")
    print("py spawn: Python only starting and awaiting as many /bin/sh processes, no scheduling")


if __name__ == "__main__":
    main()
