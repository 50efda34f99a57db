"""CPU and memory of running services, sampled with psutil (in worker threads).

A service's figures are those of its whole tree: the members of its cgroup when it has
one (one read), else its process's descendants (a read of every process's stat).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import psutil

from gaia.services.supervisor import ServiceState, Supervisor

__all__ = ["SAMPLE_MAX_AGE", "ServiceSampler"]

# How old a service's CPU/memory sample may be and still be answered (see _samples).
SAMPLE_MAX_AGE = 1.0


@dataclass(frozen=True)
class _Sample:
    taken_at: float
    pid: int
    metrics: dict[str, Any]
    pids: list[int]  # the processes measured: their psutil objects are kept for cpu_percent


class ServiceSampler:
    """Samples services on demand (views) and all at once (the daemon's sampler)."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
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
        self._samples: dict[str, _Sample] = {}

    def forget(self, name: str) -> None:
        with self._cpu_lock:
            self._samples.pop(name, None)

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
        if (
            cached_sample is not None
            and cached_sample.pid == pid
            and now - cached_sample.taken_at < SAMPLE_MAX_AGE
        ):
            restarts = self.supervisor.restart_count(name)
            return {**cached_sample.metrics, "restart_count": restarts}
        measured = self._measure(name, pid)
        if measured is None:
            return None
        metrics, pids = measured
        with self._cpu_lock:
            self._samples[name] = _Sample(now, pid, metrics, pids)
        return metrics

    def _measure(self, name: str, pid: int) -> tuple[dict[str, Any], list[int]] | None:
        with self._cpu_lock:
            root = self._cpu.get(pid)
        if root is None:
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
            with self._cpu_lock:
                known = {p: self._cpu.get(p) for p in members if p != pid}
            for member, proc in known.items():
                if proc is None:
                    with contextlib.suppress(psutil.Error):
                        procs.append(psutil.Process(member))
                else:
                    procs.append(proc)
        with self._cpu_lock:
            # cpu_percent measures since the previous call on the same Process object.
            cached = [self._cpu.setdefault(proc.pid, proc) for proc in procs]
        cpu = rss = 0.0
        for proc in cached:
            with contextlib.suppress(psutil.Error):
                cpu += proc.cpu_percent(None)
                rss += proc.memory_info().rss
        try:
            uptime = round(time.time() - root.create_time(), 3)
        except psutil.Error:
            return None
        metrics = {
            "cpu_percent": round(cpu, 2),
            "rss_bytes": int(rss),
            "uptime_seconds": uptime,
            "restart_count": self.supervisor.restart_count(name),
            "process_count": len(procs),
        }
        return metrics, [proc.pid for proc in procs]

    def sample_all(self) -> list[tuple[str, dict[str, Any]]]:
        samples = []
        names = self.supervisor.names()
        for name in names:
            metrics = self.sample(name)
            if metrics is not None:
                samples.append((self.supervisor.service_id(name), metrics))
        # Forget the processes and services that are gone, once per round (per service,
        # that was a scan of every service for each: quadratic in their number).
        with self._cpu_lock:
            for gone in set(self._samples) - set(names):
                self._samples.pop(gone, None)
            live = {p for sample in self._samples.values() for p in sample.pids}
            for stale in set(self._cpu) - live:
                self._cpu.pop(stale, None)
        return samples
