"""A daemon asked to stop ends the requests that only wait, through a real `gaia serve`."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import httpx

from gaia._sse import EventParser
from tests.api.test_agents_api import API as AGENTS_API
from tests.api.test_agents_api import make_client, running_daemon
from tests.api.test_workflows_api import WF, create, gaia_env, start_server
from tests.helpers import wait_until

SERVICES = "/api/orchestration/services"
STOPPING = {"reason": "the gaia daemon is stopping"}


def follow(client: httpx.Client, url: str, events: list[tuple[str, str]]) -> None:
    """Collect the (event, data) pairs of a Server-Sent Events stream until it ends."""
    with client.stream("GET", url, params={"follow": "true"}, timeout=30) as response:
        assert response.status_code == 200, response.read()
        parser = EventParser()
        for chunk in response.iter_bytes():
            events.extend((event.event, event.data) for event in parser.feed(chunk))


def test_sigterm_ends_followed_logs_at_once(tmp_path: Path) -> None:
    """Followed task and service logs end with a 'stopping' event; the daemon exits in seconds."""
    home = tmp_path / "gaia-home"
    home.mkdir()
    server = start_server(home, gaia_env(home))
    try:
        client = server.client()
        run = create(
            client,
            """
            name: long
            tasks:
              - id: ticker
                command: while true; do echo tick; sleep 0.2; done
            """,
            tmp_path,
            start="true",
        )
        service = {
            "name": "talker",
            "command": sys.executable,
            "args": ["-u", "-c", "import time\nwhile True: print('hello'); time.sleep(0.2)"],
        }
        assert client.post(SERVICES, content=json.dumps(service)).status_code == 201
        assert client.post(f"{SERVICES}/talker/start").status_code == 200

        task_events: list[tuple[str, str]] = []
        service_events: list[tuple[str, str]] = []
        followers = [
            threading.Thread(
                target=follow,
                args=(server.client(), f"{WF}/{run['id']}/tasks/ticker/logs", task_events),
            ),
            threading.Thread(
                target=follow,
                args=(server.client(), f"{SERVICES}/talker/logs", service_events),
            ),
        ]
        for thread in followers:
            thread.start()
        wait_until(
            lambda: ("log", "tick") in task_events and ("log", "hello") in service_events,
            timeout=15,
            what="both streams to carry output",
        )

        started = time.monotonic()
        code = server.terminate(timeout=20)
        stopped_in = time.monotonic() - started
        for thread in followers:
            thread.join(timeout=10)
            assert not thread.is_alive(), "a followed log did not end"
    finally:
        server.kill()
    assert code == 0, "".join(server.stderr)
    # uvicorn would otherwise wait for the streams, up to its 30 s graceful-shutdown limit.
    assert stopped_in < 5, f"the daemon took {stopped_in:.1f} s to stop"
    for events in (task_events, service_events):
        kind, data = events[-1]
        assert (kind, json.loads(data)) == ("end", STOPPING)
    assert "Traceback" not in "".join(server.stderr)


def test_sigterm_answers_a_waiting_execute_with_503(tmp_path: Path) -> None:
    """POST /agents/execute waiting on a running task answers 503 'stopping' at once."""
    answers: list[httpx.Response] = []
    work = tmp_path / "work"
    work.mkdir()
    with running_daemon(tmp_path, checked=False) as daemon:
        client = make_client(daemon.server)
        body = {"agent": "slow", "instruction": "x", "work_dir": str(work), "isolation": "none"}
        waiter = threading.Thread(
            target=lambda: answers.append(client.post(f"{AGENTS_API}/execute", json=body))
        )
        waiter.start()
        wait_until(
            lambda: any(t["status"] == "running" for t in client.get(f"{AGENTS_API}/tasks").json()),
            timeout=15,
            what="the agent task to run",
        )
        started = time.monotonic()
        code = daemon.server.terminate(timeout=20)
        stopped_in = time.monotonic() - started
        waiter.join(timeout=10)
        assert not waiter.is_alive(), "the execute request did not end"
    assert code == 0, "".join(daemon.server.stderr)
    # 1 s of agent_close_grace for the running task; uvicorn alone would wait 30 s.
    assert stopped_in < 6, f"the daemon took {stopped_in:.1f} s to stop"
    [answer] = answers
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "stopping"
    assert "gaia is stopping before task" in error["message"]
    assert "Traceback" not in "".join(daemon.server.stderr)
