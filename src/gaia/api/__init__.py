"""gaia's REST API under /api/orchestration/."""

from gaia.api.app import create_app

__all__ = ["create_app"]
