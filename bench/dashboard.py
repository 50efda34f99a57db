"""The dashboard's run page: time to usable for runs of 2,000 and 5,000 tasks.

"Usable" (issue 17): the page has drawn the graph with every task's status, the last task
is found by typing its id in the task list's search, and clicking it shows its status and
its log. Measured from navigation, in headless Chromium (Debian's, /usr/bin/chromium)
driven by Playwright, against a real `gaia serve` with its own GAIA_HOME:

- a pending run of 2,000 tasks and one of 5,000 (layered DAGs, 1-3 dependencies each);
- a completed run of 2,000 tasks (every task with an attempt and a log).

The first load of a run lays its graph out (then kept by the daemon): it is shown apart
("cold"); the figure is the median of the loads after it. Targets: 2,000 tasks within
1 s, 5,000 within 3 s. The peers, from issue 17: Argo's UI hangs at 2,000-4,000 nodes;
Airflow's grid takes minutes at 5,000 tasks.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from playwright.sync_api import Page, sync_playwright

from _serve import gaia_serve

CHROMIUM = os.environ.get("GAIA_CHROMIUM", "/usr/bin/chromium")
API = "/api/orchestration"
LOADS = 7
IDLE_SECONDS = 15


def wide_dag(name: str, count: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines = [f"name: {name}", "max_parallel: 16", "tasks:"]
    for i in range(count):
        near = range(max(0, i - 60), i)
        deps = sorted(rng.sample(near, min(i, rng.randint(1, 3)))) if i >= 40 else []
        dep_text = f", dependencies: [{', '.join(f't{d}' for d in deps)}]" if deps else ""
        lines.append(f"  - {{id: t{i}, command: 'echo task {i}'{dep_text}}}")
    return "\n".join(lines) + "\n"


def create(api: httpx.Client, text: str, base: Path, *, start: bool = False) -> str:
    response = api.post(
        "/workflows",
        content=text.encode(),
        headers={"content-type": "application/yaml"},
        params={"base_dir": str(base), "start": str(start).lower()},
    )
    response.raise_for_status()
    run_id: str = response.json()["id"]
    return run_id


def wait_ended(api: httpx.Client, run_id: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: str = api.get(f"/workflows/{run_id}/status").json()["status"]
        if status not in ("pending", "running"):
            return status
        time.sleep(1)
    raise SystemExit(f"run {run_id} did not end in {timeout} s")


def usable(page: Page, url: str, last: str, status: str) -> tuple[float, float]:
    """Seconds from navigation to the graph drawn, and to usable (as defined above)."""
    page.goto("about:blank")
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_selector("main[data-ready]", state="attached", timeout=60_000)
    drawn = time.perf_counter() - started
    page.get_by_label("Find a task by id").fill(last)
    option = page.locator(f'[role=option][data-task="{last}"]')
    option.click(timeout=60_000)
    panel = page.get_by_role("complementary", name="Selected task")
    panel.locator(".task-status", has_text=status).wait_for(timeout=60_000)
    panel.locator(f'pre[aria-label="Log of {last}"][data-loaded]').wait_for(timeout=60_000)
    return drawn, time.perf_counter() - started


def main() -> None:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"bench/dashboard.py needs Chromium at {CHROMIUM} (apt install chromium)")
    with tempfile.TemporaryDirectory(prefix="gaia-bench-dashboard-") as tmp:
        home = Path(tmp) / "home"
        base = Path(tmp) / "work"
        home.mkdir()
        base.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        env |= {"GAIA_HOME": str(home), "GAIA_TMUX_SOCKET": f"gaia-bench-dashboard-{os.getpid()}"}
        with gaia_serve(env, stop_timeout=120) as (url, proc):
            token = (home / "token").read_text(encoding="utf-8").strip()
            headers = {"Authorization": f"Bearer {token}"}
            client = httpx.Client(base_url=url + API, headers=headers, timeout=600, trust_env=False)
            with client as api:
                note("creating runs of 2,000 and 5,000 tasks; running one of 2,000 to its end…")
                small = create(api, wide_dag("p2000", 2000), base)
                big = create(api, wide_dag("p5000", 5000), base)
                cases = [
                    ("2,000 tasks, pending", small, "t1999", "pending", 1.0),
                    ("5,000 tasks, pending", big, "t4999", "pending", 3.0),
                ]
                done = create(api, wide_dag("c2000", 2000), base, start=True)
                status = wait_ended(api, done)
                cases.append((f"2,000 tasks, {status}", done, "t1999", status, 1.0))
            rows, idle = measure(url, token, cases, psutil.Process(proc.pid))
    heading = f"run page, time to usable (median of {LOADS - 1})"
    print(f"{heading:<44}{'cold':>9}{'graph':>9}{'usable':>9}{'target':>9}")
    print("-" * 80)
    for label, cold, drawn, ready, target in rows:
        print(f"{label:<44}{cold:>8.2f}s{drawn:>8.2f}s{ready:>8.2f}s{target:>8.1f}s")
    print(f"{'daemon CPU, no page open':<44}{idle[0]:>26.2f}%")
    print(f"{'daemon CPU, idle page of 5,000 tasks open':<44}{idle[1]:>26.2f}%{'+1 %':>9}")
    print("\ncold: the first load (lays the graph out); graph: drawn with every status;")
    print("usable: and the last task found by its id and clicked, its status and log shown.")
    print("peers (issue 17): Argo's UI hangs at 2,000-4,000 nodes;")
    print("Airflow's grid takes minutes at 5,000 tasks.")


def measure(
    url: str, token: str, cases: list[tuple[str, str, str, str, float]], daemon: psutil.Process
) -> tuple[list[tuple[str, float, float, float, float]], tuple[float, float]]:
    """Each case's figures, and the daemon's CPU (% of a core) with no page open and
    while a page of the biggest run is open and idle."""
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(f"{url}/?token={token}")
        for label, run_id, last, status, target in cases:
            times = [usable(page, f"{url}/workflows/{run_id}", last, status) for _ in range(LOADS)]
            cold = times[0][1]
            drawn = statistics.median(t[0] for t in times[1:])
            ready = statistics.median(t[1] for t in times[1:])
            note(f"{label}: cold {cold:.2f} s, usable {ready:.2f} s")
            rows.append((label, cold, drawn, ready, target))
        page.goto("about:blank")
        baseline = cpu_percent(daemon)
        page.goto(f"{url}/workflows/{cases[1][1]}")
        page.wait_for_selector("main[data-ready]", state="attached", timeout=60_000)
        time.sleep(2)  # past the first events
        watched = cpu_percent(daemon)
        browser.close()
    return rows, (baseline, watched)


def cpu_percent(daemon: psutil.Process) -> float:
    """The daemon's CPU over IDLE_SECONDS, in % of one core."""
    before, started = daemon.cpu_times(), time.monotonic()
    time.sleep(IDLE_SECONDS)
    after, elapsed = daemon.cpu_times(), time.monotonic() - started
    return 100 * ((after.user + after.system) - (before.user + before.system)) / elapsed


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
