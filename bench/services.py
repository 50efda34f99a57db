"""Service supervisor benchmark: gaia against supervisord, side by side in one run.

(a) crash-to-restart latency: a service that exits at once, restarted with zero backoff
    100 times; the time from one process's exit to its replacement starting, measured
    by the service itself (it logs a timestamp as it starts and as it exits);
(b) supervisor CPU: 100 HTTP services, each probed over HTTP every second, for 30 s
    (supervisord has no HTTP health checks: its figure is for supervising the same 100
    services without probes).

    python bench/services.py [--crashes 100] [--services 100] [--seconds 30]

supervisord is installed from PyPI into the running environment if it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from gaia.config import load_settings
from gaia.runtime import Runtime
from gaia.services.spec import ServiceSpec

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


def free_ports(count: int) -> list[int]:
    import socket

    sockets, ports = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in sockets:
        sock.close()
    return ports


def http_command(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def gaia_probe_cpu(work: Path, count: int, seconds: float) -> tuple[float, int]:
    """CPU % of one core used by the gaia process while supervising and probing."""
    ports = free_ports(count)

    async def main() -> tuple[float, int]:
        runtime = Runtime(load_settings(home=work / "gaia-cpu-home", environ={})).open()
        specs = [
            ServiceSpec.model_validate(
                {
                    "name": f"web{i}",
                    "command": http_command(p)[0],
                    "args": http_command(p)[1:],
                    "port": p,
                    "health_check": {"type": "http", "interval": "1s", "timeout": "2s"},
                }
            )
            for i, p in enumerate(ports)
        ]
        runtime.services.register(specs)
        for spec in specs:
            await runtime.services.start(spec.name)
        await asyncio.sleep(3)  # let the servers finish starting
        me = psutil.Process()
        before = me.cpu_times()
        started = time.monotonic()
        await asyncio.sleep(seconds)
        after = me.cpu_times()
        elapsed = time.monotonic() - started
        healthy = sum(
            1 for s in specs if runtime.services.supervisor.state(s.name)[1].value == "healthy"
        )
        await runtime.services.close()
        runtime.close()
        used = (after.user - before.user) + (after.system - before.system)
        return used / elapsed * 100, healthy

    return asyncio.run(main())


def supervisord_cpu(work: Path, count: int, seconds: float) -> float:
    ports = free_ports(count)
    programs = "".join(
        f"[program:web{i}]\ncommand={' '.join(http_command(p))}\nautorestart=true\n"
        for i, p in enumerate(ports)
    )
    proc = subprocess.Popen(
        [supervisord(), "-c", str(supervisord_conf(work, programs))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)
        me = psutil.Process(proc.pid)
        before = me.cpu_times()
        started = time.monotonic()
        time.sleep(seconds)
        after = me.cpu_times()
        elapsed = time.monotonic() - started
    finally:
        stop_supervisord(proc)
    return ((after.user - before.user) + (after.system - before.system)) / elapsed * 100


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
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    supervisord()
    work = Path(tempfile.mkdtemp(prefix="gaia-bench-services-"))
    try:
        print(f"(a) {args.crashes} crashes under gaia…", file=sys.stderr, flush=True)
        gaia_gaps = gaia_restart_latency(work, args.crashes)
        print(f"(a) {args.crashes} crashes under supervisord…", file=sys.stderr, flush=True)
        sd_gaps = supervisord_restart_latency(work, args.crashes)
        print(
            f"(b) {args.services} services for {args.seconds:g}s under gaia…",
            file=sys.stderr,
            flush=True,
        )
        gaia_cpu, healthy = gaia_probe_cpu(work, args.services, args.seconds)
        print(f"(b) {args.services} services under supervisord…", file=sys.stderr, flush=True)
        sd_cpu = supervisord_cpu(work, args.services, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def q(values: list[float], pct: int) -> float:
        return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]

    print(f"{'measure':<46}{'gaia':>12}{'supervisord':>14}")
    print("-" * 72)
    print(
        f"{'(a) restart latency, median (ms)':<46}{statistics.median(gaia_gaps):>12.1f}"
        f"{statistics.median(sd_gaps):>14.1f}"
    )
    print(f"{'(a) restart latency, p95 (ms)':<46}{q(gaia_gaps, 95):>12.1f}{q(sd_gaps, 95):>14.1f}")
    print(f"{'(a) restarts measured':<46}{len(gaia_gaps):>12}{len(sd_gaps):>14}")
    print(f"{'(b) supervisor CPU, % of one core':<46}{gaia_cpu:>12.2f}{sd_cpu:>14.2f}")
    print(f"{'(b) services healthy at the end':<46}{healthy:>12}{'n/a':>14}")
    print("\ntargets: median restart under 50 ms; supervisor CPU under 5% of one core for (b)")
    print("supervisord probes nothing in (b): it only supervises the same 100 services")


if __name__ == "__main__":
    main()
