"""Service supervisor benchmark: gaia against supervisord, side by side in one run.

(a) crash-to-restart latency: a service that exits at once, restarted with zero backoff
    100 times; the time from one process's exit to its replacement starting, measured
    by the service itself (it logs a timestamp as it starts and as it exits);
(b) daemon CPU: a real ``gaia serve`` (default settings: CPU and memory sampled every
    10 s) supervising 100, then 1,000 services, each probed over HTTP every second,
    measured over 30 s once all are healthy. The services are ``sleep`` processes; one
    separate asyncio process answers the checks on as many 127.0.0.1 ports. supervisord
    has no HTTP health checks: its figure is for supervising the same services without
    probes.

    python bench/services.py [--crashes 100] [--services 100,1000] [--seconds 30]
                             [--interval 1s] [--skip-restarts]

supervisord is installed from PyPI into the running environment if it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

from _serve import gaia_serve
from gaia.config import load_settings
from gaia.runtime import Runtime
from gaia.services.spec import ServiceSpec

API = "/api/orchestration"
CRASHER = (
    'echo "start $(date +%s%N)" >> {log}; sleep 0.01; echo "exit $(date +%s%N)" >> {log}; exit 1'
)


def restart_gaps(log: Path) -> list[float]:
    """Milliseconds from each exit to the next start, from the service's own log."""
    events = [line.split() for line in log.read_text().splitlines() if line.strip()]
    gaps = []
    for (kind, stamp), (next_kind, next_stamp) in itertools.pairwise(events):
        if kind == "exit" and next_kind == "start":
            gaps.append((int(next_stamp) - int(stamp)) / 1e6)
    return gaps


def wait_for_starts(log: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count("start") >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"only {log.read_text().count('start') if log.exists() else 0} starts seen")


def gaia_restart_latency(work: Path, crashes: int) -> list[float]:
    log = work / "gaia-crasher.log"

    async def main() -> None:
        runtime = Runtime(load_settings(home=work / "gaia-home", environ={})).open()
        spec = ServiceSpec.model_validate(
            {
                "name": "crasher",
                "command": CRASHER.format(log=log),
                "start_seconds": 0,  # it exits at once on purpose
                "restart": {
                    "policy": "always",
                    "backoff": {"initial": 0, "max": 0},
                    "max_restarts": crashes + 10,
                    "window": "1h",
                },
            }
        )
        runtime.services.register([spec])
        await runtime.services.start("crasher")
        await asyncio.to_thread(wait_for_starts, log, crashes + 1, 120)
        await runtime.services.close()
        runtime.close()

    asyncio.run(main())
    return restart_gaps(log)[:crashes]


def supervisord_conf(work: Path, programs: str) -> Path:
    conf = work / "supervisord.conf"
    conf.write_text(
        f"[supervisord]\nnodaemon=true\nlogfile={work}/supervisord.log\npidfile={work}/sd.pid\n"
        f"[unix_http_server]\nfile={work}/sd.sock\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        + programs
    )
    return conf


def supervisord_restart_latency(work: Path, crashes: int) -> list[float]:
    log = work / "sd-crasher.log"
    command = CRASHER.format(log=log).replace("%", "%%")
    program = (
        f"[program:crasher]\ncommand=/bin/sh -c '{command}'\nautorestart=true\n"
        f"startsecs=0\nstartretries={crashes + 10}\n"
    )
    proc = subprocess.Popen(
        [supervisord(), "-c", str(supervisord_conf(work, program))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_starts(log, crashes + 1, 300)
    finally:
        stop_supervisord(proc)
    return restart_gaps(log)[:crashes]


# -- (b) supervisor CPU ----------------------------------------------------------------

# One process answers every health check, on as many ports as there are services: the
# checks are real HTTP over 127.0.0.1 without a thousand Python servers beside gaia.
PORTS_SERVER = r"""
import asyncio, json, sys

async def answer(reader, writer):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main(count):
    servers = [await asyncio.start_server(answer, "127.0.0.1", 0, backlog=512)
               for _ in range(count)]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()

asyncio.run(main(int(sys.argv[1])))
"""
SLEEPER = ["sleep", "1000000"]  # a service costs the machine almost nothing itself


@contextlib.contextmanager
def http_ports(count: int) -> Iterator[list[int]]:
    """``count`` ports on 127.0.0.1 that answer ``HTTP 200``, served by one process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PORTS_SERVER, str(count)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield [int(port) for port in json.loads(proc.stdout.readline())]
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def gaia_daemon(home: Path) -> Iterator[tuple[httpx.Client, subprocess.Popen[str]]]:
    """A real ``gaia serve`` (its own GAIA_HOME, default settings) and an API client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env |= {"GAIA_HOME": str(home), "GAIA_TMUX_SOCKET": f"gaia-bench-services-{os.getpid()}"}
    with gaia_serve(env, stop_timeout=300) as (url, proc):
        token = (home / "token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url + API, headers=headers, timeout=600, trust_env=False) as api:
            yield api, proc


def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU time (all its threads, not its children) over ``seconds``, as
    a percentage of one core."""
    proc = psutil.Process(pid)
    before, started = proc.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = proc.cpu_times(), time.monotonic() - started
    used = (after.user - before.user) + (after.system - before.system)
    return used / elapsed * 100


def gaia_probe_cpu(work: Path, count: int, seconds: float, interval: str) -> tuple[float, int]:
    """The daemon's CPU while it supervises ``count`` services, each probed over HTTP
    every ``interval``; and how many were healthy at the end."""
    home = work / f"gaia-{count}-{interval}"
    with http_ports(count) as ports, gaia_daemon(home) as (api, daemon):
        specs = [
            {
                "name": f"web{i}",
                "command": SLEEPER[0],
                "args": SLEEPER[1:],
                "port": port,
                "start_seconds": 0,
                "health_check": {"type": "http", "interval": interval, "timeout": "5s"},
            }
            for i, port in enumerate(ports)
        ]
        api.post("/services", json=specs).raise_for_status()
        for spec in specs:
            api.post(f"/services/{spec['name']}/start").raise_for_status()
        # Every service has been probed at least once, and the probes are spread out.
        deadline = time.monotonic() + 60 + count / 10
        while time.monotonic() < deadline:
            if all(s["health"] == "healthy" for s in api.get("/services").json()):
                break
            time.sleep(1)
        time.sleep(5)
        share = cpu_share(daemon.pid, seconds)
        healthy = sum(1 for s in api.get("/services").json() if s["health"] == "healthy")
    return share, healthy


def supervisord_cpu(work: Path, count: int, seconds: float) -> float:
    """supervisord's CPU while it supervises the same ``count`` services (no probes)."""
    programs = "".join(
        f"[program:web{i}]\ncommand={' '.join(SLEEPER)}\nautorestart=true\n" for i in range(count)
    )
    proc = subprocess.Popen(
        [supervisord(), "-c", str(supervisord_conf(work, programs))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # supervisord starts its programs over its first seconds: wait for all of them.
        deadline = time.monotonic() + 60 + count / 10
        while time.monotonic() < deadline:
            with contextlib.suppress(psutil.Error):
                if len(psutil.Process(proc.pid).children()) >= count:
                    break
            time.sleep(0.5)
        time.sleep(5)
        return cpu_share(proc.pid, seconds)
    finally:
        stop_supervisord(proc)


def stop_supervisord(proc: subprocess.Popen[bytes]) -> None:
    """supervisord stops its programs one by one (slowly, with 100): wait, then kill."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()


def supervisord() -> str:
    path = shutil.which("supervisord") or str(Path(sys.executable).parent / "supervisord")
    if not os.path.exists(path):
        print("installing supervisor from PyPI into this environment…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "supervisor"], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crashes", type=int, default=100)
    parser.add_argument(
        "--services", type=lambda v: [int(n) for n in v.split(",")], default=[100, 1000]
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", default="1s", help="health check interval in (b)")
    parser.add_argument("--skip-restarts", action="store_true", help="(b) only")
    args = parser.parse_args()
    supervisord()
    work = Path(tempfile.mkdtemp(prefix="gaia-bench-services-"))
    rows: list[tuple[str, str, str]] = []
    try:
        if not args.skip_restarts:
            say(f"(a) {args.crashes} crashes under gaia…")
            gaia_gaps = gaia_restart_latency(work, args.crashes)
            say(f"(a) {args.crashes} crashes under supervisord…")
            sd_gaps = supervisord_restart_latency(work, args.crashes)
            rows += [
                (
                    "(a) restart latency, median (ms)",
                    f"{statistics.median(gaia_gaps):.1f}",
                    f"{statistics.median(sd_gaps):.1f}",
                ),
                (
                    "(a) restart latency, p95 (ms)",
                    f"{quantile(gaia_gaps, 95):.1f}",
                    f"{quantile(sd_gaps, 95):.1f}",
                ),
                ("(a) restarts measured", str(len(gaia_gaps)), str(len(sd_gaps))),
            ]
        for count in args.services:
            say(f"(b) {count} services, probed every {args.interval}, {args.seconds:g}s, gaia…")
            gaia_cpu, healthy = gaia_probe_cpu(work, count, args.seconds, args.interval)
            say(f"(b) {count} services under supervisord…")
            sd_cpu = supervisord_cpu(work, count, args.seconds)
            rows += [
                (
                    f"(b) {count} services: daemon CPU, % of one core",
                    f"{gaia_cpu:.2f}",
                    f"{sd_cpu:.2f}",
                ),
                (f"(b) {count} services: healthy at the end", str(healthy), "n/a"),
            ]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'measure':<50}{'gaia':>12}{'supervisord':>14}")
    print("-" * 76)
    for measure, gaia, peer in rows:
        print(f"{measure:<50}{gaia:>12}{peer:>14}")
    print("\ntargets: median restart under 50 ms; daemon CPU under 5% of one core, 100 services")
    print("supervisord probes nothing in (b): it only supervises the same services")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def quantile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


if __name__ == "__main__":
    main()
