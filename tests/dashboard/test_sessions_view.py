"""The Sessions views in a real browser, on a real daemon driving a real tmux server.

The daemon here is this module's own (not conftest's shared one): it gets a tmux socket
nobody else uses, killed at the end, and pane shells that are a known bash with the
prompt ``$ `` and an empty HOME.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.test_workflows_api import Server, gaia_env, start_server, stop_server_checked
from tests.dashboard.conftest import Dashboard, api
from tests.helpers import known_shell_home, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's daemon, on its own tmux socket (overrides conftest's ``server``)."""
    socket = f"gaia-test-dash-sessions-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    base = tmp_path_factory.mktemp("sessions-view")
    home = base / "gaia-home"
    home.mkdir()
    env = gaia_env(home)
    env.update(known_shell_home(base / "user-home"))
    env.pop("PROMPT_COMMAND", None)
    env["GAIA_TMUX_SOCKET"] = socket
    srv = start_server(home, env)
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
            sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
            (sockets / socket).unlink(missing_ok=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create_session(server: Server, name: str, windows: list[dict[str, Any]]) -> dict[str, Any]:
    view: dict[str, Any] = api(
        server, "POST", "/sessions", json={"session_name": name, "windows": windows}
    )
    return view


def capture(server: Server, session: str, window: str, pane: str) -> str:
    view = api(server, "GET", f"/sessions/{session}/capture/{window}/{pane}", params={"join": 1})
    return str(view["content"])


def wait_for_prompt(server: Server, session: str, window: str, pane: str) -> None:
    wait_until(
        lambda: "$" in capture(server, session, window, pane),
        timeout=20,
        what=f"the shell prompt in {session}",
    )


def session_names(server: Server) -> list[str]:
    return [s["name"] for s in api(server, "GET", "/sessions")]


def test_the_list_shows_sessions_with_windows_and_panes_live(
    dashboard: Dashboard, server: Server
) -> None:
    name = unique("alpha")
    created = create_session(
        server,
        name,
        [{"window_name": "editor", "panes": [{}, {}]}, {"window_name": "logs"}],
    )
    page = dashboard.goto("/sessions")
    row = page.locator(f'tr[data-session="{name}"]')
    expect(row).to_contain_text("alive")
    expect(row.locator("li[data-window]")).to_have_count(2)
    expect(row.locator("li[data-window]").first).to_contain_text("editor")
    expect(row.locator("li[data-pane]")).to_have_count(3)
    first_pane = created["windows"][0]["panes"][0]
    link = row.locator(f'li[data-pane="{first_pane["id"]}"] a')
    expect(link).to_have_attribute("href", re.compile(rf"/sessions/{name}\?window=.+&pane=.+"))

    # A session made while the page is open appears without a reload.
    later = unique("beta")
    create_session(server, later, [{"window_name": "main"}])
    expect(page.locator(f'tr[data-session="{later}"]')).to_contain_text("main")
    dashboard.shot("sessions")


def test_the_pane_preview_follows_the_pane_and_the_box_sends_to_it(
    dashboard: Dashboard, server: Server
) -> None:
    name = unique("gamma")
    created = create_session(server, name, [{"window_name": "work", "panes": [{}, {}]}])
    window = created["windows"][0]
    first, second = window["panes"]
    wait_for_prompt(server, name, window["id"], first["id"])
    wait_for_prompt(server, name, window["id"], second["id"])
    page = dashboard.goto(f"/sessions/{name}")
    # The active pane is selected, and the selection is written into the URL.
    expect(page).to_have_url(re.compile(rf"\?window={window['id']}&pane="))
    preview = page.locator("#pane-preview")
    expect(preview).to_contain_text("$")

    # Text typed through the API shows up in the preview without a reload.
    page.get_by_role("link", name=re.compile(r"^pane 0\b")).click()
    expect(page).to_have_url(re.compile(rf"pane={first['id']}"))
    api(
        server,
        "POST",
        f"/sessions/{name}/send-keys",
        json={"window_id": window["id"], "pane_id": first["id"], "keys": "echo api-typed-$((6*7))"},
    )
    expect(preview).to_contain_text("api-typed-42")

    # The box runs a command in the selected pane: its output is in the preview and tmux.
    page.get_by_label("Keys or command").fill("echo from-page-$((5+5))")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(preview).to_contain_text("from-page-10")
    assert "from-page-10" in capture(server, name, window["id"], first["id"])

    # Selecting the other pane moves the preview and the box there; back returns.
    page.get_by_role("link", name=re.compile(r"^pane 1\b")).click()
    expect(page).to_have_url(re.compile(rf"pane={second['id']}"))
    expect(preview).not_to_contain_text("from-page-10")
    page.get_by_label("Literal").check()
    page.get_by_label("Keys or command").fill("echo literal-$((1+2))")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(preview).to_contain_text("literal-3")
    assert "literal-3" in capture(server, name, window["id"], second["id"])
    assert "literal-3" not in capture(server, name, window["id"], first["id"])
    page.go_back()
    expect(page).to_have_url(re.compile(rf"pane={first['id']}"))
    expect(preview).to_contain_text("from-page-10")
    dashboard.shot("session")


def test_a_session_is_created_from_a_layout_file_and_its_errors_are_located(
    dashboard: Dashboard, server: Server, tmp_path: Path
) -> None:
    name = unique("layout")
    layout = tmp_path / "layout.yaml"
    layout.write_text(
        f"session_name: {name}\n"
        "windows:\n"
        "  - window_name: editor\n"
        "    panes: [echo layout-ready]\n"
        "  - window_name: server\n"
        "    panes: [echo one, echo two]\n"
    )
    page = dashboard.goto("/sessions")
    page.get_by_role("textbox", name="Layout file").fill(str(layout))
    page.get_by_role("button", name="Create session").click()
    row = page.locator(f'tr[data-session="{name}"]')
    expect(row.locator("li[data-pane]")).to_have_count(3)
    assert name in session_names(server)

    bad = tmp_path / "bad.yaml"
    bad.write_text("session_name: bad-layout\nwindows:\n  - window_name: a\n    layout: askew\n")
    page.get_by_role("textbox", name="Layout file").fill(str(bad))
    page.get_by_role("button", name="Create session").click()
    errors = page.get_by_role("list", name="Layout problems")
    expect(errors).to_contain_text(f"{bad}:4:")
    assert "bad-layout" not in session_names(server)


def test_kill_asks_then_removes_the_session_and_restore_brings_a_dead_one_back(
    dashboard: Dashboard, server: Server
) -> None:
    doomed = unique("doomed")
    create_session(server, doomed, [{"window_name": "main"}])
    page = dashboard.goto(f"/sessions/{doomed}")
    expect(page.locator("#session-facts")).to_contain_text("alive")
    page.get_by_role("button", name="Kill", exact=True).click()
    page.get_by_role("button", name="Cancel").click()
    assert doomed in session_names(server), "cancel kills nothing"
    page.get_by_role("button", name="Kill", exact=True).click()
    page.get_by_role("button", name=f"Kill session {doomed}").click()
    expect(page).to_have_url(re.compile(r"/sessions$"))
    assert doomed not in session_names(server)
    expect(page.locator(f'tr[data-session="{doomed}"]')).to_have_count(0)

    # A session tmux lost is shown dead, live; Restore recreates it.
    lost = unique("lost")
    created = create_session(server, lost, [{"window_name": "main"}])
    row = page.locator(f'tr[data-session="{lost}"]')
    expect(row).to_contain_text("alive")
    socket = server.env["GAIA_TMUX_SOCKET"]
    subprocess.run(
        ["tmux", "-L", socket, "kill-session", "-t", created["tmux_id"]],
        env=server.env,
        check=True,
        capture_output=True,
    )
    expect(row).to_contain_text("dead")
    row.get_by_role("button", name="Restore").click()
    expect(row).to_contain_text("alive")
    assert api(server, "GET", f"/sessions/{lost}")["status"] == "alive"
