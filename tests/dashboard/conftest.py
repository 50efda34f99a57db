"""A real daemon and a real Chromium (Debian's, driven by Playwright) for dashboard tests.

Every request the browser makes goes through ``guard``: anything that is not for the
daemon on 127.0.0.1 is aborted and fails the test, as does any script error on a page.
Screenshots of each view go to ``$GAIA_SCREENSHOTS`` (default ``build/screenshots``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from tests.api.test_workflows_api import Server, serving

CHROMIUM = os.environ.get("GAIA_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("GAIA_SCREENSHOTS", ROOT / "build" / "screenshots"))
TIMEOUT_MS = 15_000  # an upper bound for a page or an element, not a figure we expect


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real `gaia serve` for the module, in its own GAIA_HOME."""
    with serving(tmp_path_factory.mktemp("dashboard")) as srv:
        yield srv


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the dashboard tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        # As root, Chromium refuses to start with its sandbox; /dev/shm may be small.
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Guard:
    """Every request the browser made; those not for the daemon were aborted."""

    allowed: str
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == self.allowed:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@dataclass
class Dashboard:
    """A browser context on the daemon; ``page`` is signed in unless asked otherwise."""

    server: Server
    context: BrowserContext
    page: Page
    guard: Guard

    @property
    def url(self) -> str:
        return self.server.url

    def goto(self, path: str) -> Page:
        self.page.goto(self.url + path)
        return self.page

    def sign_in(self) -> None:
        self.page.goto(f"{self.url}/?token={self.server.token}")

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page as ``name``.png (for docs/ and the README)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


def open_dashboard(browser: Browser, server: Server, *, signed_in: bool = True) -> Dashboard:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    guard = Guard(allowed=server.url)
    context.route("**/*", guard)
    page = context.new_page()
    page.on("pageerror", lambda error: guard.errors.append(str(error)))
    dash = Dashboard(server, context, page, guard)
    if signed_in:
        dash.sign_in()
    return dash


@pytest.fixture
def dashboard(browser: Browser, server: Server) -> Iterator[Dashboard]:
    """A signed-in page; at the end, no request left 127.0.0.1 and no script failed."""
    dash = open_dashboard(browser, server)
    try:
        yield dash
        assert not dash.guard.foreign, f"requests to other hosts: {dash.guard.foreign}"
        assert not dash.guard.errors, f"script errors: {dash.guard.errors}"
    finally:
        dash.context.close()


def api(server: Server, method: str, path: str, **kwargs: Any) -> Any:
    """Call the API with the bearer token (to set things up and check effects)."""
    with server.client() as client:
        response = client.request(method, f"/api/orchestration{path}", **kwargs)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
    return response.json() if response.content else None
