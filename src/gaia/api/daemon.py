"""The daemon itself: reload its settings (what `gaia daemon reload` and SIGHUP do)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gaia.api.deps import Auth
from gaia.api.errors import problem_responses
from gaia.reload import Reloader, ReloadReport

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/daemon",
    tags=["daemon"],
    dependencies=[Auth],
    responses=problem_responses(401, 403, 404, 422),
)


@router.post("/reload", response_model=ReloadReport)
async def reload(request: Request) -> ReloadReport:
    """Read config.toml and the environment again and apply what can change live.

    The answer lists the settings that changed, those now in effect, and those that
    keep their old value until `gaia daemon restart` (host, port, database_url,
    tmux_socket). A config.toml that does not load is a 422 naming the file, line and
    column or key, and the daemon goes on with the settings it had.
    """
    reloader: Reloader = request.app.state.reload
    return await reloader()
