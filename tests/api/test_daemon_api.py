"""Reloading a running daemon's settings (REST and SIGHUP), and /docs served offline.

Each test runs its own `gaia serve` subprocess, since reloading changes its settings.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.api.test_workflows_api import WF, YAML, Server, serving
from tests.helpers import wait_until

RELOAD = "/api/orchestration/daemon/reload"
# A workflow document of ~3,000 bytes: over a 2,048-byte cap, under the default 1 MiB.
BIG_WORKFLOW = (
    "name: padded\n" + "".join(f"# padding line {i:04d} " + "x" * 40 + "\n" for i in range(50))
).encode() + b"tasks:\n  - id: a\n    command: 'true'\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def config_file(server: Server) -> Path:
    return server.home / "config.toml"


def post_big(client: httpx.Client, work: Path) -> httpx.Response:
    return client.post(WF, content=BIG_WORKFLOW, headers=YAML, params={"base_dir": str(work)})


def test_reload_applies_live_settings_and_reports_restart_ones(
    server: Server, client: httpx.Client, tmp_path: Path
) -> None:
    assert len(BIG_WORKFLOW) > 2048
    before = post_big(client, tmp_path)
    assert before.status_code == 201, before.text

    other_db = tmp_path / "other.db"
    config_file(server).write_text(
        "max_request_body = 2048\n"
        f'database_url = "sqlite:///{other_db}"\n'
        '[agents.fake-cli]\ncommand = ["gaia-test-no-such-cli", "{prompt}"]\n',
        encoding="utf-8",
    )
    response = client.post(RELOAD)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["config_file"] == str(config_file(server).resolve())
    assert sorted(report["changed"]) == ["agents.fake-cli", "database_url", "max_request_body"]
    assert sorted(report["applied"]) == ["agents.fake-cli", "max_request_body"]
    assert report["restart_needed"] == ["database_url"]

    # The new cap holds from the next request; the database is still the old one.
    after = post_big(client, tmp_path)
    assert after.status_code == 413, after.text
    assert "2048 bytes" in after.json()["detail"]
    assert not other_db.exists()
    runs = client.get(WF)
    assert runs.status_code == 200 and len(runs.json()) == 1
    agents = {a["id"]: a for a in client.get("/api/orchestration/agents").json()}
    assert agents["fake-cli"]["available"] is False

    # Reloading what is already in effect changes nothing more.
    again = client.post(RELOAD).json()
    assert again["applied"] == [] and again["restart_needed"] == ["database_url"]


def test_sighup_reloads_as_the_route_does(
    server: Server, client: httpx.Client, tmp_path: Path
) -> None:
    config_file(server).write_text("max_request_body = 2048\n", encoding="utf-8")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(
        lambda: post_big(client, tmp_path).status_code == 413,
        timeout=15,
        what="the reloaded cap to apply",
    )
    wait_until(
        lambda: any("applied: max_request_body" in line for line in server.stdout),
        timeout=10,
        what="the daemon to say what it reloaded",
    )
    assert server.proc.poll() is None


def test_a_broken_config_on_reload_leaves_the_daemon_serving_as_before(
    server: Server, client: httpx.Client, tmp_path: Path
) -> None:
    config_file(server).write_text("max_request_body = 2048\n", encoding="utf-8")
    assert client.post(RELOAD).status_code == 200

    config_file(server).write_text("max_request_body = 4096\nport = [\n", encoding="utf-8")
    response = client.post(RELOAD)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert re.search(
        rf"{re.escape(str(config_file(server).resolve()))}:\d+:\d+: invalid TOML", message
    )
    assert "the daemon keeps its settings" in message
    # Still serving, with the settings it had (the 2,048-byte cap, not 4,096).
    assert client.get("/api/orchestration/health").status_code == 200
    assert post_big(client, tmp_path).status_code == 413

    config_file(server).write_text("max_request_body = 10\n", encoding="utf-8")
    response = client.post(RELOAD)
    assert response.status_code == 422
    assert "'max_request_body'" in response.json()["error"]["message"]

    # The same through SIGHUP: said on stderr, and the daemon goes on.
    server.proc.send_signal(signal.SIGHUP)
    wait_until(
        lambda: any("reload failed" in line for line in server.stderr),
        timeout=10,
        what="the daemon to report the failed reload",
    )
    assert server.proc.poll() is None
    assert client.get(WF).status_code == 200
    assert "Traceback" not in "".join(server.stderr)


def test_reload_needs_the_token(server: Server) -> None:
    with server.client(token=None) as anonymous:
        assert anonymous.post(RELOAD).status_code == 401


# -- /docs and /redoc offline ---------------------------------------------------------


class _Assets(HTMLParser):
    """Every URL a page loads: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href"):
                self.urls.append(value)


CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(server: Server, page: str) -> None:
    with server.client(token=None) as browser:
        html = browser.get(page, params={"token": server.token})
        assert html.status_code == 200, html.text
        assert html.headers["content-type"].startswith("text/html")
        parser = _Assets()
        parser.feed(html.text)
        assert parser.urls, "the page loads no scripts"
        # No absolute URL at all: nothing comes from another host.
        assert not re.search(r"(https?:)?//", html.text.replace("http://www.w3.org", ""))
        for url in parser.urls:
            assert url.startswith("/docs/static/"), url
            # Fetched as a browser does: without the token.
            asset = browser.get(url)
            assert asset.status_code == 200, url
            suffix = Path(url).suffix
            assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
            assert len(asset.content) > 1000, url
        # The page itself, and the API document, still need the token.
        assert browser.get(page).status_code == 401
        assert browser.get("/openapi.json").status_code == 401
        assert browser.get("/docs/static/../openapi.json").status_code in (401, 404)
