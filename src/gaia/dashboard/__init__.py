"""The web dashboard: gaia's third face, served by the daemon at ``/``.

Pages are server-rendered shells (Jinja2); each view's script fetches the same REST
routes as every other client and keeps one Server-Sent Events connection
(``/api/orchestration/events``) for live changes. Every script and style is served from
this package: the dashboard works offline.
"""

from __future__ import annotations

from gaia.dashboard.pages import install_dashboard

__all__ = ["install_dashboard"]
