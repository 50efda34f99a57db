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
import time
from collections.abc import Sequence
from typing import Any

import psutil
from sqlalchemy import delete, func, insert, select, update

from gaia._proc import COOKIE_ENV, find_by_cookie
from gaia.config import Settings
from gaia.services.metrics import ServiceSampler
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

# How often health, metric and event rows beyond service_history_limit are deleted: the
# count behind it reads every row of those tables, a million with 1,000 services.
PRUNE_EVERY = 300.0
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
        self.sampler = ServiceSampler(self.supervisor)
        self._sampler: asyncio.Task[None] | None = None

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
        self.sampler.forget(record.name)
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
        """CPU % and RSS of the service with all its descendants, uptime, restarts."""
        return self.sampler.sample(name)

    async def _sample_forever(self) -> None:
        pruned_at = time.monotonic()
        while True:
            # Read each time: a settings reload changes it for the next sample.
            await asyncio.sleep(self.settings.service_metrics_interval)
            # psutil reads /proc for every process of every service: not on the loop.
            samples = await asyncio.to_thread(self.sampler.sample_all)
            if samples:
                at = utcnow()
                rows = [{"service_id": sid, "sampled_at": at, **m} for sid, m in samples]
                self.recorder.call(
                    lambda conn, rows=rows: conn.execute(  # type: ignore[misc]
                        insert(service_metrics_table), rows
                    )
                )
            if time.monotonic() - pruned_at >= PRUNE_EVERY:
                pruned_at = time.monotonic()
                await asyncio.to_thread(self.prune)

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
        # The supervisor writes a check that changed nothing once a minute only; it
        # holds the latest of them in memory.
        recent = self.supervisor.recent_checks(record.name)[:limit]
        oldest = recent[-1]["checked_at"] if recent else None
        older = [dict(r._mapping) for r in rows if oldest is None or r.checked_at < oldest]
        check = record.spec.health_check
        return HealthView(
            name=record.name,
            health=self.view(record, live=False).health,
            check=check.model_dump(mode="json") if check else None,
            history=[*recent, *older][:limit],
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
