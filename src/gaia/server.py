"""The daemon's web application: the REST API and the dashboard, on one port.

The composition root of the two web faces: neither imports the other; `gaia serve`
builds the app here.
"""

from __future__ import annotations

from fastapi import FastAPI

from gaia.api import create_app
from gaia.dashboard import install_dashboard
from gaia.reload import Reloader
from gaia.runtime import Runtime

__all__ = ["create_daemon_app"]


def create_daemon_app(
    runtime: Runtime, *, close_runtime: bool = True, reload: Reloader | None = None
) -> FastAPI:
    """The API under /api/orchestration (docs at /docs) and the dashboard at /."""
    app = create_app(runtime, close_runtime=close_runtime, reload=reload)
    install_dashboard(app)
    return app
