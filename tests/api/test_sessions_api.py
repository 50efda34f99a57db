"""Session routes through one real `gaia serve`, checked against the real tmux server it drives."""

from __future__ import annotations

import functools
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_workflows_api import Server, start_server, stop_server_checked
from tests.helpers import (
    command_lines_with,
    has_variable,
    known_shell_home,
    record_tmux_calls,
    wait_until,
)

API = "/api/orchestration/sessions"
SECRET_KEY = "GAIA_TEST_SECRET"
SECRET = "s3cr3t-session-value-5e1f"


@dataclass
class Daemon:
    server: Server
    socket: str
    tmux_log: Path  # the argv of every tmux call the daemon (or a test) made

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run tmux on the daemon's own socket (not the per-test one)."""
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            env=self.server.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )

    def out(self, *args: str) -> list[str]:
        result = self.tmux(*args)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    def has_session(self, name: str) -> bool:
        return self.tmux("has-session", "-t", f"={name}").returncode == 0

    def session_names(self) -> list[str]:
        return self.tmux("list-sessions", "-F", "#{session_name}").stdout.splitlines()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module, on its own tmux socket that is killed afterwards."""
    socket = f"gaia-test-api-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    base = tmp_path_factory.mktemp("sessions-api")
    home = base / "gaia-home"
    home.mkdir()
    # Pane shells get an empty HOME: real login bash without the user's dotfiles, which
    # are slow and can hold locks (a login shell killed while ~/.bashrc runs `pyenv
    # rehash` leaves pyenv's lock behind and every later shell hangs for a minute).
    bin_dir, tmux_log = record_tmux_calls(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(known_shell_home(base / "user-home"))
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        GAIA_HOME=str(home),
        GAIA_TMUX_SOCKET=socket,
        GAIA_KILL_GRACE_PERIOD="1s",
        GAIA_HEARTBEAT_INTERVAL="0.2s",
        # Idle after 1 s so that cleanup?dry_run has something to list; the periodic
        # maintenance (which would really destroy idle sessions) never runs in the test.
        GAIA_SESSION_IDLE_TIMEOUT="1s",
        GAIA_SESSION_RECONCILE_INTERVAL="1h",
        COLUMNS="200",
    )
    srv = start_server(home, env)
    try:
        yield Daemon(srv, socket, tmux_log)
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
            sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
            (sockets / socket).unlink(missing_ok=True)


def _no_secret(response: httpx.Response) -> None:
    response.read()
    where = f"{response.request.method} {response.request.url}"
    assert SECRET not in response.text, f"environment value leaked by {where}"


@pytest.fixture(scope="module")
def client(daemon: Daemon) -> Iterator[httpx.Client]:
    """An authorized client that fails any request whose response shows SECRET."""
    with httpx.Client(
        base_url=daemon.server.url,
        headers={"Authorization": f"Bearer {daemon.server.token}"},
        timeout=30.0,
        trust_env=False,
        event_hooks={"response": [_no_secret]},
    ) as c:
        yield c


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path.resolve()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create(client: httpx.Client, project: Path, **extra: Any) -> dict[str, Any]:
    body = {"name": unique("api"), "project_path": str(project), **extra}
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def capture(client: httpx.Client, sid: str, window: str, pane: str, **params: Any) -> str:
    response = client.get(f"{API}/{sid}/capture/{window}/{pane}", params=params)
    assert response.status_code == 200, response.text
    content: str = response.json()["content"]
    return content


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


PLACEHOLDER = "0123456789abcdef"
ROUTES = [
    ("GET", API),
    ("POST", API),
    ("POST", f"{API}/reconcile"),
    ("POST", f"{API}/cleanup"),
    ("GET", f"{API}/{PLACEHOLDER}"),
    ("DELETE", f"{API}/{PLACEHOLDER}"),
    ("POST", f"{API}/{PLACEHOLDER}/restore"),
    ("GET", f"{API}/{PLACEHOLDER}/layout"),
    ("POST", f"{API}/{PLACEHOLDER}/windows"),
    ("POST", f"{API}/{PLACEHOLDER}/windows/0/panes"),
    ("POST", f"{API}/{PLACEHOLDER}/send-keys"),
    ("GET", f"{API}/{PLACEHOLDER}/capture/0/0"),
    ("GET", f"{API}/{PLACEHOLDER}/capture"),
    ("POST", f"{API}/up"),
    ("POST", f"{API}/{PLACEHOLDER}/run"),
]


# -- security --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_session_route_needs_the_token(daemon: Daemon, method: str, path: str) -> None:
    """Each sessions route answers 401 'unauthorized' without a token and with a wrong one."""
    for token in (None, "not-the-token"):
        with daemon.server.client(token=token) as anonymous:
            response = anonymous.request(method, path, json={"name": "x", "keys": "x"})
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert "x" not in daemon.session_names()


# -- create, list, get ---------------------------------------------------------------


def test_create_builds_the_session_in_tmux_and_never_shows_environment_values(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """Create answers 201 with ids that tmux carries, and env values only reach tmux."""
    view = create(
        client,
        project,
        environment={SECRET_KEY: SECRET},
        windows=[{"name": "editor"}, {"name": "logs"}],
    )
    name, sid = view["name"], view["id"]
    assert view["status"] == "alive"
    assert view["environment_keys"] == [SECRET_KEY]
    assert view["start_directory"] == str(project)
    assert [w["name"] for w in view["windows"]] == ["editor", "logs"]
    assert [len(w["panes"]) for w in view["windows"]] == [1, 1]

    windows = daemon.out(
        "list-windows", "-t", f"={name}", "-F", "#{window_name} #{@gaia_window_id}"
    )
    assert windows == [f"{w['name']} {w['id']}" for w in view["windows"]]
    panes = daemon.out(
        "list-panes", "-s", "-t", f"={name}", "-F", "#{@gaia_pane_id} #{pane_current_path}"
    )
    assert panes == [f"{w['panes'][0]['id']} {project}" for w in view["windows"]]
    assert daemon.out("show-options", "-v", "-t", f"={name}:", "@gaia_session_id") == [sid]
    assert daemon.out("show-environment", "-t", f"={name}", SECRET_KEY) == [
        f"{SECRET_KEY}={SECRET}"
    ]

    by_id = client.get(f"{API}/{sid}")
    by_name = client.get(f"{API}/{name}")
    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json()["id"] == by_name.json()["id"] == sid
    live_panes = [p for w in by_id.json()["windows"] for p in w["panes"]]
    assert all(p["current_path"] == str(project) and p["width"] for p in live_panes)
    listed = {s["id"]: s for s in client.get(API).json()}
    assert listed[sid]["name"] == name
    assert listed[sid]["environment_keys"] == [SECRET_KEY]
    assert "environment" not in listed[sid]
    assert client.get(f"{API}/{sid}/layout").status_code == 200  # also checked for SECRET


def test_environment_values_reach_the_shells_but_no_command_line(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """Values of a session, a new window and a split pane are on no process's command line
    (tmux client or server, shell), yet each pane's shell has its own (issue 15)."""
    token = uuid.uuid4().hex  # unique: other runs on this machine may show SECRET
    value = f"{SECRET}-{token}"
    view = create(client, project, environment={SECRET_KEY: value})
    sid, name = view["id"], view["name"]
    window = client.post(f"{API}/{sid}/windows", json={"environment": {"GAIA_TEST_W": value}})
    assert window.status_code == 201, window.text
    pane = client.post(
        f"{API}/{sid}/windows/{window.json()['id']}/panes",
        json={"environment": {"GAIA_TEST_P": value}},
    )
    assert pane.status_code == 201, pane.text

    calls = daemon.tmux_log.read_text()
    assert SECRET not in calls, "an environment value was on a tmux command line"
    assert f"-L {daemon.socket} " in calls, "the daemon's tmux calls were not recorded"
    assert command_lines_with(token) == []
    expected = {
        view["windows"][0]["panes"][0]["id"]: [SECRET_KEY],
        window.json()["panes"][0]["id"]: [SECRET_KEY, "GAIA_TEST_W"],
        pane.json()["id"]: [SECRET_KEY, "GAIA_TEST_P"],
    }
    rows = daemon.out("list-panes", "-s", "-t", f"={name}", "-F", "#{@gaia_pane_id} #{pane_pid}")
    assert len(rows) == len(expected)
    for row in rows:
        pane_id, pid = row.split()
        for key in expected[pane_id]:
            # Until tmux's child has exec'd the shell, /proc shows the server's environment.
            wait_until(
                functools.partial(has_variable, int(pid), key, value),
                what=f"{key} in the shell of pane {pane_id}",
            )


def test_relative_project_path_is_rejected(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """A relative project_path is a 422 whose message names the field and the bad value."""
    name = unique("rel")
    response = client.post(API, json={"name": name, "project_path": "relative/dir"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    [problem] = error["details"]
    assert problem["path"] in ("project_path", "start_directory")
    assert problem["path"] in problem["message"]
    assert "absolute" in problem["message"] and "'relative/dir'" in problem["message"]
    assert not daemon.has_session(name)


def test_missing_project_directory_is_rejected(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """A project_path that does not exist is a 422 naming the directory; nothing is made."""
    name = unique("gone")
    missing = project / "not-here"
    response = client.post(API, json={"name": name, "project_path": str(missing)})
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["details"]
    assert f"{str(missing)!r} does not exist" in problem["message"]
    assert not daemon.has_session(name)


def test_bad_session_name_is_a_422_with_the_field_path(
    client: httpx.Client, daemon: Daemon
) -> None:
    """A name tmux would mangle ('a.b') is refused with a JSON error that points at 'name'."""
    before = daemon.session_names()
    response = client.post(API, json={"name": "a.b"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [d["path"] for d in error["details"]] == ["name"]
    assert "'a.b' is not allowed" in error["message"]
    assert daemon.session_names() == before


def test_duplicate_name_is_a_conflict(client: httpx.Client, daemon: Daemon, project: Path) -> None:
    """Creating a second session with a live session's name is 409 and changes nothing."""
    view = create(client, project)
    again = client.post(API, json={"name": view["name"], "project_path": str(project)})
    assert again.status_code == 409, again.text
    assert "exists" in again.json()["error"]["message"]
    assert daemon.session_names().count(view["name"]) == 1
    assert [s["id"] for s in client.get(API).json() if s["name"] == view["name"]] == [view["id"]]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/restore", None),
        ("GET", "/layout", None),
        ("POST", "/windows", {}),
        ("POST", "/windows/0/panes", {}),
        ("POST", "/send-keys", {"keys": "x"}),
        ("GET", "/capture/0/0", None),
        ("POST", "/run", {"command": "true"}),
    ],
)
def test_unknown_session_is_not_found(
    client: httpx.Client, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    """Every route on a session id that does not exist is 404 with a message naming it."""
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    response = client.request(method, f"{API}/{ghost}{suffix}", json=body)
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert ghost in error["message"]


# -- windows, panes, keys, capture, run ------------------------------------------------


def test_new_window_and_vertical_split_appear_in_tmux(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """POST windows adds a tmux window; a vertical pane split stacks two panes in it."""
    view = create(client, project)
    sid, name = view["id"], view["name"]
    response = client.post(f"{API}/{sid}/windows", json={"name": "extra"})
    assert response.status_code == 201, response.text
    window = response.json()
    assert window["name"] == "extra" and len(window["panes"]) == 1
    listed = daemon.out("list-windows", "-t", f"={name}", "-F", "#{window_id} #{window_name}")
    assert len(listed) == 2
    assert listed[1] == f"{window['tmux_id']} extra"
    wid = daemon.out("show-options", "-w", "-v", "-t", window["tmux_id"], "@gaia_window_id")
    assert wid == [window["id"]]

    split = client.post(f"{API}/{sid}/windows/{window['id']}/panes", json={"direction": "vertical"})
    assert split.status_code == 201, split.text
    pane = split.json()
    geometry = daemon.out(
        "list-panes", "-t", window["tmux_id"], "-F", "#{pane_id} #{pane_left} #{pane_top}"
    )
    assert len(geometry) == 2
    (first, left1, top1), (second, left2, top2) = (g.split() for g in geometry)
    assert second == pane["tmux_id"]
    assert left1 == left2 and int(top2) > int(top1)  # one above the other
    assert daemon.out("display-message", "-p", "-t", first, "#{window_panes}") == ["2"]
    shown = client.get(f"{API}/{sid}").json()
    assert [len(w["panes"]) for w in shown["windows"]] == [1, 2]

    missing = client.post(f"{API}/{sid}/windows/no-such-window/panes", json={})
    assert missing.status_code == 404
    assert "no-such-window" in missing.json()["error"]["message"]


def test_send_keys_then_capture_shows_the_output(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """Keys sent with Enter run in the pane's shell; capture (and history) returns the text."""
    view = create(client, project)
    sid = view["id"]
    window = view["windows"][0]["id"]
    pane = view["windows"][0]["panes"][0]["id"]
    sent = client.post(f"{API}/{sid}/send-keys", json={"keys": "echo hi-from-api", "enter": True})
    assert sent.status_code == 200, sent.text
    assert sent.json()["id"] == pane
    wait_until(
        lambda: "hi-from-api" in lines_of(capture(client, sid, window, pane)),
        timeout=10,
        what="the echo output in the capture",
    )
    tmux_id = view["windows"][0]["panes"][0]["tmux_id"]
    assert "hi-from-api" in lines_of(
        "\n".join(daemon.out("capture-pane", "-p", "-J", "-t", tmux_id))
    )
    # Indices and tmux ids address the same pane.
    assert "hi-from-api" in lines_of(capture(client, sid, "0", "0"))

    client.post(f"{API}/{sid}/send-keys", json={"keys": "seq 1 300"})
    wait_until(
        lambda: "300" in lines_of(capture(client, sid, window, pane)),
        timeout=10,
        what="seq to finish",
    )
    screen = lines_of(capture(client, sid, window, pane))
    history = lines_of(capture(client, sid, window, pane, history="true"))
    assert "1" not in screen and len(screen) < 300
    assert {"1", "150", "300", "hi-from-api"} <= set(history)

    for w, p, missing in [("9", pane, "'9'"), (window, "7", "'7'")]:
        response = client.get(f"{API}/{sid}/capture/{w}/{p}")
        assert response.status_code == 404, response.text
        assert missing in response.json()["error"]["message"]


def test_run_reports_output_exit_status_and_timeout(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """run waits for the command: output and exit status; a timeout sends Ctrl-C."""
    # Wide enough that the shell prompt (it shows the long tmp path) never wraps.
    view = create(client, project, width=200)
    sid = view["id"]
    pane_tmux_id = view["windows"][0]["panes"][0]["tmux_id"]
    assert daemon.out("display-message", "-p", "-t", pane_tmux_id, "#{pane_width}") == ["200"]
    done = client.post(f"{API}/{sid}/run", json={"command": "echo ok; (exit 7)"})
    assert done.status_code == 200, done.text
    result = done.json()
    assert (result["exit_status"], result["output"], result["timed_out"]) == (7, "ok", False)

    slow = client.post(f"{API}/{sid}/run", json={"command": "sleep 10", "timeout": 0.5})
    assert slow.status_code == 200, slow.text
    result = slow.json()
    assert result["timed_out"] is True and result["exit_status"] is None
    assert 0.5 <= result["duration_seconds"] < 5
    wait_until(
        lambda: (
            daemon.out("display-message", "-p", "-t", pane_tmux_id, "#{pane_current_command}")
            == ["bash"]
        ),
        timeout=10,
        what="Ctrl-C to stop the sleep",
    )
    again = client.post(f"{API}/{sid}/run", json={"command": "echo again", "timeout": 10})
    assert (again.json()["exit_status"], again.json()["output"]) == (0, "again")


# -- lifecycle ---------------------------------------------------------------------------


def test_delete_kills_the_tmux_session(client: httpx.Client, daemon: Daemon, project: Path) -> None:
    """DELETE ends the tmux session and forgets it: a later GET is 404."""
    view = create(client, project)
    assert daemon.has_session(view["name"])
    deleted = client.delete(f"{API}/{view['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "destroyed"
    assert not daemon.has_session(view["name"])
    gone = client.get(f"{API}/{view['id']}")
    assert gone.status_code == 404
    assert view["id"] in gone.json()["error"]["message"]
    assert view["id"] not in [s["id"] for s in client.get(API).json()]


def test_restore_brings_a_dead_session_back_with_the_same_ids(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """After tmux dies the session shows dead; restore rebuilds it with ids and commands."""
    view = create(
        client,
        project,
        windows=[{"name": "one", "panes": ["echo restored-marker"]}, {"name": "two"}],
    )
    sid, name = view["id"], view["name"]
    ids = [(w["id"], [p["id"] for p in w["panes"]]) for w in view["windows"]]
    assert client.post(f"{API}/{sid}/restore").status_code == 409  # alive: nothing to restore

    daemon.tmux("kill-server")
    assert not daemon.has_session(name)
    assert client.get(f"{API}/{sid}").json()["status"] == "dead"
    listed = {s["id"]: s for s in client.get(API).json()}
    assert listed[sid]["status"] == "dead" and listed[sid]["dead_at"] is not None
    assert client.get(f"{API}/{sid}/layout").status_code == 409

    restored = client.post(f"{API}/{sid}/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert (body["id"], body["status"]) == (sid, "alive")
    assert [(w["id"], [p["id"] for p in w["panes"]]) for w in body["windows"]] == ids
    assert daemon.has_session(name)
    assert daemon.out("show-options", "-v", "-t", f"={name}:", "@gaia_session_id") == [sid]
    tagged = daemon.out("list-windows", "-t", f"={name}", "-F", "#{@gaia_window_id} #{window_name}")
    assert tagged == [f"{ids[0][0]} one", f"{ids[1][0]} two"]
    first_pane = body["windows"][0]["panes"][0]["tmux_id"]
    wait_until(
        lambda: (
            "restored-marker"
            in lines_of("\n".join(daemon.out("capture-pane", "-p", "-J", "-t", first_pane)))
        ),
        timeout=10,
        what="the pane's command to run again",
    )

    layout = client.get(f"{API}/{sid}/layout")
    assert layout.status_code == 200, layout.text
    data = layout.json()
    assert data["session_name"] == name
    assert data["start_directory"] == str(project)
    assert [w["window_name"] for w in data["windows"]] == ["one", "two"]
    assert data["windows"][0]["panes"] == [["echo restored-marker"]]


def test_reconcile_adopts_a_plain_tmux_session(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """A session made with plain tmux on gaia's socket is adopted and tagged with an id."""
    name = unique("plain")
    made = daemon.tmux("new-session", "-d", "-s", name, "-c", str(project))
    assert made.returncode == 0, made.stderr
    response = client.post(f"{API}/reconcile")
    assert response.status_code == 200, response.text
    report = response.json()
    assert name in report["adopted"]
    assert report["alive"] == len(daemon.session_names())
    view = client.get(f"{API}/{name}").json()
    assert (view["origin"], view["status"]) == ("adopted", "alive")
    assert daemon.out("show-options", "-v", "-t", f"={name}:", "@gaia_session_id") == [view["id"]]
    assert name not in client.post(f"{API}/reconcile").json()["adopted"]


def test_cleanup_dry_run_lists_idle_sessions_and_keeps_them(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """With a 1 s idle timeout, cleanup?dry_run=true lists a quiet session but leaves it."""
    view = create(client, project)

    def listed() -> list[dict[str, Any]]:
        response = client.post(f"{API}/cleanup", params={"dry_run": "true"})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()
        assert isinstance(items, list)
        return [item for item in items if item["id"] == view["id"]]

    [item] = wait_until(listed, timeout=10, what="the session to count as idle")
    assert item["name"] == view["name"] and item["destroyed"] is False
    assert item["idle_seconds"] >= 1
    assert daemon.has_session(view["name"])
    assert client.get(f"{API}/{view['id']}").json()["status"] == "alive"


# -- bad input is never a 500 ------------------------------------------------------------

BAD_INPUT = [
    ("POST", "", "{not json", 422),
    ("POST", "", "[]", 422),
    ("POST", "", '{"name": "ok", "unknown_key": 1}', 422),
    ("POST", "", '{"name": "ok", "width": 5}', 422),
    ("POST", "", '{"name": "ok", "environment": {"1BAD": "x"}}', 422),
    ("POST", "", '{"name": "ok", "windows": [{"layout": "diagonal"}]}', 422),
    ("POST", "", '{"name": "ok", "windows": [{"name": " "}]}', 422),
    ("POST", "/{id}/windows", "{not json", 422),
    ("POST", "/{id}/windows", '{"start_directory": "relative"}', 422),
    ("POST", "/{id}/windows", '{"nmae": "x"}', 422),
    ("POST", "/{id}/windows/0/panes", '{"direction": "diagonal"}', 422),
    ("POST", "/{id}/windows/0/panes", '{"size": "lots"}', 422),
    ("POST", "/{id}/windows/0/panes", '{"start_directory": "rel"}', 422),
    ("POST", "/{id}/send-keys", "{}", 422),
    ("POST", "/{id}/send-keys", '{"keys": [], "enter": false}', 422),
    ("POST", "/{id}/run", '{"command": ""}', 422),
    ("POST", "/{id}/run", '{"command": "true", "timeout": 0}', 422),
    ("POST", "/{id}/run", '{"command": "echo a\\necho b"}', 422),
    ("POST", "/{id}/run", "not json at all", 422),
    ("GET", "/{id}/capture/0/0?start=abc", None, 422),
    ("POST", "/cleanup?dry_run=perhaps", None, 422),
]


@pytest.mark.parametrize(("method", "suffix", "content", "status"), BAD_INPUT)
def test_bad_input_is_a_clear_client_error(
    client: httpx.Client,
    daemon: Daemon,
    project: Path,
    method: str,
    suffix: str,
    content: str | None,
    status: int,
) -> None:
    """Malformed bodies and parameters get a 4xx JSON error, never a 500, and change nothing."""
    view = create(client, project)
    before = daemon.out("list-panes", "-a", "-F", "#{pane_id}")
    response = client.request(
        method,
        API + suffix.replace("{id}", view["id"]),
        content=content,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    assert daemon.out("list-panes", "-a", "-F", "#{pane_id}") == before
    assert "ok" not in daemon.session_names()


# -- known bugs ----------------------------------------------------------------------------


def test_unknown_tmux_option_is_rejected_without_leaving_a_session(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """A session option tmux does not know is a client error and no tmux session remains."""
    name = unique("opt")
    response = client.post(
        API,
        json={"name": name, "project_path": str(project), "options": {"no-such-option": "1"}},
    )
    left_behind = daemon.has_session(name)
    if left_behind:
        daemon.tmux("kill-session", "-t", f"={name}")
    assert 400 <= response.status_code < 500, response.text
    assert not left_behind


def test_window_name_with_a_newline_is_rejected(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """A window name with a newline is a 422 and no window is created."""
    view = create(client, project)
    response = client.post(f"{API}/{view['id']}/windows", json={"name": "a\nb"})
    windows = daemon.out("list-windows", "-t", f"={view['name']}", "-F", "#{window_id}")
    assert response.status_code == 422, response.text
    assert len(windows) == 1


def test_window_options_are_applied(client: httpx.Client, daemon: Daemon, project: Path) -> None:
    """A window's tmuxp-style 'options' are set on that tmux window."""
    view = create(client, project, windows=[{"name": "w", "options": {"remain-on-exit": "on"}}])
    window = view["windows"][0]["tmux_id"]
    assert daemon.out("show-options", "-w", "-v", "-t", window, "remain-on-exit") == ["on"]


def test_first_view_of_a_dead_session_has_dead_at(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """The GET that first finds a session gone from tmux reports when it died."""
    view = create(client, project)
    daemon.tmux("kill-session", "-t", f"={view['name']}")
    dead = client.get(f"{API}/{view['id']}").json()
    assert dead["status"] == "dead"
    assert dead["dead_at"] is not None


def test_send_keys_starting_with_a_dash(
    client: httpx.Client, daemon: Daemon, project: Path
) -> None:
    """Keys that start with '-' are typed into the pane, not a 500."""
    view = create(client, project)
    body = {"keys": "-dash-text", "literal": True, "enter": False}
    response = client.post(f"{API}/{view['id']}/send-keys", json=body)
    assert response.status_code == 200, response.text
    pane = view["windows"][0]["panes"][0]["tmux_id"]
    wait_until(
        lambda: "-dash-text" in "\n".join(daemon.out("capture-pane", "-p", "-J", "-t", pane)),
        timeout=10,
        what="the dash text in the pane",
    )


def test_up_builds_a_layout_file_and_types_its_commands_once_shells_are_ready(
    client: httpx.Client, daemon: Daemon, project: Path, tmp_path: Path
) -> None:
    """POST /up answers with the session as soon as tmux has it; commands follow."""
    name = unique("up")
    layout = tmp_path / "layout.yaml"
    layout.write_text(
        f"session_name: {name}\n"
        "start_directory: ./project\n"
        "focus_mode: on\n"
        "windows:\n"
        "  - window_name: editor\n"
        "    panes: [echo up-editor-ready]\n"
        "  - window_name: server\n"
        "    layout: even-horizontal\n"
        "    panes: [echo up-server-ready, echo up-watcher-ready]\n"
    )
    response = client.post(f"{API}/up", json={"path": str(layout)})
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["name"] == name and view["origin"] == "layout"
    assert [len(w["panes"]) for w in view["windows"]] == [1, 2]
    assert [w.split(" (known keys")[0] for w in view["warnings"]] == [
        f"{layout}:3:1: unknown key 'focus_mode' is ignored (as tmuxp does)"
    ]
    assert daemon.has_session(name)
    expected = {"up-editor-ready", "up-server-ready", "up-watcher-ready"}
    for window in view["windows"]:
        for pane in window["panes"]:
            wait_until(
                lambda w=window, p=pane: (
                    expected & set(lines_of(capture(client, name, w["id"], p["id"])))
                ),
                timeout=15,
                what=f"pane {pane['tmux_id']} to show its command's output",
            )
    paths = {
        line
        for line in daemon.out("list-panes", "-s", "-t", f"={name}", "-F", "#{pane_current_path}")
    }
    assert paths == {str(project)}, "'./project' is relative to the layout file (as in tmuxp)"


def test_up_reports_layout_problems_with_the_files_name_and_position(
    client: httpx.Client, daemon: Daemon, tmp_path: Path
) -> None:
    """A bad layout is a 422 whose details carry line and column, under the name given."""
    layout = tmp_path / "bad.yaml"
    layout.write_text("session_name: bad-up\nwindows:\n  - window_name: a\n    layout: askew\n")
    response = client.post(f"{API}/up", json={"path": str(layout), "source": "bad.yaml"})
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert any(d.get("line") == 4 and d.get("source") == "bad.yaml" for d in details), details
    assert not daemon.has_session("bad-up")
    relative = client.post(f"{API}/up", json={"path": "bad.yaml"})
    assert relative.status_code == 422 and "absolute" in relative.text
    missing = client.post(f"{API}/up", json={"path": str(tmp_path / "nope.yaml")})
    assert missing.status_code == 422 and "cannot read layout file" in missing.text


def test_capture_without_window_and_pane_reads_the_active_pane(
    client: httpx.Client, project: Path
) -> None:
    """GET /{id}/capture captures the active pane; window_id and pane_id narrow it down."""
    view = create(client, project, windows=[{"name": "one"}, {"name": "two"}])
    sid = view["id"]
    client.post(f"{API}/{sid}/send-keys", json={"keys": "echo in-the-active-pane"})

    def active() -> list[str]:
        response = client.get(f"{API}/{sid}/capture")
        assert response.status_code == 200, response.text
        return lines_of(response.json()["content"])

    wait_until(lambda: "in-the-active-pane" in active(), timeout=10, what="the echo output")
    other = client.get(f"{API}/{sid}/capture", params={"window_id": "one", "pane_id": "0"})
    assert other.status_code == 200 and "in-the-active-pane" not in other.text
    unknown = client.get(f"{API}/{sid}/capture", params={"window_id": "nine"})
    assert unknown.status_code == 404 and "'nine'" in unknown.text


def test_an_ambiguous_window_name_is_a_bad_request(client: httpx.Client, project: Path) -> None:
    """A window name two windows share is an ambiguous reference (400), not a conflict:
    409 stays for what the state forbids."""
    view = create(client, project)
    sid = view["id"]
    for _ in range(2):
        made = client.post(f"{API}/{sid}/windows", json={"name": "twin"})
        assert made.status_code == 201, made.text
    ambiguous = client.get(f"{API}/{sid}/capture/twin/0")
    assert ambiguous.status_code == 400, ambiguous.text
    assert ambiguous.json()["error"]["code"] == "bad_request"
    assert "2 windows named 'twin'" in ambiguous.json()["detail"]
