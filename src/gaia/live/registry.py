"""Every watch kind, by name: each view's module brings its own."""

from __future__ import annotations

from gaia.live import agents, overview, run, services, sessions, templates, workflows
from gaia.live.base import Watch

__all__ = ["WATCHES"]

WATCHES: dict[str, Watch] = {
    **overview.WATCHES,
    **workflows.WATCHES,
    **run.WATCHES,
    **services.WATCHES,
    **sessions.WATCHES,
    **agents.WATCHES,
    **templates.WATCHES,
}
