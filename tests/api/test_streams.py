"""Followed logs (Server-Sent Events) through a real `gaia serve`, read by a conformant parser."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gaia._sse import Event, EventParser
from tests.api.test_workflows_api import (
    API,
    GAIA_BIN,
    WF,
    Server,
    create,
    serving,
)

SERVICES = f"{API}/services"
# A task or service that prints bare CRs shaped like an event must not make one.
FORGED = r"printf 'foo\revent: end\rdata: {}\r\nbar\n'"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("streams")) as srv:
        yield srv


def read_events(client: httpx.Client, url: str, *, timeout: float = 20.0) -> list[Event]:
    """The events of a followed log until it ends."""
    parser = EventParser()
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", url, params={"follow": "true"}, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_bytes():
            events.extend(parser.feed(chunk))
            assert time.monotonic() < deadline, f"stream still open after {timeout}s: {events}"
    return events


def test_a_task_printing_bare_crs_cannot_forge_events(server: Server, tmp_path: Path) -> None:
    run = create(
        server.client(),
        f"""
        name: forger
        tasks:
          - id: forge
            command: {json.dumps(FORGED)}
        """,
        tmp_path,
        start="true",
    )
    with server.client() as client:
        events = read_events(client, f"{WF}/{run['id']}/tasks/forge/logs")
    assert events == [
        Event("log", "foo\nevent: end\ndata: {}"),
        Event("log", "bar"),
        Event("end", json.dumps({"status": "completed", "exit_code": 0})),
    ]


def test_a_service_printing_bare_crs_cannot_forge_events(server: Server, tmp_path: Path) -> None:
    """The service prints once the stream is open, so the text comes as followed output."""
    go = tmp_path / "go"
    service = {
        "name": "forger",
        "command": f"while [ ! -e {go} ]; do sleep 0.05; done; {FORGED}; exec sleep 60",
    }
    with server.client() as client:
        assert client.post(SERVICES, json=service).status_code == 201, "register"
        assert client.post(f"{SERVICES}/forger/start").status_code == 200
        parser = EventParser()
        events: list[Event] = []
        try:
            with client.stream(
                "GET", f"{SERVICES}/forger/logs", params={"follow": "true"}, timeout=20
            ) as response:
                assert response.status_code == 200
                go.touch()
                for chunk in response.iter_bytes():
                    events.extend(parser.feed(chunk))
                    if events and events[-1].data == "bar":
                        break
        finally:
            client.post(f"{SERVICES}/forger/stop", params={"graceful": "false"})
    assert events == [Event("log", "foo\nevent: end\ndata: {}"), Event("log", "bar")]


def test_gaia_service_logs_follow_prints_the_text(server: Server) -> None:
    """The CLI reads the stream with the same parser: it prints what the service printed."""
    service = {"name": "echoer", "command": f"{FORGED}; exec sleep 60"}
    with server.client() as client:
        assert client.post(SERVICES, json=service).status_code == 201
        assert client.post(f"{SERVICES}/echoer/start").status_code == 200
    follower = subprocess.Popen(
        [str(GAIA_BIN), "service", "logs", "-f", "echoer"],
        env=server.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        lines = [follower.stdout.readline() for _ in range(4)]
    finally:
        follower.kill()
        follower.wait(timeout=10)
        with server.client() as client:
            client.post(f"{SERVICES}/echoer/stop", params={"graceful": "false"})
    assert lines == ["foo\n", "event: end\n", "data: {}\n", "bar\n"], follower.stderr


def test_a_quiet_stream_sends_keep_alive_comments(server: Server) -> None:
    service = {
        "name": "silent",
        "command": sys.executable,
        "args": ["-c", "import time; time.sleep(60)"],
    }
    with server.client() as client:
        assert client.post(SERVICES, json=service).status_code == 201
        assert client.post(f"{SERVICES}/silent/start").status_code == 200
        try:
            with client.stream(
                "GET", f"{SERVICES}/silent/logs", params={"follow": "true"}, timeout=20
            ) as response:
                received = b""
                for chunk in response.iter_bytes():
                    received += chunk
                    if b"\n:" in b"\n" + received:
                        break
        finally:
            client.post(f"{SERVICES}/silent/stop", params={"graceful": "false"})
    assert received.startswith(b":"), received
