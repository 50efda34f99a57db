"""What an idle Services page costs the daemon: CPU of `gaia serve` with one stream open.

A real daemon runs 20 quiet services (a shell loop each) and one HTTP server with a health
check every 5 s; nothing else happens. For each case the daemon's own CPU time is read
over a window, with no stream open (the baseline), with the Overview's stream (the named
peer: ``summary`` and ``activity``), the services list's (``services``) and a service
page's (``service:web``). The issue asks that an idle page cost under 1% of a core.

    .venv/bin/python bench/services_view.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from _serve import gaia_serve

QUIET_SERVICES = 20
CASES = {
    "no stream (baseline)": [],
    "Overview (summary, activity): the peer": ["summary", "activity"],
    "Services list (services)": ["services"],
    "a service's page (service:web)": ["service:web"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def services(port: int) -> list[dict[str, object]]:
    quiet = [
        {"name": f"quiet{n:02d}", "command": "sh", "args": ["-c", "while :; do sleep 60; done"]}
        for n in range(QUIET_SERVICES)
    ]
    web = {
        "name": "web",
        "command": sys.executable,
        "args": ["-m", "http.server", str(port), "--bind", "127.0.0.1"],
        "port": port,
        "health_check": {"type": "http", "interval": "5s"},
    }
    return [*quiet, web]


def stream(client: httpx.Client, watches: list[str], stop: threading.Event) -> None:
    """Hold the page's one stream open, reading what comes, until ``stop``."""
    with client.stream("GET", "/api/orchestration/events", params={"watch": watches}) as resp:
        for _ in resp.iter_lines():
            if stop.is_set():
                return


def cpu_percent(proc: psutil.Process, seconds: float) -> float:
    """The daemon's CPU time over ``seconds`` (all its threads), as % of one core."""
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    used = (after.user - before.user) + (after.system - before.system)
    return 100.0 * used / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="window per case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "gaia-home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
        env["GAIA_HOME"] = str(home)
        with gaia_serve(env) as (url, proc):
            token = (home / "token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, timeout=30, trust_env=False) as c:
                api = "/api/orchestration/services"
                c.post(api, content=json.dumps(services(free_port()))).raise_for_status()
                for item in c.get(api).json():
                    c.post(f"{api}/{item['name']}/start").raise_for_status()
                time.sleep(3)  # the starts' writes and first checks settle
                daemon = psutil.Process(proc.pid)
                running = QUIET_SERVICES + 1
                print(f"idle daemon, {running} running services, {args.seconds:g} s a case")
                for label, watches in CASES.items():
                    stop = threading.Event()
                    reader = None
                    if watches:
                        reader = threading.Thread(target=stream, args=(c, watches, stop))
                        reader.start()
                        time.sleep(2)  # the first events (the page's first draw) are not idle
                    figure = cpu_percent(daemon, args.seconds)
                    print(f"  {label:<42} {figure:5.2f} % of a core")
                    stop.set()
                    if reader is not None:
                        reader.join(timeout=30)


if __name__ == "__main__":
    main()
