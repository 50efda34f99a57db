"""Signing in, the navigation, and the Overview, in a real browser on a real daemon."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.api.test_workflows_api import Server
from tests.dashboard.conftest import Dashboard, open_dashboard

VIEW_NAMES = ["Overview", "Workflows", "Services", "Sessions", "Agents", "Templates"]


def test_the_navigation_names_every_view(dashboard: Dashboard) -> None:
    page = dashboard.page
    nav = page.get_by_role("navigation", name="Views")
    for name in VIEW_NAMES:
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("live")
    dashboard.shot("overview")
