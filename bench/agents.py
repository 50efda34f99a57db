"""Agent bridge benchmark: gaia's queue against the floor, side by side, in one run.

2,000 tasks with random priorities on a zero-work agent executable (``/bin/true``),
spread over 3 agents with ``max_concurrency`` 4 each. The floor is what any Python
program must pay for the same work: a bare asyncio semaphore per agent and a
subprocess loop running the same executable. gaia runs with everything on — a real
SQLite file, every task queued, started and finished in the database, per-task logs.

Checked from the bridge's own start/finish trace, replayed outside it:
- priority inversions: a task started while a task of higher priority (or of equal
  priority, queued earlier) waited for an agent that had a free slot. Must be 0.
- the highest concurrency seen per agent. Must not exceed its limit.

    python bench/agents.py [--tasks 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from gaia.agents import AgentBridge, AgentTask, BridgeConfig, Isolation, TaskType
from gaia.agents.launch import DirectLauncher
from gaia.agents.registry import AgentRegistry, build_agent, spec_from_settings
from gaia.agents.store import AgentStore
from gaia.config import AgentSettings
from gaia.storage.db import Database
from gaia.storage.migrate import upgrade

AGENTS = ("alpha", "beta", "gamma")
LIMIT = 4
EXECUTABLE = shutil.which("true") or "/bin/true"


def make_tasks(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    return [(AGENTS[i % len(AGENTS)], rng.randint(0, 9)) for i in range(count)]


async def run_floor(tasks: list[tuple[str, int]]) -> float:
    semaphores = {agent: asyncio.Semaphore(LIMIT) for agent in AGENTS}

    async def one(agent: str) -> None:
        async with semaphores[agent]:
            process = await asyncio.create_subprocess_exec(
                EXECUTABLE,
                "prompt",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
            await process.wait()

    started = time.perf_counter()
    await asyncio.gather(*(one(agent) for agent, _ in tasks))
    return time.perf_counter() - started


def replay(
    trace: list[tuple[str, str]], tasks: dict[str, tuple[str, int, int]]
) -> tuple[int, dict[str, int]]:
    """(priority inversions, highest concurrency per agent) from the start/finish trace.

    Every task was queued before the first start (the bench submits them all while the
    bridge is paused), so at each start every not-yet-started task was waiting.
    """
    waiting = set(tasks)
    active = dict.fromkeys(AGENTS, 0)
    peak = dict.fromkeys(AGENTS, 0)
    inversions = 0
    for kind, task_id in trace:
        agent, priority, seq = tasks[task_id]
        if kind == "finish":
            active[agent] -= 1
            continue
        waiting.discard(task_id)
        for other in waiting:
            other_agent, other_priority, other_seq = tasks[other]
            free = active[other_agent] < LIMIT or other_agent == agent
            if free and (other_priority, -other_seq) > (priority, -seq):
                inversions += 1
                break
        active[agent] += 1
        peak[agent] = max(peak[agent], active[agent])
    return inversions, peak


async def run_gaia(tasks: list[tuple[str, int]], root: Path) -> tuple[float, int, dict[str, int]]:
    db = Database(f"sqlite:///{root / 'gaia.db'}")
    upgrade(db)
    registry = AgentRegistry()
    for name in AGENTS:
        settings = AgentSettings(command=[EXECUTABLE, "{prompt}"], max_concurrency=LIMIT)
        registry.register(build_agent(spec_from_settings(name, settings)))
    bridge = AgentBridge(
        AgentStore(db),
        registry,
        BridgeConfig(
            workers=LIMIT * len(AGENTS), logs_dir=root / "logs", worktrees_dir=root / "wt"
        ),
        launcher=DirectLauncher(),
    )
    await bridge.start()
    bridge.trace = []
    agent_tasks = [
        AgentTask(
            instruction="prompt",
            agent_id=agent,
            task_type=TaskType.code,
            priority=priority,
            isolation=Isolation.none,
            work_dir=root,
        )
        for agent, priority in tasks
    ]
    started = time.perf_counter()
    # Queue everything before anything starts, so that priority order is tested on a
    # full queue (one worker slot per agent would otherwise start in submission order).
    bridge.pause()
    futures = [bridge.submit(task) for task in agent_tasks]
    bridge.resume()
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    info = {t.id: (t.agent_id, t.priority, i) for i, t in enumerate(agent_tasks)}
    inversions, peak = replay(bridge.trace, info)
    failed = sum(1 for f in futures if not f.result().success)
    if failed:
        raise SystemExit(f"{failed} tasks failed")
    await bridge.close()
    db.dispose()
    return elapsed, inversions, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    tasks = make_tasks(args.tasks, seed=42)
    floors, gaias = [], []
    inversions_total = 0
    peaks: dict[str, int] = dict.fromkeys(AGENTS, 0)
    for round_ in range(args.repeat):
        floors.append(asyncio.run(run_floor(tasks)))
        with tempfile.TemporaryDirectory(prefix="gaia-bench-agents-") as tmp:
            elapsed, inversions, peak = asyncio.run(run_gaia(tasks, Path(tmp)))
        gaias.append(elapsed)
        inversions_total += inversions
        peaks = {a: max(peaks[a], peak[a]) for a in AGENTS}
        print(f"round {round_ + 1}: floor {floors[-1]:.2f}s, gaia {elapsed:.2f}s", flush=True)
    floor, gaia = statistics.median(floors), statistics.median(gaias)
    n = args.tasks
    print()
    print(f"{n} tasks, {len(AGENTS)} agents x max_concurrency {LIMIT}, executable {EXECUTABLE}")
    print(f"{'':28}{'gaia':>12}{'floor':>12}{'ratio':>10}")
    print(f"{'wall time':28}{gaia:>11.2f}s{floor:>11.2f}s{gaia / floor:>9.2f}x")
    print(f"{'tasks per second':28}{n / gaia:>12.0f}{n / floor:>12.0f}")
    overhead_ms = (gaia - floor) / n * 1000
    print(f"{'gaia overhead per task':28}{overhead_ms:>10.3f}ms")
    print(f"{'priority inversions':28}{inversions_total:>12}{'(must be 0)':>22}")
    for agent in AGENTS:
        print(f"{'peak concurrency ' + agent:28}{peaks[agent]:>12}{f'(limit {LIMIT})':>22}")
    ok = n / gaia >= 500 and gaia / floor <= 1.5 and inversions_total == 0
    ok = ok and all(p <= LIMIT for p in peaks.values())
    print(
        f"targets (>= 500 tasks/s, <= 1.5x floor, 0 inversions, limits kept): "
        f"{'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
