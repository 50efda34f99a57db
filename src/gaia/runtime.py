"""Builds gaia's components from Settings and wires them together (the only place that does).

Building a Runtime does nothing but remember the settings; ``open()`` is the one step that
touches the machine: it creates $GAIA_HOME, brings the database schema to the newest
revision and marks the workflow runs of dead processes interrupted (killing what they
left running). Each component is built, and its modules imported, when first used: `gaia
workflow list` pays for the workflow store, not for the API, tmux or the agent CLIs.
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import threading
from logging.handlers import RotatingFileHandler
from typing import TYPE_CHECKING, Self

from gaia import _containment
from gaia.config import Settings
from gaia.errors import GaiaError
from gaia.home import GaiaHome
from gaia.storage.db import Database

if TYPE_CHECKING:
    from gaia.agents.bridge import AgentBridge
    from gaia.scaffold.manager import ScaffoldManager
    from gaia.services.manager import ServiceManager
    from gaia.sessions.manager import SessionManager
    from gaia.workflows.manager import WorkflowManager

__all__ = ["Runtime", "settle_heap"]

# One file per component under $GAIA_HOME/logs; storage problems surface with workflows.
_COMPONENT_LOGS = {
    "workflows.log": ("gaia.workflows", "gaia.storage"),
    "services.log": ("gaia.services",),
    "sessions.log": ("gaia.sessions",),
    "agents.log": ("gaia.agents",),
}

log = logging.getLogger("gaia.sessions")
log_agents = logging.getLogger("gaia.agents")


def settle_heap() -> None:
    """Exempt every object alive now from the cyclic garbage collector, for good.

    Call once a process has imported and built what it keeps until it exits. Imports
    (SQLAlchemy, pydantic, FastAPI, libtmux) leave ~100,000 long-lived objects, and every
    full collection walked them all again: loading a 2,000-task workflow allocates enough
    to trigger several, which took half its time (130 ms, 77 ms once settled). This is
    the gc.freeze recipe of large Python services; objects stay reference-counted.
    """
    gc.freeze()


class Runtime:
    """Everything a gaia process needs: home, database, component managers.

    ``Runtime(settings).open()``; reading a component before ``open()`` is a bug, and
    says so.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home: GaiaHome = settings.gaia_home
        self.db = Database(settings.resolved_database_url)  # connects on first query
        # Set once the daemon is asked to stop (see begin_stop).
        self.stopping = threading.Event()
        self._handlers: list[tuple[logging.Logger, logging.Handler]] = []
        self._opened = False
        self._open_lock = threading.Lock()

    def open(self) -> Self:
        """Home created, schema current, dead processes' runs recovered (once; idempotent)."""
        with self._open_lock:
            if self._opened:
                return self
            _containment.configure(self.settings.containment)
            self.home = self.settings.gaia_home.ensure()
            from gaia.storage.migrate import upgrade

            upgrade(self.db)
            self._attach_logs()
            self._opened = True
        from gaia.workflows.summaries import has_running_runs

        # Recovery looks at running runs only: with none (the common case) the workflow
        # engine is not even imported.
        if has_running_runs(self.db):
            self.workflows.recover_interrupted()
        return self

    @property
    def opened(self) -> bool:
        return self._opened

    def _require_open(self, component: str) -> None:
        if not self._opened:
            raise RuntimeError(f"Runtime.{component} used before Runtime.open()")

    @functools.cached_property
    def services(self) -> ServiceManager:
        self._require_open("services")
        from gaia.services.manager import ServiceManager

        return ServiceManager(self.db, self.settings)

    @functools.cached_property
    def sessions(self) -> SessionManager:
        self._require_open("sessions")
        from gaia.sessions.manager import SessionManager

        return SessionManager(self.db, self.settings, stopping=self.stopping)

    @functools.cached_property
    def agents(self) -> AgentBridge:
        self._require_open("agents")
        from gaia.agents.bridge import AgentBridge, BridgeConfig
        from gaia.agents.launch import DirectLauncher, TmuxLauncher
        from gaia.agents.registry import AgentRegistry
        from gaia.agents.store import AgentStore

        settings = self.settings
        return AgentBridge(
            AgentStore(self.db),
            AgentRegistry.discover(settings),
            BridgeConfig(
                workers=settings.agent_workers,
                default_timeout=settings.agent_task_timeout,
                kill_grace=settings.kill_grace_period,
                close_grace=settings.agent_close_grace,
                worktree_retention=settings.agent_worktree_retention,
                logs_dir=self.home.agent_logs,
                worktrees_dir=self.home.worktrees,
            ),
            launcher=DirectLauncher(),
            visible_launcher=TmuxLauncher(self.sessions),
        )

    @functools.cached_property
    def workflows(self) -> WorkflowManager:
        self._require_open("workflows")
        from gaia.workflows.agent_tasks import WorkflowExecutors
        from gaia.workflows.manager import WorkflowManager

        # The agent bridge is built when a workflow first needs an agent (or its names).
        executors = WorkflowExecutors(bridge_factory=lambda: self.agents)
        return WorkflowManager(self.db, self.settings, executors)

    @functools.cached_property
    def scaffold(self) -> ScaffoldManager:
        # Built on first use: Jinja2 and the template code cost ~35 ms of every start.
        from gaia.scaffold.manager import ScaffoldManager

        return ScaffoldManager(self.settings)

    def token(self) -> str:
        return self.home.read_or_create_token()

    async def start_daemon(self) -> None:
        """What `gaia serve` does on start: services back up, session records matched."""
        import asyncio  # here: a short command never runs an event loop

        # Every component is built before requests arrive: they run in threads, and two
        # first uses at once must not build one twice.
        for component in ("workflows", "services", "sessions", "agents"):
            await asyncio.to_thread(getattr, self, component)
        # A run's page lays its graph out with networkx (~0.2 s to import): import it now,
        # in the background, rather than while the first person to open a run waits.
        threading.Thread(
            target=importlib.import_module, args=("networkx",), name="gaia-import", daemon=True
        ).start()
        await self.services.restore()
        self.services.start_sampling()
        await asyncio.to_thread(self.maintain_sessions, cleanup=False)
        from gaia.agents.bridge import BridgeState

        if self.agents.state is BridgeState.created:
            await self.agents.start(adopt=True)
        await asyncio.to_thread(self.maintain_agents)

    def begin_stop(self) -> None:
        """The daemon was asked to stop (any thread, or a signal handler).

        Requests that wait rather than work, a session run or a followed log, end now
        instead of holding the server's graceful shutdown until it gives up on them.
        """
        self.stopping.set()

    def maintain_sessions(self, *, cleanup: bool = True) -> None:
        """Reconcile session records with tmux, then destroy idle sessions."""
        try:
            report = self.sessions.reconcile()
            if report.adopted or report.died:
                log.info("sessions: adopted %s, dead %s", report.adopted, report.died)
            if cleanup:
                self.sessions.cleanup()
        except GaiaError as exc:  # tmux missing: sessions are unavailable, the rest works
            log.warning("session maintenance skipped: %s", exc)

    def maintain_agents(self) -> None:
        """Record the registered agents; remove worktrees past their retention."""
        try:
            self.agents.save_registry()
            removed = self.agents.sweep_worktrees()
            if removed:
                log_agents.info("removed %d agent worktrees past their retention", removed)
        except GaiaError as exc:
            log_agents.warning("agent maintenance failed: %s", exc)

    async def aclose(self) -> None:
        """Daemon shutdown: services stopped in reverse dependency order, runs interrupted."""
        built = vars(self)
        if "services" in built:
            await self.services.close()
        if "workflows" in built:
            await self.workflows.shutdown()
        if "agents" in built:
            await self.agents.close()
        self.close()

    def close(self) -> None:
        """Close what was built (a component never used was never built)."""
        built = vars(self)
        if "agents" in built:
            self.agents.close_store()
        if "workflows" in built:
            self.workflows.close()
        if "services" in built:
            self.services.recorder.close()
        for logger, handler in self._handlers:
            logger.removeHandler(handler)
            handler.close()  # closing twice (shared handler) is harmless
        self._handlers.clear()
        self.db.dispose()

    def set_log_level(self, name: str) -> None:
        """Log at ``name`` (a settings log_level) from now on: `gaia daemon reload`."""
        level = getattr(logging, name.upper())
        for logger, handler in self._handlers:
            handler.setLevel(level)
            logger.setLevel(level)

    def _attach_logs(self) -> None:
        level = getattr(logging, self.settings.log_level.upper())
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        for filename, names in _COMPONENT_LOGS.items():
            handler = RotatingFileHandler(
                self.home.logs / filename, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
            )
            handler.setFormatter(formatter)
            handler.setLevel(level)
            for name in names:
                logger = logging.getLogger(name)
                logger.setLevel(min(level, logger.level or level))
                logger.addHandler(handler)
                self._handlers.append((logger, handler))
