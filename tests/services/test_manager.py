"""The services component as the daemon runs it: restore after a crash, metrics, pruning."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, insert, select

from gaia._proc import find_by_cookie
from gaia.config import Settings
from gaia.runtime import Runtime
from gaia.services.spec import ServiceSpec
from gaia.services.supervisor import ServiceState
from gaia.storage.models import service_health_table
from gaia.storage.types import utcnow
from tests.helpers import cgroup_containment_reason, escape_command, proc_gone, wait_until

NO_CGROUP = cgroup_containment_reason()

CRASHING_DAEMON = """
import asyncio, sys
from pathlib import Path
from gaia.config import load_settings
from gaia.runtime import Runtime
from gaia.services.spec import ServiceSpec

async def main():
    settings = load_settings(home=Path(sys.argv[1]), environ={}, service_start_seconds=0.2)
    runtime = Runtime(settings).open()
    runtime.services.register([ServiceSpec(name="sleeper", command="exec sleep 300")])
    await runtime.services.start("sleeper")
    runtime.services.recorder.flush()
    print("started", flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""


def service_processes(service_id: str) -> list[psutil.Process]:
    return [p for p in find_by_cookie(f"service/{service_id}") if not proc_gone(p)]


async def test_restore_after_sigkill_never_runs_a_service_twice(
    settings: Settings, gaia_home: Path, tmp_path: Path
) -> None:
    """A daemon killed with SIGKILL leaves its service running; the next one replaces it."""
    script = tmp_path / "daemon.py"
    script.write_text(textwrap.dedent(CRASHING_DAEMON))
    daemon = subprocess.Popen(
        [sys.executable, str(script), str(gaia_home)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert daemon.stdout is not None
        assert daemon.stdout.readline().strip() == "started"
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)

    runtime = Runtime(settings).open()
    try:
        record = runtime.services.registry.get("sleeper")
        assert record.desired_state == "running"
        [orphan] = service_processes(record.id)
        assert await runtime.services.restore() == ["sleeper"]
        wait_until(lambda: proc_gone(orphan), timeout=5, what="the orphan to be stopped")
        # Popen returns once the exec began; the new process shows its environment (and
        # so its cookie) only once the kernel has finished it, some ms later when loaded.
        survivors = wait_until(
            lambda: service_processes(record.id), timeout=5, what="the replacement"
        )
        assert len(survivors) == 1
        assert survivors[0].pid != orphan.pid
        assert runtime.services.supervisor.state("sleeper")[0] is ServiceState.running
    finally:
        await runtime.services.close()
        runtime.close()
    assert service_processes(record.id) == []


async def test_metrics_cover_the_whole_process_tree(runtime: Runtime) -> None:
    """RSS adds up the service's children; CPU shows a busy child; uptime and counts are set."""
    hog = f"{sys.executable} -c 'x = bytearray(60_000_000); import time; time.sleep(60)'"
    spin = f"{sys.executable} -c 'while True: pass'"
    runtime.services.register(
        [ServiceSpec(name="tree", command=f"{hog} & {spin} & wait")], source="test"
    )
    try:
        await runtime.services.start("tree")
        await asyncio.sleep(0.5)
        assert runtime.services.sample("tree") is not None  # primes cpu_percent
        await asyncio.sleep(1.0)
        metrics = runtime.services.sample("tree")
        assert metrics is not None
        assert metrics["process_count"] >= 3
        assert metrics["rss_bytes"] >= 60_000_000
        assert metrics["cpu_percent"] > 20
        assert metrics["uptime_seconds"] >= 1.0
        assert metrics["restart_count"] == 0
    finally:
        await runtime.services.close()


def test_history_is_bounded(runtime: Runtime, settings: Settings) -> None:
    """Health history beyond service_history_limit rows per service is pruned, oldest first."""
    [record] = runtime.services.register([ServiceSpec(name="noisy", command="true")])
    limit = settings.service_history_limit
    start = utcnow()
    rows = [
        {
            "service_id": record.id,
            "checked_at": start + timedelta(milliseconds=i),
            "ok": True,
            "health": "healthy",
            "latency_ms": float(i),
            "detail": str(i),
        }
        for i in range(limit + 25)
    ]
    with runtime.db.write() as conn:
        conn.execute(insert(service_health_table), rows)
    runtime.services.prune()
    with runtime.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(service_health_table)).scalar()
        oldest = conn.execute(select(func.min(service_health_table.c.latency_ms))).scalar()
    assert count == limit
    assert oldest == 25.0


@pytest.mark.skipif(NO_CGROUP is not None, reason=f"no cgroup v2 containment here: {NO_CGROUP}")
async def test_metrics_count_an_escaped_descendant(runtime: Runtime, tmp_path: Path) -> None:
    """A setsid + env -i grandchild is out of the tree, but in the service's cgroup."""
    pidfile = tmp_path / "escaped.pid"
    runtime.services.register(
        [ServiceSpec(name="escaper", command=f"{escape_command(pidfile)} exec sleep 60")],
        source="test",
    )
    try:
        await runtime.services.start("escaper")
        escaped = int(
            wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="escapee")
        )
        root = psutil.Process(metrics_root(runtime))
        # Once the shells between them have exited, only the two sleeps are left.
        members = runtime.services.supervisor.members
        wait_until(lambda: set(members("escaper") or ()) == {root.pid, escaped}, what="2 left")
        tree = {root.pid, *(p.pid for p in root.children(recursive=True))}
        assert escaped not in tree
        metrics = runtime.services.sample("escaper")
        assert metrics is not None
        # The two sleeps: the cgroup's members, the escapee among them (a shell the root
        # has not reaped yet may still show in its tree as a zombie; it uses nothing).
        assert metrics["process_count"] == 2
    finally:
        await runtime.services.close()


def metrics_root(runtime: Runtime) -> int:
    pid = runtime.services.supervisor.state("escaper")[2]
    assert pid is not None
    return pid


async def test_unregistering_a_stopped_service_loses_no_later_write(runtime: Runtime) -> None:
    """Deleting a service right after its stop: writes about it still queued, and the
    shutdown's, must not fail the database batch that carries other services' writes."""
    services = runtime.services
    services.register(
        [
            ServiceSpec(name="gone", command="sleep 60"),
            ServiceSpec(name="kept", command="sleep 60"),
        ],
        source="test",
    )
    try:
        await services.start("gone")
        await services.start("kept")
        await services.stop("gone")
        services.unregister("gone")
        await services.stop("kept")
    finally:
        await services.close()  # raised StorageError: FOREIGN KEY constraint failed
    events = services.registry.get("kept")
    assert events.state == "stopped"
