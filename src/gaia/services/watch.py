"""The health watch of one running service: its check, every ``interval``, in the loop.

A watch is a timer and, while a probe is under way, that probe's socket callbacks
(``gaia.services.socket_probe``): a thousand watched services are a thousand timers in
the event loop's heap, not a thousand tasks waking up. Checks the socket probe cannot
run (exec, https, a host name) get a task per probe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gaia.services.health import probe
from gaia.services.socket_probe import ProbeResult, SocketProbe, target
from gaia.services.spec import ServiceSpec

__all__ = ["HealthWatch"]

log = logging.getLogger("gaia.services")


class HealthWatch:
    """Runs the check ``initial_delay`` after start, then ``interval`` after each result.

    ``on_result`` gets each result in the loop and says whether to go on checking.
    """

    def __init__(
        self,
        spec: ServiceSpec,
        on_result: Callable[[ProbeResult], bool],
        *,
        kill_grace: float,
    ) -> None:
        check = spec.health_check
        assert check is not None
        self._loop = asyncio.get_running_loop()
        self._spec = spec
        self._interval = check.interval
        self._target = target(spec)
        self._on_result = on_result
        self._kill_grace = kill_grace
        self._stopped = False
        self._under_way: SocketProbe | None = None
        self._task: asyncio.Task[ProbeResult] | None = None
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(
            check.initial_delay, self._probe
        )

    def stop(self) -> None:
        """No more checks; one under way is abandoned (an exec probe's command killed)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._under_way is not None:
            self._under_way.cancel()
            self._under_way = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _probe(self) -> None:
        self._timer = None
        if self._target is not None:
            self._under_way = SocketProbe(self._target, self._checked)
            return
        self._task = self._loop.create_task(probe(self._spec, kill_grace=self._kill_grace))
        self._task.add_done_callback(self._probed)

    def _probed(self, task: asyncio.Task[ProbeResult]) -> None:
        if task is not self._task or task.cancelled():
            return
        self._task = None
        error = task.exception()
        if error is not None:  # probe() turns every expected failure into a result
            log.error("health check of %s failed unexpectedly: %r", self._spec.name, error)
            self._checked(ProbeResult(False, 0.0, f"{type(error).__name__}: {error}"))
            return
        self._checked(task.result())

    def _checked(self, result: ProbeResult) -> None:
        self._under_way = None
        if self._stopped:
            return
        if self._on_result(result) and not self._stopped:
            self._timer = self._loop.call_later(self._interval, self._probe)
