"""The FastAPI application, built by a factory around a Runtime (nothing at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from gaia import __version__
from gaia.api import (
    agents,
    auth,
    daemon,
    events,
    scaffold,
    services,
    sessions,
    workflow_graph,
    workflows,
)
from gaia.api.body import BodyLimitMiddleware
from gaia.api.docs import install_docs
from gaia.api.errors import install_error_handlers
from gaia.api.head import HeadMiddleware
from gaia.api.security import SecurityMiddleware
from gaia.browser_auth import BrowserAuth
from gaia.reload import Reloader, reload_settings
from gaia.runtime import Runtime

__all__ = ["create_app"]

log = logging.getLogger("gaia.api")

RECOVERY_INTERVAL = 15.0
SYNC_ROUTE_THREADS = 8
AGENT_MAINTENANCE_INTERVAL = 60.0


async def _recover_periodically(runtime: Runtime) -> None:
    """Runs owned by processes that died become 'interrupted' without anyone asking."""
    while True:
        await asyncio.sleep(RECOVERY_INTERVAL)
        try:
            await asyncio.to_thread(runtime.workflows.recover_interrupted)
        except Exception:
            log.exception("periodic recovery failed")


async def _maintain_sessions_periodically(runtime: Runtime) -> None:
    """Session records follow tmux, and idle sessions are destroyed, without anyone asking."""
    while True:
        await asyncio.sleep(runtime.settings.session_reconcile_interval)
        try:
            await asyncio.to_thread(runtime.maintain_sessions)
        except Exception:
            log.exception("periodic session maintenance failed")


async def _maintain_agents_periodically(runtime: Runtime) -> None:
    """Worktrees of finished agent tasks go once their retention has passed."""
    while True:
        await asyncio.sleep(AGENT_MAINTENANCE_INTERVAL)
        try:
            await asyncio.to_thread(runtime.maintain_agents)
        except Exception:
            log.exception("periodic agent maintenance failed")


def create_app(
    runtime: Runtime, *, close_runtime: bool = True, reload: Reloader | None = None
) -> FastAPI:
    """Build the API; on shutdown it stops this process's runs (and closes the runtime).

    ``reload`` is what POST /daemon/reload does (`gaia serve` passes one that keeps its
    command-line options and updates its daemon file); by default, reload_settings.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's default pool. Their work is Python holding the GIL
        # (queries, models); 40 such threads only take turns, and the event loop (which
        # answers /health and streams) waits its turn behind all of them. Long waits
        # have their own limiter (deps.LONG_WAITS), so a few threads are enough here.
        anyio.to_thread.current_default_thread_limiter().total_tokens = SYNC_ROUTE_THREADS
        await asyncio.to_thread(runtime.open)  # the one opening step; a no-op if done
        await runtime.start_daemon()
        background = [
            asyncio.create_task(_recover_periodically(runtime)),
            asyncio.create_task(_maintain_sessions_periodically(runtime)),
            asyncio.create_task(_maintain_agents_periodically(runtime)),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.services.close()
            await runtime.workflows.shutdown()
            await runtime.agents.close()
            if close_runtime:
                runtime.close()

    app = FastAPI(
        title="gaia",
        version=__version__,
        description="Local-first orchestration: workflows, agents, services, sessions.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, with no CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    # Browsers signed in to the dashboard: the API accepts their cookie too.
    app.state.browsers = browsers = BrowserAuth(runtime.token())
    app.state.reload = reload or (lambda: reload_settings(runtime))
    install_error_handlers(app)
    # A wildcard bind has no single name to allow; a named address is allowed as Host.
    wildcard = runtime.settings.host in ("0.0.0.0", "::")  # noqa: S104
    extra_hosts = [] if wildcard else [runtime.settings.host]
    app.add_middleware(HeadMiddleware)  # inside the security checks: they see HEAD
    # Added before SecurityMiddleware, so it runs inside it: no body is read before the token.
    # Asked on each request: `gaia daemon reload` changes runtime.settings.
    app.add_middleware(BodyLimitMiddleware, limit=lambda: runtime.settings.max_request_body)
    app.add_middleware(
        SecurityMiddleware, token=runtime.token(), extra_hosts=extra_hosts, browsers=browsers
    )

    @app.get("/api/orchestration/health", tags=["health"])
    async def health() -> dict[str, Any]:
        """Liveness probe; the only route that needs no token.

        A coroutine: answered on the event loop, it never waits for a thread-pool token.
        """
        return {"status": "ok", "version": __version__}

    install_docs(app)
    app.include_router(workflows.router)
    app.include_router(workflow_graph.router)
    app.include_router(services.router)
    app.include_router(sessions.router)
    app.include_router(agents.router)
    app.include_router(scaffold.router)
    app.include_router(daemon.router)
    app.include_router(auth.router)
    app.include_router(events.router)
    return app
