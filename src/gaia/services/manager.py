"""ServiceManager: the services component as the daemon uses it.

It remembers which services should be running (``desired_state``), brings them back when
the daemon starts again, makes sure a service never runs twice — a process left behind
by a daemon that died with SIGKILL is recognised by its recorded pid and start time and
stopped, with its whole tree, before a new one starts — and samples CPU and memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psutil
from sqlalchemy import delete, func, insert, select, update

from gaia._proc import COOKIE_ENV, find_by_cookie
from gaia.config import Settings
from gaia.services.registry import RegisteredService, ServiceRegistry
from gaia.services.spec import ServiceSpec
from gaia.services.supervisor import ServiceState, Supervisor, SupervisorOptions
from gaia.services.views import EventView, HealthView, ServiceView
from gaia.storage.db import Database
from gaia.storage.models import (
    service_events_table,
    service_health_table,
    service_metrics_table,
    services_table,
)
from gaia.storage.recorder import Recorder
from gaia.storage.types import utcnow

__all__ = ["ServiceManager"]

log = logging.getLogger("gaia.services")

# How old a service's CPU/memory sample may be and still be answered (see _samples).
SAMPLE_MAX_AGE = 1.0
S = services_table


class ServiceManager:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.registry = ServiceRegistry(db)
        self.recorder = Recorder(db, name="gaia-service-recorder")
        self.supervisor = Supervisor(
            self.registry,
            self.recorder,
            SupervisorOptions(
                log_dir=settings.gaia_home.service_logs,
                kill_grace=settings.kill_grace_period,
                log_max_bytes=settings.service_log_max_bytes,
                log_backups=settings.service_log_backups,
                start_seconds=settings.service_start_seconds,
            ),
        )
        self._sampler: asyncio.Task[None] | None = None
        # cpu_percent needs the same Process object from one sample to the next. The
        # sampler (a worker thread) and the list/metrics routes (the thread pool) sample
        # at once: the lock keeps one from dropping entries the other is using.
        self._cpu: dict[int, psutil.Process] = {}
        self._cpu_lock = threading.Lock()
        # Finding a tree's descendants reads /proc/*/stat of every process on the
        # machine: a list of 20 services did it 20 times per request, and a dashboard
        # polling it from many tabs saturated the daemon. A sample younger than
        # SAMPLE_MAX_AGE is answered again (what cpu_percent measures needs an interval
        # anyway); keyed by pid too, so a restarted service is sampled afresh.
        self._samples: dict[str, tuple[float, int, dict[str, Any]]] = {}

    # -- definitions -----------------------------------------------------------------

    def register(
        self, specs: Sequence[ServiceSpec], *, source: str = "<services>", replace: bool = False
    ) -> list[RegisteredService]:
        return self.registry.register(specs, source=source, replace=replace)

    def unregister(self, ident: str) -> RegisteredService:
        """Remove a stopped service and its history.

        The supervisor's writes are behind by up to one batch: a stop that has just
        returned may not be in the database yet, so the registry would still see the
        service stopping (a 409 for a service that is stopped), and a write of it
        committed after the delete would break a foreign key and fail its whole batch.
        """
        self.recorder.flush()
        record = self.registry.unregister(ident)
        self.supervisor.forget(record.name)
        with self._cpu_lock:
            self._samples.pop(record.name, None)
        return record

    # -- control ---------------------------------------------------------------------

    async def start(self, name: str) -> ServiceState:
        record = await asyncio.to_thread(self.registry.get, name)
        await asyncio.to_thread(self._desire, [record.name], "running")
        return await self.supervisor.start(record.name)

    async def stop(self, name: str, *, graceful: bool = True) -> ServiceState:
        record = await asyncio.to_thread(self.registry.get, name)
        await asyncio.to_thread(self._desire, [record.name], "stopped")
        return await self.supervisor.stop(record.name, graceful=graceful)

    async def restart(self, name: str) -> ServiceState:
        record = await asyncio.to_thread(self.registry.get, name)
        await asyncio.to_thread(self._desire, [record.name], "running")
        return await self.supervisor.restart(record.name)

    async def restore(self) -> list[str]:
        """At daemon start: stop leftovers of a dead daemon, start what should run."""
        records = await asyncio.to_thread(self.registry.list)
        leftovers = await asyncio.to_thread(_service_processes)
        for record in records:
            procs = leftovers.get(f"service/{record.id}", [])
            await asyncio.to_thread(self._stop_leftover, record, procs)
        wanted = [r.name for r in records if r.desired_state == "running"]
        started = []
        for name in await asyncio.to_thread(self.registry.start_order, wanted) if wanted else []:
            try:
                await self.supervisor.start(name)
                started.append(name)
            except Exception as exc:  # one broken service must not keep the rest down
                log.error("could not restore service %s: %s", name, exc)
        return started

    def start_sampling(self) -> None:
        if self._sampler is None:
            self._sampler = asyncio.create_task(self._sample_forever())

    async def close(self) -> None:
        """Daemon shutdown: stop every service (they stay desired, and come back)."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        await self.supervisor.stop_all()
        await asyncio.to_thread(self.recorder.close)

    # -- metrics ---------------------------------------------------------------------

    def sample(self, name: str) -> dict[str, Any] | None:
        """CPU % and RSS of the service with all its descendants, uptime, restarts.

        Descendants are the process tree, and the cgroup's members when it has one.
        """
        state, _, pid = self.supervisor.state(name)
        if pid is None or state is not ServiceState.running:
            return None
        now = time.monotonic()
        with self._cpu_lock:
            cached_sample = self._samples.get(name)
        if cached_sample is not None and cached_sample[1] == pid:
            taken_at, _pid, recent = cached_sample
            if now - taken_at < SAMPLE_MAX_AGE:
                return {**recent, "restart_count": self.supervisor.restart_count(name)}
        measured = self._measure(name, pid)
        if measured is not None:
            with self._cpu_lock:
                self._samples[name] = (now, pid, measured)
        return measured

    def _measure(self, name: str, pid: int) -> dict[str, Any] | None:
        try:
            root = psutil.Process(pid)
        except psutil.Error:
            return None
        # A cgroup lists every descendant, and what left the tree (setsid, double forks)
        # too, in one read; finding descendants otherwise means reading every process's
        # /proc/N/stat, which cost most of a service list under load.
        members = self.supervisor.members(name)
        if members is None:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return None
        else:
            procs = [root]
            for member in members:
                if member != pid:
                    with contextlib.suppress(psutil.Error):
                        procs.append(psutil.Process(member))
        cpu = rss = 0.0
        live_roots = self._live_roots()
        with self._cpu_lock:
            cached = [self._cpu.setdefault(proc.pid, proc) for proc in procs]
            seen = {proc.pid for proc in procs}
            for stale in set(self._cpu) - seen - live_roots:
                self._cpu.pop(stale, None)
            for gone in set(self._samples) - set(self.supervisor.names()):
                self._samples.pop(gone, None)
        for proc in cached:
            with contextlib.suppress(psutil.Error):
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
        return {
            "cpu_percent": round(cpu, 2),
            "rss_bytes": int(rss),
            "uptime_seconds": round(time.time() - root.create_time(), 3),
            "restart_count": self.supervisor.restart_count(name),
            "process_count": len(procs),
        }

    def _live_roots(self) -> set[int]:
        return {pid for name in self.supervisor.names() if (pid := self.supervisor.state(name)[2])}

    async def _sample_forever(self) -> None:
        while True:
            # Read each time: a settings reload changes it for the next sample.
            await asyncio.sleep(self.settings.service_metrics_interval)
            # psutil reads /proc for every process of every service: not on the loop.
            samples = await asyncio.to_thread(self._sample_all)
            for service_id, metrics in samples:
                row = {"service_id": service_id, "sampled_at": utcnow(), **metrics}
                self.recorder.call(
                    lambda conn, row=row: conn.execute(  # type: ignore[misc]
                        insert(service_metrics_table), row
                    )
                )
            await asyncio.to_thread(self.prune)

    def _sample_all(self) -> list[tuple[str, dict[str, Any]]]:
        samples = []
        for name in self.supervisor.names():
            metrics = self.sample(name)
            if metrics is not None:
                samples.append((self.supervisor.service_id(name), metrics))
        return samples

    def prune(self) -> None:
        """Keep the newest ``service_history_limit`` health and metric rows per service."""
        limit = self.settings.service_history_limit
        with self.db.write() as conn:
            for table in (service_health_table, service_metrics_table, service_events_table):
                # Row ids grow with time and, unlike timestamps, never tie.
                counts = conn.execute(
                    select(table.c.service_id, func.count()).group_by(table.c.service_id)
                ).all()
                for service_id, count in counts:
                    if count <= limit:
                        continue
                    cutoff = conn.execute(
                        select(table.c.id)
                        .where(table.c.service_id == service_id)
                        .order_by(table.c.id.desc())
                        .offset(limit)
                        .limit(1)
                    ).scalar()
                    conn.execute(
                        delete(table).where(table.c.service_id == service_id, table.c.id <= cutoff)
                    )

    # -- views -----------------------------------------------------------------------

    def view(self, record: RegisteredService, *, live: bool = True) -> ServiceView:
        spec = record.spec
        state, health, pid = record.state, record.health, record.pid
        if record.name in self.supervisor.names():
            current = self.supervisor.state(record.name)
            state, health, pid = current[0].value, current[1].value, current[2]
        metrics = self.sample(record.name) if live else None
        return ServiceView(
            id=record.id,
            name=record.name,
            description=spec.description,
            state=state,
            health=health,
            desired_state=record.desired_state,
            pid=pid,
            port=spec.port,
            command=spec.argv,
            cwd=spec.cwd,
            env_keys=sorted(spec.env),
            depends_on=dict(spec.depends_on),
            health_check=spec.health_check.type if spec.health_check else None,
            restart_policy=spec.restart_policy.policy,
            restart_count=max(record.restart_count, self.supervisor.restart_count(record.name)),
            last_exit_code=record.last_exit_code,
            uptime_seconds=metrics["uptime_seconds"] if metrics else None,
            cpu_percent=metrics["cpu_percent"] if metrics else None,
            rss_bytes=metrics["rss_bytes"] if metrics else None,
            created_at=record.created_at,
        )

    def list_views(self) -> list[ServiceView]:
        return [self.view(record) for record in self.registry.list()]

    def health(self, name: str, limit: int = 20) -> HealthView:
        self.recorder.flush()  # read what this process has just recorded
        record = self.registry.get(name)
        H = service_health_table
        with self.db.read() as conn:
            rows = conn.execute(
                select(H.c.checked_at, H.c.ok, H.c.health, H.c.latency_ms, H.c.detail)
                .where(H.c.service_id == record.id)
                .order_by(H.c.id.desc())
                .limit(limit)
            ).all()
        check = record.spec.health_check
        return HealthView(
            name=record.name,
            health=self.view(record, live=False).health,
            check=check.model_dump(mode="json") if check else None,
            history=[dict(row._mapping) for row in rows],
        )

    def events(self, name: str, limit: int = 100) -> list[EventView]:
        self.recorder.flush()  # read what this process has just recorded
        record = self.registry.get(name)
        E = service_events_table
        with self.db.read() as conn:
            rows = conn.execute(
                select(E.c.at, E.c.kind, E.c.from_state, E.c.to_state, E.c.message)
                .where(E.c.service_id == record.id)
                .order_by(E.c.id.desc())
                .limit(limit)
            ).all()
        return [EventView.model_validate(row, from_attributes=True) for row in reversed(rows)]

    def metrics(self, name: str, limit: int = 60) -> dict[str, Any]:
        self.recorder.flush()  # read what this process has just recorded
        record = self.registry.get(name)
        M = service_metrics_table
        with self.db.read() as conn:
            rows = conn.execute(
                select(M).where(M.c.service_id == record.id).order_by(M.c.id.desc()).limit(limit)
            ).all()
        history = [
            {k: v for k, v in row._mapping.items() if k not in ("id", "service_id")}
            for row in reversed(rows)
        ]
        return {"name": record.name, "current": self.sample(record.name), "history": history}

    # -- internals -------------------------------------------------------------------

    def _desire(self, names: Sequence[str], state: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                update(S)
                .where(S.c.name.in_(names))
                .values(desired_state=state, updated_at=utcnow())
            )

    def _stop_leftover(self, record: RegisteredService, procs: list[psutil.Process]) -> None:
        """Processes a previous daemon started for ``record`` are stopped now."""
        with self.db.read() as conn:
            row = conn.execute(select(S.c.pid, S.c.pid_started_at).where(S.c.id == record.id)).one()
        alive = False
        if row.pid is not None and row.pid_started_at is not None:
            with contextlib.suppress(psutil.Error):
                alive = abs(psutil.Process(row.pid).create_time() - row.pid_started_at) < 1.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        killed = len(procs)
        if alive and not killed:  # its cookie was lost (env -i): trust pid + start time
            with contextlib.suppress(psutil.Error):
                psutil.Process(row.pid).kill()
                killed = 1
        if killed:
            log.warning(
                "service %s: stopped %d process(es) left by a previous daemon (pid %s)",
                record.name,
                killed,
                row.pid,
            )
        with self.db.write() as conn:
            conn.execute(
                update(S)
                .where(S.c.id == record.id)
                .values(state=ServiceState.stopped, pid=None, health="unknown", updated_at=utcnow())
            )


def _service_processes() -> dict[str, list[psutil.Process]]:
    """Every live process started for a service, by cookie (one scan of the process table)."""
    grouped: dict[str, list[psutil.Process]] = {}
    for proc in find_by_cookie("service/", prefix=True):
        with contextlib.suppress(psutil.Error):
            grouped.setdefault(proc.environ()[COOKIE_ENV], []).append(proc)
    return grouped
