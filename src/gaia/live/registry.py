"""Every watch kind, by name: each view's module brings its own."""

from __future__ import annotations

from gaia.live import agents, overview, services, sessions, workflows
from gaia.live.base import Watch

__all__ = ["WATCHES"]

WATCHES: dict[str, Watch] = {
    **overview.WATCHES,
    **workflows.WATCHES,
    **services.WATCHES,
    **sessions.WATCHES,
    **agents.WATCHES,
}
