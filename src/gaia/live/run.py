"""Live watches of one workflow run's page (see gaia.live)."""

from __future__ import annotations

from gaia.live.base import Watch

__all__ = ["WATCHES"]

WATCHES: dict[str, Watch] = {}
