"""What an idle Sessions page costs the daemon, beside the issue's budget (< 1% of a core).

A real `gaia serve` with one session of 2 windows and 3 panes (bash at a prompt, nothing
printing); an SSE client holds each page's watches open for ``--seconds`` and the CPU
time used meanwhile is read from /proc: the daemon's own, the tmux clients it ran (its
reaped children), and its tmux server's. The first round watches nothing (the daemon's
own idle cost), then the Sessions list (``sessions``), then a session's page
(``session:NAME`` and ``pane:NAME//``).

    python bench/dashboard_sessions.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil

from _serve import gaia_serve

BUDGET = 1.0  # % of one core, from issue 17


def cpu(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return float(t.user + t.system + t.children_user + t.children_system)


def tmux_server(socket: str) -> psutil.Process | None:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and "tmux" in cmdline[0] and socket in cmdline and "new-session" in cmdline:
            return proc
    for proc in psutil.process_iter(["cmdline"]):  # started by another first command
        cmdline = proc.info["cmdline"] or []
        if cmdline and "tmux" in cmdline[0] and socket in cmdline:
            return proc
    return None


def hold(url: str, token: str, watches: list[str], stop: threading.Event) -> int:
    """Keep the stream open until ``stop``; the number of events received."""
    events = 0
    params = [("watch", w) for w in watches]
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=None, trust_env=False) as client,
        client.stream("GET", "/api/orchestration/events", params=params) as response,
    ):
        for line in response.iter_lines():
            if line.startswith("event:"):
                events += 1
            if stop.is_set():
                break
    return events


def measure(
    url: str, token: str, daemon: psutil.Process, socket: str, watches: list[str], seconds: float
) -> tuple[float, float]:
    stop = threading.Event()
    thread = None
    if watches:
        thread = threading.Thread(target=hold, args=(url, token, watches, stop), daemon=True)
        thread.start()
        time.sleep(2.0)  # past the first state of each watch
    server = tmux_server(socket)
    d0, s0 = cpu(daemon), (cpu(server) if server else 0.0)
    time.sleep(seconds)
    d1, s1 = cpu(daemon), (cpu(server) if server else 0.0)
    stop.set()
    return 100 * (d1 - d0) / seconds, 100 * (s1 - s0) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="gaia-bench-dash-sessions-"))
    socket = f"gaia-bench-{uuid.uuid4().hex[:8]}"
    home = base / "home"
    (base / "user").mkdir()
    (base / "user" / ".bashrc").write_text("PS1='$ '\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(GAIA_HOME=str(home), GAIA_TMUX_SOCKET=socket, HOME=str(base / "user"))
    env.update(SHELL="/bin/bash", GAIA_SESSION_RECONCILE_INTERVAL="1h")
    try:
        with gaia_serve(env) as (url, proc):
            token = (home / "token").read_text().strip()
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=url, headers=headers, trust_env=False) as client:
                body = {
                    "session_name": "bench",
                    "windows": [{"window_name": "a", "panes": [{}, {}]}, {"window_name": "b"}],
                }
                client.post("/api/orchestration/sessions", json=body).raise_for_status()
            daemon = psutil.Process(proc.pid)
            time.sleep(2.0)
            print(f"idle cost over {args.seconds:.0f} s, % of one core (budget: {BUDGET}%)")
            print(f"{'page':<22}{'daemon':>10}{'tmux server':>14}{'total':>10}")
            rounds = [
                ("nothing watched", []),
                ("Sessions list", ["sessions"]),
                ("a session's page", ["session:bench", "pane:bench//"]),
            ]
            for label, watches in rounds:
                own, server = measure(url, token, daemon, socket, watches, args.seconds)
                print(f"{label:<22}{own:>9.2f}%{server:>13.2f}%{own + server:>9.2f}%")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


if __name__ == "__main__":
    main()
