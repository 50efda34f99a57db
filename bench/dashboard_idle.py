"""What an open, idle dashboard page costs the daemon, view by view.

A real `gaia serve` with something on every view (finished runs, running services with
health checks, a tmux session, finished agent tasks); each view is opened signed in, in
headless Chromium (Debian's, driven by Playwright), and left alone. The daemon's CPU time
(its own and its children's) and the tmux server's (which answers the daemon's captures)
over the idle window, as % of one core, beside the same window with no page open.
Target: under 1 % per page.

    python bench/dashboard_idle.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import gaia_serve

CHROMIUM = os.environ.get("GAIA_CHROMIUM", "/usr/bin/chromium")
VIEWS = ["/", "/workflows", "/services", "/sessions", "/agents", "/templates"]
RUN = """
name: idle-bench
tasks:
  - {id: a, command: "echo a"}
  - {id: b, command: "echo b", dependencies: [a]}
"""


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def populate(client: httpx.Client, work: Path) -> dict[str, str]:
    """Something on every view; returns the detail pages to measure too."""
    runs = [
        client.post(
            "/workflows",
            content=RUN,
            headers={"Content-Type": "application/yaml"},
            params={"base_dir": str(work), "start": "true"},
        ).json()["id"]
        for _ in range(3)
    ]
    for index in range(3):
        port = 18300 + index
        spec = {
            "name": f"web{index}",
            "command": f"python3 -m http.server {port} --bind 127.0.0.1",
            "cwd": str(work),
            "health_check": {"type": "http", "endpoint": f"http://127.0.0.1:{port}/"},
        }
        client.post("/services", json=spec).raise_for_status()
        client.post(f"/services/web{index}/start").raise_for_status()
    client.post("/sessions", json={"name": "idle", "windows": [{"name": "sh"}]})
    return {
        "a run": f"/workflows/{runs[0]}",
        "a service": "/services/web0",
        "a session": "/sessions/idle",
    }


def tmux_server(socket: str) -> psutil.Process | None:
    done = subprocess.run(
        ["tmux", "-L", socket, "display-message", "-p", "#{pid}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return psutil.Process(int(done.stdout)) if done.returncode == 0 else None


def measure(processes: list[psutil.Process], seconds: float) -> float:
    before, start = sum(map(cpu_seconds, processes)), time.monotonic()
    time.sleep(seconds)
    return (sum(map(cpu_seconds, processes)) - before) / (time.monotonic() - start) * 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="idle window per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, work = Path(tmp) / "home", Path(tmp) / "work"
        work.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        env.update(GAIA_HOME=str(home), GAIA_TMUX_SOCKET=f"gaia-bench-idle-{os.getpid()}")
        with gaia_serve(env) as (url, server):
            token = (home / "token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=f"{url}/api/orchestration", headers=headers) as client:
                pages = populate(client, work)
            time.sleep(3)  # services up, first health checks done
            tmux = tmux_server(env["GAIA_TMUX_SOCKET"])
            daemon = [psutil.Process(server.pid), *([tmux] if tmux else [])]
            rows = [("no page open", measure(daemon, args.seconds))]
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_page()
                page.goto(f"{url}/?token={token}")
                for name, path in [*((v, v) for v in VIEWS), *pages.items()]:
                    page.goto(url + path)
                    status = page.get_by_role("status", name="live updates")
                    status.filter(has_text="live").wait_for()
                    time.sleep(2)  # the first state sent; now idle
                    rows.append((f"{name}", measure(daemon, args.seconds)))
                browser.close()
            subprocess.run(
                ["tmux", "-L", env["GAIA_TMUX_SOCKET"], "kill-server"],
                check=False,
                capture_output=True,
            )
    baseline = rows[0][1]
    print(f"dashboard idle cost, {args.seconds:g} s per page, % of one core (target < 1 %)")
    print(f"{'page':<16}{'CPU':>12}{'above no page':>16}   (daemon + tmux server)")
    for name, value in rows:
        print(f"{name:<16}{value:>11.2f}%{value - baseline:>15.2f}%")


if __name__ == "__main__":
    main()
