"""The Services views in a real browser, on a real daemon running real services.

``web`` is Python's http.server on a free 127.0.0.1 port with an HTTP health check;
``ticker`` is a shell loop that prints a line a second, and whatever the test drops into
its ``say`` file. Every effect of a button is checked through the API; every live change
is checked to arrive without the page reloading.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from gaia.services.feed import LOG_READ_MAX, LogFollower
from tests.api.test_workflows_api import Server, gaia_env, start_server, stop_server_checked
from tests.dashboard.conftest import Dashboard, api
from tests.helpers import free_port, wait_until

# The loop checks for the file, prints it and removes it: each "say" is printed once.
TICKER = (
    'n=0; while :; do n=$((n+1)); echo "tick $n"; '
    "if [ -f say ]; then cat say; rm -f say; fi; sleep 0.5; done"
)
AT_LEAST_TWO = re.compile(r"^([2-9]|\d{2,})$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A daemon that samples CPU and memory often (the charts' data) and starts quickly."""
    home = tmp_path_factory.mktemp("services-view") / "gaia-home"
    home.mkdir()
    env = {
        **gaia_env(home),
        "GAIA_SERVICE_METRICS_INTERVAL": "0.5s",
        "GAIA_SERVICE_START_SECONDS": "0.2s",
    }
    srv = start_server(home, env)
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, server: Server) -> Path:
    """Where the services run; registers and starts ``web`` and ``ticker`` there."""
    path = tmp_path_factory.mktemp("services-work")
    port = free_port()
    web = {
        "name": "web",
        "description": "a static file server",
        "command": sys.executable,
        "args": ["-m", "http.server", str(port), "--bind", "127.0.0.1"],
        "cwd": str(path),
        "port": port,
        # Python's start-up on a loaded machine may outlast a few checks: were they to
        # make it unhealthy, the supervisor would restart it under the test's feet.
        "health_check": {"type": "http", "interval": "300ms", "timeout": "2s", "retries": 20},
        "auto_restart": True,
    }
    ticker = {"name": "ticker", "command": "sh", "args": ["-c", TICKER], "cwd": str(path)}
    api(server, "POST", "/services", json=[web, ticker])
    for name in ("web", "ticker"):
        api(server, "POST", f"/services/{name}/start")
    wait_until(
        lambda: service(server, "web")["health"] == "healthy", timeout=20, what="web healthy"
    )
    return path


def service(server: Server, name: str) -> dict[str, Any]:
    result: dict[str, Any] = api(server, "GET", f"/services/{name}")
    return result


def running(server: Server, name: str) -> dict[str, Any]:
    """The service, started first if a test left it stopped."""
    if service(server, name)["state"] != "running":
        api(server, "POST", f"/services/{name}/start")
    return service(server, name)


def mark_page(page: Page) -> None:
    """A mark that a reload would lose: checked after each live change."""
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def chart_drawn(chart: Locator) -> None:
    """The uPlot chart holds two samples or more, and its canvas has ink on it (a blank
    canvas fails the test when the wait times out)."""
    expect(chart).to_have_attribute("data-points", AT_LEAST_TWO)
    expect(chart.locator(".uplot canvas")).to_have_count(1)
    # uPlot draws in the next frame: wait for ink, not for a time.
    chart.page.wait_for_function(
        """(canvas) => {
            const { width, height } = canvas;
            const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) return true;
            return false;
        }""",
        arg=chart.locator("canvas").element_handle(),
    )


def test_the_list_shows_each_service_live(dashboard: Dashboard, workdir: Path) -> None:
    server = dashboard.server
    web = running(server, "web")
    page = dashboard.goto("/services")
    mark_page(page)
    row = page.locator("tr[data-service='web']")
    expect(row.get_by_role("link", name="web")).to_have_attribute("href", "/services/web")
    cells = row.locator("td")
    expect(cells.nth(1)).to_have_text("running")
    expect(cells.nth(2)).to_have_text("healthy")
    expect(cells.nth(3)).to_have_text(str(web["pid"]))
    expect(cells.nth(4)).to_have_text(str(web["port"]))
    expect(page.locator("tr[data-service='ticker'] td").nth(2)).to_have_text("no check")
    # Uptime ticks in the page; CPU and memory come with their sparklines.
    uptime = cells.nth(5)
    expect(uptime).to_have_text(re.compile(r"^\d+[smhd]"))
    first = uptime.inner_text()
    expect(uptime).not_to_have_text(first)
    expect(cells.nth(8)).to_have_text(re.compile(r"\d+(\.\d)? (KiB|MiB)"))
    chart_drawn(row.locator(".spark[data-series='cpu']"))
    chart_drawn(row.locator(".spark[data-series='rss']"))
    expect(page.get_by_role("status")).to_have_text("live")
    dashboard.shot("services")
    not_reloaded(page)


def test_the_buttons_stop_start_and_restart(dashboard: Dashboard, workdir: Path) -> None:
    server = dashboard.server
    before = running(server, "web")
    page = dashboard.goto("/services")
    mark_page(page)
    state = page.locator("tr[data-service='web'] td").nth(1)
    expect(state).to_have_text("running")
    expect(page.get_by_role("button", name="Start web", exact=True)).to_be_disabled()

    page.get_by_role("button", name="Stop web", exact=True).click()
    expect(state).to_have_text("stopped")
    assert service(server, "web")["state"] == "stopped"
    assert service(server, "web")["pid"] is None
    expect(page.get_by_role("button", name="Stop web", exact=True)).to_be_disabled()

    page.get_by_role("button", name="Start web", exact=True).click()
    expect(state).to_have_text("running")
    started = service(server, "web")
    assert started["state"] == "running" and started["pid"] not in (None, before["pid"])

    page.get_by_role("button", name="Restart web", exact=True).click()
    pid_cell = page.locator("tr[data-service='web'] td").nth(3)
    expect(pid_cell).not_to_have_text(str(started["pid"]))
    expect(state).to_have_text("running")
    restarted = service(server, "web")
    assert restarted["state"] == "running"
    assert restarted["pid"] not in (None, started["pid"])
    expect(pid_cell).to_have_text(str(restarted["pid"]))
    not_reloaded(page)


def test_the_service_page_follows_log_events_health_and_metrics(
    dashboard: Dashboard, workdir: Path
) -> None:
    server = dashboard.server
    web = running(server, "web")
    page = dashboard.goto("/services/web")
    mark_page(page)
    expect(page.locator("#title")).to_have_text("Service web")
    facts = page.get_by_label("State summary")
    expect(facts.locator("[data-fact='state']")).to_have_text("running")
    expect(facts.locator("[data-fact='pid']")).to_have_text(str(web["pid"]))
    expect(facts.locator("[data-fact='port']")).to_have_text(str(web["port"]))
    # The health check history fills up with the checks as they are made.
    checks = page.get_by_role("table", name="Health checks").locator("tbody tr")
    expect(checks.first).to_contain_text("healthy")
    expect(checks.first.locator("td").nth(1)).to_have_text("ok")
    count = checks.count()
    expect(checks).not_to_have_count(count)
    # The log: http.server's lines for each health check arrive as they are written.
    log = page.get_by_label("Log of web")
    expect(log).to_contain_text('"GET / HTTP/1.1" 200')
    chart_drawn(page.locator(".chart[data-series='cpu']"))
    chart_drawn(page.locator(".chart[data-series='rss']"))
    dashboard.shot("service")

    # A stop is an event in the history, live; so is the start after it.
    events = page.get_by_role("table", name="Events").locator("tbody tr")
    page.get_by_role("button", name="Stop web", exact=True).click()
    expect(events.first).to_contain_text("stopped")
    expect(page.locator("tbody tr[data-to='stopping']").first).to_contain_text("from running")
    expect(facts.locator("[data-fact='state']")).to_have_text("stopped")
    assert service(server, "web")["state"] == "stopped"
    starts = page.locator("tbody tr[data-to='running']")
    before = starts.count()
    page.get_by_role("button", name="Start web", exact=True).click()
    expect(starts).to_have_count(before + 1)
    expect(starts.first).to_contain_text("from starting")
    expect(facts.locator("[data-fact='pid']")).to_have_text(str(service(server, "web")["pid"]))
    not_reloaded(page)


def test_a_line_the_service_prints_appears_live(dashboard: Dashboard, workdir: Path) -> None:
    running(dashboard.server, "ticker")
    page = dashboard.goto("/services/ticker")
    mark_page(page)
    log = page.get_by_label("Log of ticker")
    expect(log).to_contain_text("tick")
    marker = f"hello from the test {id(page)}"
    staged = workdir / "say.tmp"
    staged.write_text(marker + "\n")
    staged.rename(workdir / "say")  # whole, at once: the loop never sees half of it
    expect(log).to_contain_text(marker)
    expect(page.get_by_role("table", name="Health checks").locator("~ p")).to_have_text(
        "This service has no health check."
    )
    not_reloaded(page)


def test_a_start_that_fails_says_why_where_it_was_asked(
    dashboard: Dashboard, workdir: Path
) -> None:
    server = dashboard.server
    broken = {
        "name": "broken",
        "command": "sh",
        "args": ["-c", "echo 'cannot open config.yml' >&2; exit 3"],
        "cwd": str(workdir),
    }
    api(server, "POST", "/services", json=broken)
    page = dashboard.goto("/services")
    row = page.locator("tr[data-service='broken']")
    expect(row.locator("td").nth(1)).to_have_text("stopped")
    page.get_by_role("button", name="Start broken", exact=True).click()
    toast = page.locator("#toasts .toast.error")
    expect(toast).to_contain_text("Start broken")
    expect(toast).to_contain_text("cannot open config.yml")
    expect(row.locator("td").nth(1)).to_have_text("failed")
    assert service(server, "broken")["state"] == "failed"
    api(server, "DELETE", "/services/broken")
    expect(row).to_have_count(0)


def test_an_unknown_service_says_so(dashboard: Dashboard) -> None:
    page = dashboard.goto("/services/nosuch")
    expect(page.locator("#view")).to_contain_text("No service is registered as “nosuch”")
    expect(page.get_by_role("link", name="All services")).to_be_visible()


def test_a_watch_of_an_unknown_service_says_which(server: Server) -> None:
    """The stream stays up and names the watch that cannot be, with the reason."""
    with (
        server.client() as client,
        client.stream(
            "GET", "/api/orchestration/events", params={"watch": ["service:nosuch", "services"]}
        ) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        for line in lines:
            if line == "event: error":
                data = json.loads(next(lines).removeprefix("data: "))
                break
    assert data["watch"] == "service:nosuch"
    assert "nosuch" in data["message"]


# -- following a log file (what the page's log shows) ---------------------------------


def test_the_log_follower_starts_at_the_tail_then_gives_whole_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_text("".join(f"line {n}\n" for n in range(500)))
    follower = LogFollower(path)
    lines, skipped = follower.read(tail_lines=3)
    assert (lines, skipped) == (["line 497", "line 498", "line 499"], 0)
    assert follower.read() == ([], 0)
    with path.open("a") as fh:
        fh.write("new one\nhalf")
    assert follower.read() == (["new one"], 0)
    with path.open("a") as fh:
        fh.write(" done\r\n")
    assert follower.read() == (["half done"], 0)


def test_the_log_follower_reads_a_rotated_file_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_text("old a\nold b\nold c\n")
    follower = LogFollower(path)
    assert follower.read()[0] == ["old a", "old b", "old c"]
    path.rename(tmp_path / "svc.log.1")
    path.write_text("fresh\n")
    assert follower.read() == (["fresh"], 0)


def test_the_log_follower_skips_what_a_poll_cannot_read_and_says_how_much(
    tmp_path: Path,
) -> None:
    path = tmp_path / "svc.log"
    path.write_text("start\n")
    follower = LogFollower(path)
    assert follower.read()[0] == ["start"]
    line = "x" * 99 + "\n"
    burst = LOG_READ_MAX // len(line) * 3
    with path.open("a") as fh:
        fh.write(line * burst + "the end\n")
    lines, skipped = follower.read()
    assert skipped == path.stat().st_size - 6 - LOG_READ_MAX
    assert lines[-1] == "the end" and set(lines[:-1]) == {"x" * 99}


def test_the_log_follower_gives_a_line_without_newline_once_it_stays_so(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_text("")
    follower = LogFollower(path)
    assert follower.read() == ([], 0)
    path.write_text("password: ")
    assert follower.read() == ([], 0)  # it may still be being written
    assert follower.read() == (["password: "], 0)  # nothing came for a poll: it is whole
    assert follower.read() == ([], 0)
