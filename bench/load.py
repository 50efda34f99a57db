"""API under load: gaia's daemon against plain uvicorn, side by side in one run.

gaia: a real `gaia serve` in a temporary GAIA_HOME on a free 127.0.0.1 port, running a
workflow of 2,000 tasks (``sleep 1``, 16 at a time) and 20 services (Python HTTP
servers probed over HTTP every second). ``--clients`` clients, each on one keep-alive
connection and asking every ``--interval`` seconds (1 s: a dashboard or a script
polling), call a mix of routes for ``--duration`` seconds: the health probe, the
workflow list, the run's status and the service list (which samples every service's CPU
and memory). ``--interval 0`` makes each client a closed loop that asks again as soon
as it is answered: that measures saturation (throughput and queueing), where on a
2-core machine even the peer's latency is the length of the queue.

peer: plain uvicorn serving one trivial async health route (no middleware, no work
behind it), loaded by as many clients calling that route alone.

Printed: requests, errors, p50/p95/p99/max per route. Target: gaia's /health p99
under 100 ms, and no error.

    python bench/load.py [--clients 150] [--duration 60] [--interval 1] [--tasks 2000]
                         [--services 20]

The clients run in ``--processes`` worker processes (asyncio + httpx in each), so that
the load generator is not itself the bottleneck of one Python process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from _serve import gaia_serve

API = "/api/orchestration"
PEER_APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/orchestration/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}
    """
)

Latencies = dict[str, list[float]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- clients (in worker processes) ---------------------------------------------------


async def _client(
    base: str,
    token: str,
    routes: list[str],
    until: float,
    interval: float,
    found: Latencies,
    errors: Latencies,
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=30.0, limits=limits, trust_env=False
    ) as client:
        turn = 0
        # Clients that poll start at random moments of their interval, as real ones do.
        await asyncio.sleep(random.uniform(0.0, interval))
        while time.monotonic() < until:
            route = routes[turn % len(routes)]
            turn += 1
            started = time.perf_counter()
            try:
                response = await client.get(route)
                ok = response.status_code == 200
            except httpx.HTTPError as exc:
                ok = False
                errors.setdefault(route, []).append(0.0)
                print(f"client error on {route}: {exc!r}", file=sys.stderr)
            elapsed = time.perf_counter() - started
            if ok:
                found.setdefault(route, []).append(elapsed)
            elif route not in errors or not errors[route]:
                errors.setdefault(route, []).append(elapsed)
            # A polling client asks again one interval after it last asked, not after
            # the answer came: a slow answer does not slow the load down.
            await asyncio.sleep(max(0.0, interval - elapsed))


def run_clients(
    base: str,
    token: str,
    routes: list[str],
    clients: int,
    start_at: float,
    duration: float,
    interval: float,
) -> tuple[Latencies, dict[str, int]]:
    """One worker process: ``clients`` concurrent clients, each asking every ``interval``
    seconds (0: a closed loop that asks again as soon as it has its answer)."""

    async def main() -> tuple[Latencies, dict[str, int]]:
        found: Latencies = {}
        errors: Latencies = {}
        await asyncio.sleep(max(0.0, start_at - time.time()))
        until = time.monotonic() + duration
        # Stagger the routes so that every instant sees the whole mix.
        await asyncio.gather(
            *(
                _client(
                    base,
                    token,
                    routes[i % len(routes) :] + routes[: i % len(routes)],
                    until,
                    interval,
                    found,
                    errors,
                )
                for i in range(clients)
            )
        )
        return found, {route: len(items) for route, items in errors.items()}

    return asyncio.run(main())


def load(
    base: str,
    token: str,
    routes: list[str],
    clients: int,
    duration: float,
    processes: int,
    interval: float,
) -> tuple[Latencies, dict[str, int], float]:
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    start_at = time.time() + 2.0  # every worker starts its clients at the same moment
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = [
            pool.submit(run_clients, base, token, routes, share, start_at, duration, interval)
            for share in shares
            if share
        ]
        results = [future.result() for future in futures]
    found: Latencies = {}
    errors: dict[str, int] = {}
    for latencies, failed in results:
        for route, items in latencies.items():
            found.setdefault(route, []).extend(items)
        for route, count in failed.items():
            errors[route] = errors.get(route, 0) + count
    return found, errors, duration


# -- the servers ---------------------------------------------------------------------


@contextlib.contextmanager
def gaia_daemon(home: Path) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env |= {
        "GAIA_HOME": str(home),
        "GAIA_TMUX_SOCKET": f"gaia-bench-load-{os.getpid()}",
        "GAIA_SERVICE_METRICS_INTERVAL": "5s",
    }
    with gaia_serve(env) as (url, proc):
        token = (home / "token").read_text().strip()
        yield url, token, proc


@contextlib.contextmanager
def peer_server(workdir: Path) -> Iterator[str]:
    (workdir / "peer_app.py").write_text(PEER_APP)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "peer_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=workdir,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}{API}/health", trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the peer uvicorn did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def start_workload(base: str, token: str, tasks: int, services: int) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + API, headers=headers, timeout=120, trust_env=False) as api:
        for i in range(services):
            port = free_port()
            spec = {
                "name": f"web-{i}",
                "command": sys.executable,
                "args": ["-m", "http.server", str(port), "--bind", "127.0.0.1"],
                "port": port,
                "health_check": {
                    "type": "http",
                    "endpoint": f"http://127.0.0.1:{port}/",
                    "interval": "1s",
                },
            }
            api.post("/services", json=spec).raise_for_status()
            api.post(f"/services/web-{i}/start").raise_for_status()
        workflow = {
            "name": "load",
            "max_parallel": 16,
            "tasks": [{"id": f"t{i}", "command": "sleep 1"} for i in range(tasks)],
        }
        created = api.post(
            "/workflows",
            content=json.dumps(workflow),
            headers={"Content-Type": "application/json"},
            params={"base_dir": tempfile.gettempdir(), "start": "true"},
        )
        created.raise_for_status()
        return str(created.json()["id"])


# -- report --------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def report(name: str, found: Latencies, errors: dict[str, int], duration: float) -> None:
    print(f"\n{name}")
    print(
        f"  {'route':<34} {'requests':>9} {'req/s':>7} {'errors':>6} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for route in sorted(set(found) | set(errors)):
        values = sorted(found.get(route, []))
        if values:
            p50, p95, p99 = (percentile(values, f) * 1000 for f in (0.5, 0.95, 0.99))
            figures = f"{p50:8.1f} {p95:8.1f} {p99:8.1f} {values[-1] * 1000:8.1f}"
        else:
            figures = f"{'-':>8} {'-':>8} {'-':>8} {'-':>8}"
        shown = re.sub(r"/workflows/[0-9a-f-]{8,}", "/workflows/{id}", route.removeprefix(API))
        print(
            f"  {shown:<34} {len(values):>9} {len(values) / duration:>7.0f} "
            f"{errors.get(route, 0):>6} {figures}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--processes", type=int, default=3, help="client worker processes")
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between one client's requests (0: ask again at once, a closed loop)",
    )
    args = parser.parse_args()
    print(
        f"{args.clients} clients for {args.duration:g} s on keep-alive connections, "
        + (f"each asking every {args.interval:g} s; " if args.interval else "closed loop; ")
        + f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}"
    )

    with tempfile.TemporaryDirectory(prefix="gaia-bench-load-") as tmp:
        home = Path(tmp) / "gaia-home"
        home.mkdir()
        with gaia_daemon(home) as (base, token, _proc):
            run_id = start_workload(base, token, args.tasks, args.services)
            routes = [
                f"{API}/health",
                f"{API}/workflows",
                f"{API}/health",
                f"{API}/workflows/{run_id}/status",
                f"{API}/health",
                f"{API}/services",
            ]
            found, errors, duration = load(
                base, token, routes, args.clients, args.duration, args.processes, args.interval
            )
            with httpx.Client(trust_env=False) as check:
                status = check.get(
                    f"{base}{API}/workflows/{run_id}/status",
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
        report(
            f"gaia serve ({args.tasks}-task workflow: {status['task_counts']}; "
            f"{args.services} services)",
            found,
            errors,
            duration,
        )
        with peer_server(Path(tmp)) as peer:
            peer_found, peer_errors, peer_duration = load(
                peer,
                "",
                [f"{API}/health"],
                args.clients,
                args.duration,
                args.processes,
                args.interval,
            )
        report(
            "peer: plain uvicorn, one trivial async route", peer_found, peer_errors, peer_duration
        )

    health = sorted(found.get(f"{API}/health", [0.0]))
    p99 = percentile(health, 0.99) * 1000
    failed = sum(errors.values())
    verdict = "met" if p99 < 100 and not failed else "NOT met"
    print(
        f"\ntarget (gaia /health p99 < 100 ms, no error): {verdict} "
        f"(p99 {p99:.1f} ms, {failed} errors)"
    )


if __name__ == "__main__":
    main()
