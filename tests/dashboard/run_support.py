"""Runs for the run page's tests: created through the API of the test's daemon."""

from __future__ import annotations

import random
import textwrap
import time
from pathlib import Path
from typing import Any

from tests.api.test_workflows_api import Server

WF = "/api/orchestration/workflows"


def create_run(server: Server, text: str, workdir: Path, *, start: bool = False) -> str:
    with server.client() as client:
        response = client.post(
            WF,
            content=textwrap.dedent(text).lstrip("\n").encode(),
            headers={"content-type": "application/yaml"},
            params={"base_dir": str(workdir), "start": str(start).lower()},
        )
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


def wide_dag(count: int, seed: int = 7) -> str:
    """A definition of ``count`` shell tasks, each after one to three earlier ones nearby
    (tens of layers, many edges: the shape of a big build or data pipeline)."""
    rng = random.Random(seed)
    lines = ["name: wide", "tasks:"]
    for i in range(count):
        near = range(max(0, i - 60), i)
        deps = sorted(rng.sample(near, min(i, rng.randint(1, 3)))) if i >= 40 else []
        dep_text = f", dependencies: [{', '.join(f't{d}' for d in deps)}]" if deps else ""
        lines.append(f"  - {{id: t{i}, command: 'echo task {i}'{dep_text}}}")
    return "\n".join(lines) + "\n"


def wait_run(
    server: Server, run_id: str, statuses: set[str], timeout: float = 30.0
) -> dict[str, Any]:
    """Poll the run's status (bounded) until it is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    with server.client() as client:
        while time.monotonic() < deadline:
            last = client.get(f"{WF}/{run_id}/status").json()
            if last["status"] in statuses:
                return last
            time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not become {statuses} in {timeout} s: {last}")
