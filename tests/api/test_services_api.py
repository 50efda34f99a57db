"""Service routes through a real `gaia serve` on 127.0.0.1, with a real HTTP service."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.api.test_workflows_api import Server, gaia_env, start_server, stop_server_checked
from tests.helpers import free_port, proc_gone, wait_until

API = "/api/orchestration/services"


def service_env(home: Path) -> dict[str, str]:
    # Each start waits this long for an early exit (1s by default): short, for speed.
    return {**gaia_env(home), "GAIA_SERVICE_START_SECONDS": "0.2s"}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "gaia-home"
    home.mkdir()
    srv = start_server(home, service_env(home))
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()


def web_service(port: int) -> dict[str, object]:
    return {
        "name": "web",
        "command": sys.executable,
        "args": ["-m", "http.server", str(port), "--bind", "127.0.0.1"],
        "port": port,
        "env": {"SECRET_TOKEN": "s3cr3t-value"},
        "health_check": {"type": "http", "interval": "200ms", "timeout": "1s", "retries": 2},
        "auto_restart": True,
    }


def test_service_lifecycle_over_the_api(daemon: Server) -> None:
    """Register, start, probe, read logs/metrics/events, stop and unregister a real server."""
    port = free_port()
    with daemon.client() as client:
        created = client.post(API, content=json.dumps(web_service(port)))
        assert created.status_code == 201, created.text
        [view] = created.json()
        assert (view["name"], view["state"], view["env_keys"]) == (
            "web",
            "stopped",
            ["SECRET_TOKEN"],
        )
        assert client.get(f"{API}/{view['id']}").json()["name"] == "web"

        started = client.post(f"{API}/web/start")
        assert started.json() == {"name": "web", "state": "running"}
        wait_until(
            lambda: client.get(f"{API}/web/health").json()["health"] == "healthy",
            timeout=10,
            what="web to be healthy",
        )
        listed = client.get(API).json()
        assert [(s["name"], s["state"], s["health"]) for s in listed] == [
            ("web", "running", "healthy")
        ]
        pid = listed[0]["pid"]
        assert listed[0]["rss_bytes"] > 0
        metrics = client.get(f"{API}/web/metrics").json()
        assert metrics["current"]["process_count"] >= 1
        wait_until(
            lambda: "GET / HTTP/1.1" in client.get(f"{API}/web/logs", params={"lines": 5}).text,
            timeout=10,
            what="probe requests in the server's log",
        )
        for route in ("", "/health", "/metrics", "/events"):
            assert "s3cr3t-value" not in client.get(f"{API}/web{route}").text

        assert client.delete(f"{API}/web").status_code == 409
        stopped = client.post(f"{API}/web/stop", json={"graceful": True})
        assert stopped.json() == {"name": "web", "state": "stopped"}
        wait_until(
            lambda: not psutil.pid_exists(pid) or proc_gone(psutil.Process(pid)),
            timeout=5,
            what="the server process to exit",
        )
        kinds = [(e["from_state"], e["to_state"]) for e in client.get(f"{API}/web/events").json()]
        assert ("running", "stopping") in kinds and ("stopping", "stopped") in kinds
        assert client.delete(f"{API}/web").status_code == 200
        assert client.get(f"{API}/web").status_code == 404


def test_a_service_deleted_right_after_its_stop_is_gone_cleanly(daemon: Server) -> None:
    """DELETE at once after a stop answered 409 ('it is stopping': the stop was not yet
    in the database); and a write about the service committed after its row was
    deleted broke a foreign key, failing the batch and the daemon's shutdown."""
    with daemon.client() as client:
        for attempt in range(5):
            assert client.post(API, json=web_service(free_port())).status_code == 201
            assert client.post(f"{API}/web/start").status_code == 200
            assert client.post(f"{API}/web/stop").json()["state"] == "stopped"
            deleted = client.delete(f"{API}/web")
            assert deleted.status_code == 200, (attempt, deleted.text)
            assert client.get(f"{API}/web").status_code == 404
        # The daemon's writes still work: a new service's events are recorded.
        assert client.post(API, json=web_service(free_port())).status_code == 201
        assert client.post(f"{API}/web/start").status_code == 200
        assert client.post(f"{API}/web/stop").json()["state"] == "stopped"
        kinds = [e["to_state"] for e in client.get(f"{API}/web/events").json()]
        assert "stopped" in kinds
    # stop_server_checked (the fixture) fails on a non-zero exit or a traceback.


def test_bad_requests_are_clear(daemon: Server) -> None:
    """Invalid definitions are 422 with field paths; unknown services 404; no token 401."""
    with daemon.client() as client:
        bad = client.post(API, content='[{"name": "a", "command": "x", "port": "http"}]')
        assert bad.status_code == 422
        [problem] = bad.json()["error"]["details"]
        assert problem["path"] == "[0].port"
        cyclic = client.post(
            API,
            content=json.dumps(
                [
                    {"name": "a", "command": "x", "depends_on": ["b"]},
                    {"name": "b", "command": "x", "depends_on": ["a"]},
                ]
            ),
        )
        assert cyclic.status_code == 422
        assert "dependency cycle: a -> b -> a" in cyclic.text
        assert client.get(API).json() == []
        assert client.post(f"{API}/nope/start").status_code == 404
    with daemon.client(token=None) as anonymous:
        assert anonymous.get(API).status_code == 401


def test_daemon_restart_brings_services_back(tmp_path: Path) -> None:
    """Services running when the daemon stops are stopped with it and started again after."""
    home = tmp_path / "gaia-home"
    home.mkdir()
    env = service_env(home)
    first = start_server(home, env)
    try:
        with first.client() as client:
            spec = {"name": "sleeper", "command": "exec sleep 300"}
            assert client.post(API, content=json.dumps(spec)).status_code == 201
            assert client.post(f"{API}/sleeper/start").json()["state"] == "running"
            pid = client.get(f"{API}/sleeper").json()["pid"]
    finally:
        stop_server_checked(first)
        first.kill()
    assert not psutil.pid_exists(pid) or proc_gone(psutil.Process(pid))
    second = start_server(home, env)
    try:
        with second.client() as client:
            deadline = time.monotonic() + 10
            view = client.get(f"{API}/sleeper").json()
            while view["state"] != "running" and time.monotonic() < deadline:
                time.sleep(0.1)
                view = client.get(f"{API}/sleeper").json()
            assert view["state"] == "running"
            assert view["pid"] != pid
    finally:
        stop_server_checked(second)
        second.kill()


def test_sigkilled_daemon_is_replaced_without_a_duplicate_service(tmp_path: Path) -> None:
    """After `gaia serve` dies by SIGKILL, the next daemon stops the orphan and starts anew."""
    home = tmp_path / "gaia-home"
    home.mkdir()
    env = service_env(home)
    first = start_server(home, env)
    try:
        with first.client() as client:
            spec = {"name": "sleeper", "command": "exec sleep 300"}
            assert client.post(API, content=json.dumps(spec)).status_code == 201
            assert client.post(f"{API}/sleeper/start").json()["state"] == "running"
            orphan = psutil.Process(client.get(f"{API}/sleeper").json()["pid"])
            time.sleep(0.3)  # let the write-behind recorder store the pid
    finally:
        first.kill()  # SIGKILL: no graceful shutdown, the service keeps running
    assert not proc_gone(orphan)
    second = start_server(home, env)
    try:
        wait_until(lambda: proc_gone(orphan), timeout=10, what="the orphan to be stopped")
        with second.client() as client:
            view = client.get(f"{API}/sleeper").json()
            assert view["state"] == "running"
            assert view["pid"] != orphan.pid
            sleepers = [
                p
                for p in psutil.process_iter(["cmdline", "environ"])
                if p.info["cmdline"] == ["sleep", "300"]
                and (p.info["environ"] or {}).get("GAIA_HOME") == str(home)
            ]
            assert [p.pid for p in sleepers] == [view["pid"]]
    finally:
        stop_server_checked(second)
        second.kill()


def test_a_start_that_dies_at_once_is_a_failure_with_its_log(daemon: Server) -> None:
    """Not `running`: the answer names the exit status and shows the log's last lines."""
    spec = {"name": "broken", "command": "echo 'cannot bind :80' >&2; exit 4"}
    with daemon.client() as client:
        assert client.post(API, json=spec).status_code == 201
        started = client.post(f"{API}/broken/start")
        assert started.status_code == 409, started.text  # never a bare 500
        message = started.json()["error"]["message"]
        assert "failed to start: exit status 4 within 0.2s of starting" in message
        assert message.endswith("last lines of its log:\ncannot bind :80")
        assert client.get(f"{API}/broken").json()["state"] == "failed"
