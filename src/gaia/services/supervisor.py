"""The supervisor: keeps registered services running, probes them, restarts them.

Each started service has a *keeper* coroutine that owns its process: it spawns it in its
own process group, awaits its exit (never polls), applies the restart policy with
backoff and the ``max_restarts``-in-``window`` limit, and stops the whole process tree
on request. A health watcher beside it restarts a service whose check fails
``retries`` times in a row. Every state change is an event in the database.

    stopped ──start──▶ starting ──▶ running ──exit──▶ exited ──(policy)──▶ starting …
       ▲                               │                  └──(limit reached)──▶ failed
       └────────── stopping ◀──stop────┘
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from gaia._backoff import capped_exponential
from gaia._proc import ProcessError, ProcessHandle, spawn
from gaia.errors import ConflictError, ServiceError
from gaia.services.launch import launch_argv, service_env
from gaia.services.registry import ServiceRegistry
from gaia.services.run import Health, ServiceRun, ServiceState, record_check, record_event
from gaia.services.socket_probe import ProbeResult
from gaia.services.spec import RestartBackoff
from gaia.services.watch import HealthWatch
from gaia.storage.recorder import Recorder

__all__ = ["Health", "ServiceState", "Supervisor", "restart_delay"]

log = logging.getLogger("gaia.services")


@dataclass(frozen=True)
class SupervisorOptions:
    log_dir: Path
    kill_grace: float = 5.0
    log_max_bytes: int = 10_000_000
    log_backups: int = 3
    dependency_timeout: float = 60.0
    start_seconds: float = 1.0  # for services that set no start_seconds


class Supervisor:
    def __init__(
        self, registry: ServiceRegistry, recorder: Recorder, options: SupervisorOptions
    ) -> None:
        self.registry = registry
        self.recorder = recorder
        self.options = options
        self._services: dict[str, ServiceRun] = {}

    # -- queries ---------------------------------------------------------------------

    def state(self, name: str) -> tuple[ServiceState, Health, int | None]:
        svc = self._services.get(name)
        if svc is None:
            return ServiceState.stopped, Health.unknown, None
        return svc.state, svc.health, svc.handle.pid if svc.handle else None

    def members(self, name: str) -> list[int] | None:
        """The pids in the service's cgroup (escaped descendants too), if it has one."""
        svc = self._services.get(name)
        cgroup = svc.handle.cgroup if svc is not None and svc.handle is not None else None
        return (cgroup.pids() or None) if cgroup is not None else None

    def forget(self, name: str) -> None:
        """Drop a service that is no longer registered, so nothing more is written of it."""
        svc = self._services.get(name)
        if svc is not None and (svc.keeper is None or svc.keeper.done()):
            del self._services[name]

    def names(self) -> list[str]:
        """Services this supervisor has handled (running or not)."""
        return list(self._services)

    def service_id(self, name: str) -> str:
        return self._services[name].id

    def restart_count(self, name: str) -> int:
        svc = self._services.get(name)
        return svc.restart_count if svc else 0

    def started_at(self, name: str) -> float | None:
        """When the service's current process started (epoch seconds), if it has one."""
        svc = self._services.get(name)
        return svc.pid_started_at if svc is not None and svc.handle is not None else None

    def recent_checks(self, name: str) -> list[dict[str, Any]]:
        """The latest health check results of the service's current run, newest first."""
        svc = self._services.get(name)
        return list(svc.checks) if svc is not None else []

    def log_path(self, name: str) -> Path:
        return self.options.log_dir / f"{name}.log"

    # -- control ---------------------------------------------------------------------

    async def start(self, name: str) -> ServiceState:
        """Start ``name`` after its dependencies reach their conditions."""
        order = await asyncio.to_thread(self.registry.start_order, [name])
        for dep in order[:-1]:
            await self._start_one(dep)
        spec = self._load(name).spec
        for dep, condition in spec.depends_on.items():
            await self._wait_condition(self._services[dep], condition, waiter=name)
        return await self._start_one(name)

    async def stop(self, name: str, *, graceful: bool = True) -> ServiceState:
        svc = self._services.get(name)
        if svc is None or svc.keeper is None or svc.keeper.done():
            current = svc.state if svc else ServiceState.stopped
            if current not in (ServiceState.stopped, ServiceState.exited, ServiceState.failed):
                raise ConflictError(f"cannot stop service {name!r}: it is {current}")
            return current
        svc.stop_requested = True
        svc.changed.set()
        if svc.handle is not None and svc.handle.returncode is None:
            self._transition(svc, ServiceState.stopping, "stop requested")
            grace = svc.spec.stop.timeout if graceful else 0.0
            await svc.handle.kill_tree(grace, svc.spec.stop.signum)
        with contextlib.suppress(asyncio.CancelledError):
            await svc.keeper
        return svc.state

    async def restart(self, name: str) -> ServiceState:
        await self.stop(name)
        return await self.start(name)

    async def stop_all(self) -> None:
        """Stop every service, dependents before their dependencies."""
        running = [n for n, s in self._services.items() if s.keeper and not s.keeper.done()]
        if not running:
            return
        order = await asyncio.to_thread(self.registry.start_order, running)
        for name in reversed(order):
            if name in running:
                await self.stop(name)

    # -- internals -------------------------------------------------------------------

    def _load(self, name: str) -> ServiceRun:
        record = self.registry.get(name)
        svc = self._services.get(record.name)
        if svc is None or (svc.keeper is None or svc.keeper.done()):
            restored = svc.restart_count if svc else 0
            svc = ServiceRun(id=record.id, spec=record.spec, restart_count=restored)
            self._services[record.name] = svc
        return svc

    async def _start_one(self, name: str) -> ServiceState:
        svc = self._load(name)
        if svc.keeper is not None and not svc.keeper.done():
            return svc.state  # already supervised
        svc.stop_requested = False
        svc.restarts.clear()
        self._transition(svc, ServiceState.starting, "start requested")
        svc.keeper = asyncio.create_task(self._keep(svc), name=f"service:{name}")
        await self._wait_for(svc, lambda: svc.state is not ServiceState.starting)
        if svc.state is ServiceState.failed:
            raise ServiceError(f"service {name!r} failed to start: {self._last_error(svc)}")
        await self._settle(svc)
        return svc.state

    async def _settle(self, svc: ServiceRun) -> None:
        """Wait until the new process has stayed up ``start_seconds`` or became healthy.

        A process that exits in that time with a non-zero status is a failed start,
        reported with its exit status and the last lines of its log (and not restarted
        behind the caller's back); one that exits with status 0 was a short job and is
        reported as exited.
        """
        window = svc.spec.start_seconds
        if window is None:
            window = self.options.start_seconds
        if window <= 0 or svc.state is not ServiceState.running:
            return
        svc.settling = True
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(window):
                    await self._wait_for(
                        svc,
                        lambda: (
                            svc.health is Health.healthy or svc.state is not ServiceState.running
                        ),
                    )
        finally:
            svc.settling = False
        if svc.state is ServiceState.running or svc.stop_requested:
            return
        code = svc.last_exit_code
        if code == 0 and svc.state is not ServiceState.failed:
            return
        tail = await asyncio.to_thread(self._log_tail, svc)
        reason = svc.failure or f"exit status {code} within {window:g}s of starting"
        self._transition(svc, ServiceState.failed, reason)
        lines = f"; last lines of its log:\n{tail}" if tail else "; it wrote nothing"
        raise ServiceError(f"service {svc.name!r} failed to start: {reason}{lines}")

    def _log_tail(self, svc: ServiceRun, count: int = 10) -> str:
        """The last ``count`` lines the current process wrote to the service log."""
        path = self.log_path(svc.name)
        try:
            with path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                # Rotated meanwhile: what is left is all this process's output.
                start = svc.log_offset if svc.log_offset <= size else 0
                start = max(start, size - 64 * 1024)
                fh.seek(start)
                data = fh.read()
        except OSError:
            return ""
        lines = data.decode("utf-8", errors="replace").splitlines()
        return "\n".join(lines[-count:])

    async def _wait_condition(self, svc: ServiceRun, condition: str, *, waiter: str) -> None:
        def reached() -> bool:
            if condition == "healthy":
                return svc.health is Health.healthy
            if condition == "completed_successfully":
                return svc.state is ServiceState.exited and svc.last_exit_code == 0
            return svc.state is ServiceState.running

        try:
            async with asyncio.timeout(self.options.dependency_timeout):
                await self._wait_for(svc, lambda: reached() or svc.state is ServiceState.failed)
        except TimeoutError:
            raise ServiceError(
                f"cannot start {waiter!r}: dependency {svc.name!r} did not become {condition} "
                f"within {self.options.dependency_timeout:g}s (it is {svc.state}, {svc.health})"
            ) from None
        if not reached():
            raise ServiceError(f"cannot start {waiter!r}: dependency {svc.name!r} is {svc.state}")

    @staticmethod
    async def _wait_for(svc: ServiceRun, predicate: Callable[[], bool]) -> None:
        while not predicate():
            svc.changed.clear()
            await svc.changed.wait()

    def _last_error(self, svc: ServiceRun) -> str:
        if svc.failure:
            return svc.failure
        code = svc.last_exit_code
        return "could not spawn" if code is None else f"exit status {code}"

    async def _keep(self, svc: ServiceRun) -> None:
        policy = svc.spec.restart_policy
        while not svc.stop_requested:
            if svc.state is not ServiceState.starting:
                self._transition(svc, ServiceState.starting, "restarting")
            started = time.monotonic()
            try:
                # fork/exec, an env_file read and a /proc read: off the event loop.
                svc.handle = await asyncio.to_thread(self._spawn, svc)
            except ProcessError as exc:
                self._transition(svc, ServiceState.failed, str(exc))
                return
            svc.health = Health.unknown
            svc.pid_started_at = await asyncio.to_thread(_create_time, svc.handle.pid)
            self._transition(svc, ServiceState.running, f"pid {svc.handle.pid}")
            if svc.stop_requested:  # asked while it was spawning: stop() found no handle
                await svc.handle.kill_tree(svc.spec.stop.timeout, svc.spec.stop.signum)
            watch = self._watch_health(svc)
            try:
                code = await svc.handle.wait()
            finally:
                if watch is not None:
                    watch.stop()
            await svc.handle.reap_leftovers(self.options.kill_grace)
            svc.last_exit_code = code
            if svc.stop_requested:
                break
            self._transition(svc, ServiceState.exited, f"exit status {code}")
            if svc.settling and code != 0:
                return  # a failed start: _settle reports it; no restart behind its back
            uptime = time.monotonic() - started
            svc.failures = 0 if uptime >= policy.reset_after else svc.failures + 1
            unhealthy = svc.health is Health.unhealthy
            wanted = policy.policy == "always" or (
                policy.policy == "on_failure" and (code != 0 or unhealthy)
            )
            if not wanted:
                return
            now = time.monotonic()
            while svc.restarts and now - svc.restarts[0] > policy.window:
                svc.restarts.popleft()
            if len(svc.restarts) >= policy.max_restarts:
                self._transition(
                    svc,
                    ServiceState.failed,
                    f"gave up after {len(svc.restarts)} restarts within {policy.window:g}s",
                )
                return
            delay = restart_delay(policy.backoff, svc.failures)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wait_for(svc, lambda: svc.stop_requested)
            if svc.stop_requested:
                break
            svc.restarts.append(time.monotonic())
            svc.restart_count += 1
        svc.handle = None
        self._transition(svc, ServiceState.stopped, "stopped")

    def _spawn(self, svc: ServiceRun) -> ProcessHandle:
        spec = svc.spec
        env = service_env(spec)
        self.options.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            svc.log_offset = self.log_path(spec.name).stat().st_size
        except FileNotFoundError:
            svc.log_offset = 0
        return spawn(
            launch_argv(spec.command, spec.args),
            cookie=f"service/{svc.id}",
            cwd=Path(spec.cwd).expanduser() if spec.cwd else None,
            env=env,
            output=self.log_path(spec.name),
            append=True,
            max_bytes=self.options.log_max_bytes,
            backups=self.options.log_backups,
        )

    def _watch_health(self, svc: ServiceRun) -> HealthWatch | None:
        if svc.spec.health_check is None:
            return None
        svc.check_failures = 0
        return HealthWatch(
            svc.spec, lambda result: self._checked(svc, result), kill_grace=self.options.kill_grace
        )

    def _checked(self, svc: ServiceRun, result: ProbeResult) -> bool:
        """Take one health check's result; whether to go on checking."""
        check = svc.spec.health_check
        assert check is not None
        svc.check_failures = 0 if result.ok else svc.check_failures + 1
        health = svc.health
        if result.ok:
            health = Health.healthy
        elif svc.check_failures >= check.retries:
            health = Health.unhealthy
        record_check(self.recorder, svc, result, health)
        if health is svc.health:
            return True
        svc.health = health
        self._event(svc, f"health:{health}", None, None, result.detail)
        svc.changed.set()
        if health is not Health.unhealthy or svc.spec.restart_policy.policy == "no":
            return True
        self._event(
            svc,
            "restart",
            None,
            None,
            f"restarting: health check failed {svc.check_failures} times in a row "
            f"({result.detail})",
        )
        if svc.handle is not None:
            # The keeper sees the exit, joins this stop and applies the restart policy.
            svc.health_kill = asyncio.create_task(
                svc.handle.kill_tree(svc.spec.stop.timeout, svc.spec.stop.signum)
            )
        return False

    def _transition(self, svc: ServiceRun, state: ServiceState, message: str) -> None:
        previous, svc.state = svc.state, state
        svc.failure = message if state is ServiceState.failed else None
        svc.changed.set()
        log.info("service %s: %s -> %s (%s)", svc.name, previous, state, message)
        self._event(svc, "state", previous, state, message)

    def _event(
        self, svc: ServiceRun, kind: str, before: str | None, after: str | None, message: str
    ) -> None:
        record_event(self.recorder, svc, kind, before, after, message)


def restart_delay(backoff: RestartBackoff, failures: int) -> float:
    """How long to wait before restarting after ``failures`` quick exits in a row."""
    return capped_exponential(backoff.initial, backoff.multiplier, backoff.max, failures)


def _create_time(pid: int) -> float | None:
    """The process start time: with the pid it identifies a process across daemon restarts."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None
