"""Signing in, the navigation and the Overview, in a real browser on a real daemon."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from gaia.browser_auth import COOKIE_NAME
from tests.api.test_workflows_api import GAIA_BIN, Server
from tests.dashboard.conftest import Dashboard, api, open_dashboard

VIEW_NAMES = ["Overview", "Workflows", "Services", "Sessions", "Agents", "Templates"]
VIEW_PATHS = ["/", "/workflows", "/services", "/sessions", "/agents", "/templates"]


def session_cookie(page: Page) -> dict[str, object]:
    cookies = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    assert len(cookies) == 1, page.context.cookies()
    return dict(cookies[0])


def expect_sign_in_form_only(page: Page) -> None:
    """The sign-in form, with a password field, and nothing of the dashboard."""
    expect(page.get_by_label("Token")).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    assert page.locator("#view").count() == 0
    assert "script" not in page.content().lower().replace("<noscript", "")


def gaia_open(server: Server, *extra: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(GAIA_BIN), "open", *extra],
        env=env or server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.strip()


def test_without_a_token_every_page_shows_only_the_sign_in_form(
    browser: Browser, server: Server
) -> None:
    dash = open_dashboard(browser, server, signed_in=False)
    try:
        for path in [*VIEW_PATHS, "/workflows/abcd1234", "/agents/tasks/x"]:
            response = dash.page.goto(server.url + path)
            assert response is not None and response.status == 401, path
            expect_sign_in_form_only(dash.page)
        assert not dash.page.context.cookies()
        dash.shot("sign-in")
        # The API refuses the cookie-less browser too.
        status = dash.page.evaluate("fetch('/api/orchestration/overview').then(r => r.status)")
        assert status == 401
    finally:
        dash.context.close()


def test_a_wrong_token_signs_nobody_in(browser: Browser, server: Server) -> None:
    dash = open_dashboard(browser, server, signed_in=False)
    try:
        dash.page.goto(f"{server.url}/workflows?token=not-the-token")
        expect(dash.page.get_by_role("alert")).to_contain_text("not valid")
        expect_sign_in_form_only(dash.page)
        dash.page.get_by_label("Token").fill("still-wrong")
        dash.page.get_by_role("button", name="Sign in").click()
        expect(dash.page.get_by_role("alert")).to_contain_text("not valid")
        assert not dash.page.context.cookies()
    finally:
        dash.context.close()


def test_the_token_in_the_url_becomes_an_opaque_httponly_strict_cookie(
    dashboard: Dashboard, server: Server
) -> None:
    page = dashboard.goto(f"/services?token={server.token}")
    assert urlsplit(page.url).path == "/services" and "token" not in page.url
    expect(page.get_by_role("link", name="Services", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    cookie = session_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["value"] != server.token and server.token not in str(cookie["value"])
    # Scripts cannot read it, and reloading stays signed in.
    assert COOKIE_NAME not in page.evaluate("document.cookie")
    page.reload()
    expect(page.get_by_role("navigation", name="Views")).to_be_visible()
    assert session_cookie(page)["value"] == cookie["value"]


def test_the_sign_in_form_takes_the_token_and_returns_to_the_page(
    browser: Browser, server: Server
) -> None:
    dash = open_dashboard(browser, server, signed_in=False)
    try:
        dash.page.goto(f"{server.url}/agents")
        dash.page.get_by_label("Token").fill(server.token)
        dash.page.get_by_role("button", name="Sign in").click()
        expect(dash.page).to_have_url(f"{server.url}/agents")
        expect(dash.page.get_by_role("navigation", name="Views")).to_be_visible()
        # Signing out ends the session: the same cookie no longer opens anything.
        old = session_cookie(dash.page)["value"]
        dash.page.get_by_role("button", name="Sign out").click()
        expect_sign_in_form_only(dash.page)
        with httpx.Client(base_url=server.url, cookies={COOKIE_NAME: str(old)}) as client:
            assert client.get("/api/orchestration/overview").status_code == 401
    finally:
        dash.context.close()


def test_gaia_open_prints_a_code_that_signs_in_once(browser: Browser, server: Server) -> None:
    url = gaia_open(server, "--no-browser")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == server.url and parts.path == "/"
    code = parts.query.removeprefix("token=")
    assert code and code != server.token
    first = open_dashboard(browser, server, signed_in=False)
    second = open_dashboard(browser, server, signed_in=False)
    try:
        first.page.goto(url)
        expect(first.page.get_by_role("navigation", name="Views")).to_be_visible()
        assert "token" not in first.page.url
        second.page.goto(url)  # the same code again: used up
        expect(second.page.get_by_role("alert")).to_contain_text("not valid")
        expect_sign_in_form_only(second.page)
    finally:
        first.context.close()
        second.context.close()


def test_gaia_open_starts_the_users_browser(server: Server, tmp_path: Path) -> None:
    """With a display, `gaia open` hands the URL to the browser ($BROWSER here)."""
    seen = tmp_path / "opened"
    fake = tmp_path / "fake-browser"
    fake.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in server.env.items() if k != "CI"}
    env.update(DISPLAY=":99", BROWSER=f"{fake} %s")
    url = gaia_open(server, env=env)
    assert seen.read_text() == url
    with httpx.Client() as client:  # the code in it is still good for one sign-in
        response = client.get(url, follow_redirects=False)
    assert response.status_code == 303 and COOKIE_NAME in response.headers["set-cookie"]


def test_a_cookie_request_that_changes_something_needs_this_origin(
    dashboard: Dashboard, server: Server
) -> None:
    cookie = str(session_cookie(dashboard.page)["value"])
    with httpx.Client(base_url=server.url, cookies={COOKIE_NAME: cookie}) as client:
        assert client.get("/api/orchestration/overview").status_code == 200
        codes = "/api/orchestration/auth/codes"
        missing = client.post(codes)
        assert missing.status_code == 403, missing.text
        assert missing.json()["error"]["code"] == "forbidden_origin"
        foreign = client.post(codes, headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        other_port = client.post(codes, headers={"Origin": "http://127.0.0.1:1"})
        assert other_port.status_code == 403
        same = client.post(codes, headers={"Origin": server.url})
        assert same.status_code == 201, same.text
    # The page itself (fetch sends its Origin) may, and the bearer token still works alone.
    status = dashboard.page.evaluate(
        "fetch('/api/orchestration/auth/codes', {method: 'POST'}).then(r => r.status)"
    )
    assert status == 201
    with server.client() as client:
        assert client.post("/api/orchestration/auth/codes").status_code == 201


def test_a_cross_site_sign_in_form_is_refused(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        response = client.post(
            "/signin", data={"token": server.token}, headers={"Origin": "http://evil.example"}
        )
    assert response.status_code == 403 and COOKIE_NAME not in response.headers.get("set-cookie", "")


def test_each_view_has_its_own_url_and_back_works(dashboard: Dashboard) -> None:
    page = dashboard.page
    nav = page.get_by_role("navigation", name="Views")
    for name, path in zip(VIEW_NAMES[1:], VIEW_PATHS[1:], strict=True):
        nav.get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(dashboard.url + path)
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.go_back()
    expect(page).to_have_url(dashboard.url + VIEW_PATHS[-2])
    page.go_back()
    expect(page).to_have_url(dashboard.url + VIEW_PATHS[-3])


WAITING_RUN = """
name: waits-for-go
tasks:
  - id: wait
    command: "while [ ! -e go ]; do sleep 0.05; done"
  - id: after
    command: "echo done"
    dependencies: [wait]
"""


def test_the_overview_shows_counts_and_events_live(
    dashboard: Dashboard, server: Server, tmp_path: Path
) -> None:
    page = dashboard.page
    running = page.locator('[data-card="Running runs"] .figure')
    expect(running).to_have_text("0")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    with server.client() as client:
        created = client.post(
            "/api/orchestration/workflows",
            content=WAITING_RUN,
            headers={"Content-Type": "application/yaml"},
            params={"base_dir": str(tmp_path), "start": "true"},
        )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    expect(running).to_have_text("1")
    activity = page.get_by_role("list", name="Latest events")
    expect(activity).to_contain_text("workflow waits-for-go is running")
    (tmp_path / "go").touch()
    expect(activity).to_contain_text("workflow waits-for-go is completed")
    expect(running).to_have_text("0")
    assert page.evaluate("window.__sameDocument") is True
    # Each event links to its page.
    link = activity.get_by_role("link", name="workflow waits-for-go is completed")
    assert link.first.get_attribute("href") == f"/workflows/{run_id}"
    assert api(server, "GET", f"/workflows/{run_id}")["status"] == "completed"


LIVE_VIEWS = VIEW_PATHS


@pytest.mark.parametrize("path", LIVE_VIEWS)
def test_every_view_keeps_one_event_stream(dashboard: Dashboard, path: str) -> None:
    """The page opens one SSE connection, and requests only the daemon's own URLs."""
    dashboard.page.goto("about:blank")  # the sign-in's page and its stream are gone
    dashboard.guard.requests.clear()
    page = dashboard.goto(path)
    expect(page.get_by_role("status", name="live updates")).to_have_text("live")
    streams = [u for u in dashboard.guard.requests if "/api/orchestration/events" in u]
    assert len(streams) == 1, streams
    assert all(u.startswith(dashboard.url) for u in dashboard.guard.requests)


def test_no_file_of_the_dashboard_names_another_host() -> None:
    """Scripts, styles and templates are served by gaia: no URL of any other host in them."""
    root = Path(__file__).resolve().parents[2] / "src" / "gaia" / "dashboard"
    offenders = []
    for path in root.rglob("*"):
        if path.suffix in (".js", ".css", ".html") and "/vendor/" not in str(path):
            text = path.read_text(encoding="utf-8")
            for scheme in ("http://", "https://", "//cdn", '@import url("http'):
                if scheme in text and "www.w3.org" not in text.split(scheme, 1)[1][:20]:
                    offenders.append(f"{path.relative_to(root)}: {scheme}")
    assert not offenders, offenders
    assert os.path.isdir(root / "static")


FAILING_RUN = """
name: nightly-report
tasks:
  - {id: fetch, command: "echo fetched"}
  - {id: crunch, command: "echo crunching; exit 2", dependencies: [fetch]}
"""


def test_the_overview_counts_every_component(
    dashboard: Dashboard, server: Server, tmp_path: Path
) -> None:
    """A failed run, a running service, a session and an agent task, each counted."""
    headers = {"Content-Type": "application/yaml"}
    params = {"base_dir": str(tmp_path), "start": "true"}
    with server.client() as client:
        failed = client.post(
            "/api/orchestration/workflows", content=FAILING_RUN, headers=headers, params=params
        )
        assert failed.status_code == 201, failed.text
    service = {"name": "ticker", "command": "while true; do echo tick; sleep 1; done"}
    api(server, "POST", "/services", json=service)
    api(server, "POST", "/services/ticker/start")
    api(server, "POST", "/sessions", json={"session_name": "overview", "windows": [{}]})
    agent = {"id": "summariser", "command": ["sh", "-c", "echo summary of: $0", "{prompt}"]}
    api(server, "POST", "/agents", json=agent)
    task = api(
        server,
        "POST",
        "/agents/execute",
        json={
            "agent": "summariser",
            "instruction": "summarise the changelog",
            "work_dir": str(tmp_path),
            "task_type": "review",
            "isolation": "none",
        },
    )
    assert task["status"] == "succeeded", task
    try:
        page = dashboard.goto("/")
        expect(page.locator('[data-card="Failed runs"] .figure')).to_have_text("1")
        expect(page.locator('[data-card="Services"] .figure')).to_have_text("1")
        expect(page.locator('[data-card="Services"]')).to_contain_text("1 running")
        expect(page.locator('[data-card="Sessions"] .figure')).to_have_text("1")
        activity = page.get_by_role("list", name="Latest events")
        expect(activity).to_contain_text("workflow nightly-report is failed")
        expect(activity).to_contain_text("service ticker")
        expect(activity).to_contain_text("session overview is alive")
        expect(activity).to_contain_text("(summariser) is succeeded: summarise the changelog")
        dashboard.shot("overview")
        # An event's link opens its page.
        activity.get_by_role("link", name="workflow nightly-report is failed").click()
        expect(page).to_have_url(f"{server.url}/workflows/{failed.json()['id']}")
    finally:
        api(server, "POST", "/services/ticker/stop", json={"graceful": False})
        api(server, "DELETE", "/sessions/overview")
