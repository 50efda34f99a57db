"""The workflow REST API, end to end through a real `gaia serve` subprocess on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.helpers import proc_gone, wait_until

GAIA_BIN = Path(sys.executable).parent / "gaia"
API = "/api/orchestration"
WF = f"{API}/workflows"
YAML = {"content-type": "application/yaml"}
SERVING = re.compile(r"serving (http://127\.0\.0\.1:(\d+))")


# -- helpers -------------------------------------------------------------------------


def task_processes(run_id: str, name: str | None = None) -> list[psutil.Process]:
    """Live processes started for ``run_id`` (found by the GAIA_WORKFLOW_ID they inherit)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("GAIA_WORKFLOW_ID") != run_id or proc_gone(proc):
                continue
            if name is None or (proc.cmdline()[:1] == [name]):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def kill_leftover_tasks(home: Path) -> None:
    """SIGKILL task processes a daemon under ``home`` left behind (only after a failure)."""
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            env = proc.environ()
            if env.get("GAIA_HOME") == str(home) and "GAIA_WORKFLOW_ID" in env:
                proc.kill()


def gaia_env(home: Path) -> dict[str, str]:
    # GAIA_TMUX_SOCKET is the test's own tmux server (set by the autouse fixture).
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    # A module-scoped server has no test's socket: it gets one nobody else uses.
    env["GAIA_TMUX_SOCKET"] = os.environ.get("GAIA_TMUX_SOCKET", f"gaia-test-{os.getpid()}-api")
    env["GAIA_HOME"] = str(home)
    env["GAIA_KILL_GRACE_PERIOD"] = "1s"
    env["GAIA_HEARTBEAT_INTERVAL"] = "0.2s"
    env["COLUMNS"] = "200"
    return env


@dataclass
class Server:
    """A running `gaia serve --port 0` and what it printed."""

    proc: subprocess.Popen[str]
    home: Path
    env: dict[str, str]
    url: str = ""
    port: int = 0
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def token(self) -> str:
        return (self.home / "token").read_text(encoding="utf-8").strip()

    def client(self, token: str | None = "default") -> httpx.Client:
        headers = {}
        if token == "default":
            token = self.token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=10.0, trust_env=False)

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the daemon and wait (bounded) for it; None if it did not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            for thread in self._threads:
                thread.join(timeout=2)
        return code

    def kill(self) -> None:
        """SIGKILL the daemon if it still runs, and any task process it left behind."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        for thread in self._threads:
            thread.join(timeout=2)
        kill_leftover_tasks(self.home)


def start_server(home: Path, env: dict[str, str], timeout: float = 15.0) -> Server:
    proc = subprocess.Popen(
        [str(GAIA_BIN), "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server(proc=proc, home=home, env=env)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: Any, sink: list[str], notify: bool) -> None:
        for line in stream:
            sink.append(line)
            if notify:
                lines.put(line)
        if notify:
            lines.put(None)

    for stream, sink, notify in (
        (proc.stdout, server.stdout, True),
        (proc.stderr, server.stderr, False),
    ):
        thread = threading.Thread(target=pump, args=(stream, sink, notify), daemon=True)
        thread.start()
        server._threads.append(thread)

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            server.kill()
            raise AssertionError(f"gaia serve printed no URL in {timeout}s: {server.stdout}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            server.kill()
            raise AssertionError(f"gaia serve exited early: {''.join(server.stderr)}")
        match = SERVING.search(line)
        if match:
            server.url, server.port = match.group(1), int(match.group(2))
            return server


def stop_server_checked(server: Server) -> None:
    """SIGTERM the daemon: it must exit 0 within 10 s and say 'gaia stopped'."""
    code = server.terminate(timeout=10.0)
    if code is None:
        server.kill()
    out = "".join(server.stdout)
    assert code is not None, "gaia serve did not exit within 10 s of SIGTERM"
    assert code == 0, f"gaia serve exited with {code} on SIGTERM, expected 0; stdout={out!r}"
    assert "gaia stopped" in out
    assert "Traceback" not in "".join(server.stderr)


def body(text: str) -> bytes:
    return textwrap.dedent(text).lstrip("\n").encode()


# -- fixtures ------------------------------------------------------------------------


@contextlib.contextmanager
def serving(base: Path) -> Iterator[Server]:
    """A daemon in ``base/gaia-home``, stopped with SIGTERM at the end and checked to have
    exited cleanly, without a traceback on its stderr."""
    home = base / "gaia-home"
    home.mkdir()
    srv = start_server(home, gaia_env(home))
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One daemon for the module, in its own GAIA_HOME, stopped with SIGTERM at the end."""
    with serving(tmp_path_factory.mktemp("api")) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The base_dir tasks run in (and where they leave marker files)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def create(client: httpx.Client, text: str, workdir: Path, **params: Any) -> dict[str, Any]:
    response = client.post(
        WF, content=body(text), headers=YAML, params={"base_dir": str(workdir), **params}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def wait_status(
    client: httpx.Client, run_id: str, statuses: set[str], timeout: float = 10.0
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def check() -> bool:
        nonlocal last
        response = client.get(f"{WF}/{run_id}/status")
        assert response.status_code == 200, response.text
        last = response.json()
        return last["status"] in statuses

    try:
        wait_until(check, timeout=timeout, what=f"run {run_id} to become {statuses}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {last}") from None
    return last


HELLO = """
    name: hello
    variables:
      who: world
    tasks:
      - id: hello
        command: echo hello ${who}
      - id: second
        command: echo second
        dependencies: [hello]
"""

PLACEHOLDER = "0123456789abcdef"
ROUTES = [
    ("GET", WF),
    ("POST", WF),
    ("GET", f"{WF}/{PLACEHOLDER}"),
    ("GET", f"{WF}/{PLACEHOLDER}/status"),
    ("POST", f"{WF}/{PLACEHOLDER}/start"),
    ("POST", f"{WF}/{PLACEHOLDER}/resume"),
    ("POST", f"{WF}/{PLACEHOLDER}/stop"),
    ("GET", f"{WF}/{PLACEHOLDER}/tasks/hello"),
    ("GET", f"{WF}/{PLACEHOLDER}/tasks/hello/logs"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
]


# -- security ------------------------------------------------------------------------


def test_health_needs_no_token(server: Server) -> None:
    """GET /health answers 200 {"status": "ok"} without any token."""
    with server.client(token=None) as anon:
        response = anon.get(f"{API}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_route_without_token_is_unauthorized(server: Server, method: str, path: str) -> None:
    """Every route except health answers 401 with error code 'unauthorized' without a token."""
    with server.client(token=None) as anon:
        response = anon.request(method, path, content=b"name: x", headers=YAML)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_route_with_wrong_token_is_unauthorized(server: Server, method: str, path: str) -> None:
    """Every route except health answers 401 to a wrong bearer token."""
    with server.client(token="not-the-token") as wrong:
        response = wrong.request(method, path, content=b"name: x", headers=YAML)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "localhost.evil.example", "127.0.0.1.evil.example"],
)
@pytest.mark.parametrize("path", [f"{API}/health", WF])
def test_foreign_host_header_is_forbidden(server: Server, host: str, path: str) -> None:
    """A Host header that does not name localhost gets 403 even with a valid token."""
    with server.client() as c:
        response = c.get(path, headers={"Host": host.format(port=server.port)})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden_host"


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "https://evil.example:{port}",
        "http://localhost.evil.example",
        "http://127.0.0.1@evil.example",
    ],
)
@pytest.mark.parametrize("path", [f"{API}/health", WF])
def test_foreign_origin_is_forbidden(server: Server, origin: str, path: str) -> None:
    """A non-localhost Origin gets 403 even with a valid token."""
    with server.client() as c:
        response = c.get(path, headers={"Origin": origin.format(port=server.port)})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden_origin"


@pytest.mark.parametrize(
    "origin", ["http://localhost:{port}", "http://127.0.0.1:{port}", "http://[::1]:{port}"]
)
def test_localhost_origin_is_allowed(server: Server, origin: str) -> None:
    """A localhost Origin (and Host: localhost:PORT) passes the checks when the token is valid."""
    headers = {"Origin": origin.format(port=server.port), "Host": f"localhost:{server.port}"}
    with server.client() as c:
        response = c.get(WF, headers=headers)
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list)


def test_query_token_only_accepted_for_log_reads(
    server: Server, client: httpx.Client, workdir: Path
) -> None:
    """?token= authenticates GET .../logs (for EventSource) but no other API route."""
    run = create(client, HELLO, workdir, start="true")
    wait_status(client, run["id"], {"completed"})
    with server.client(token=None) as anon:
        logs = anon.get(f"{WF}/{run['id']}/tasks/hello/logs", params={"token": server.token})
        assert logs.status_code == 200, logs.text
        assert logs.text == "hello world\n"
        bad = anon.get(f"{WF}/{run['id']}/tasks/hello/logs", params={"token": "nope"})
        assert bad.status_code == 401
        detail = anon.get(f"{WF}/{run['id']}", params={"token": server.token})
        assert detail.status_code == 401
        started = anon.post(f"{WF}/{run['id']}/resume", params={"token": server.token})
        assert started.status_code == 401


def test_openapi_and_docs_need_the_token(server: Server, client: httpx.Client) -> None:
    """/openapi.json and /docs are served with the token (header or ?token=) and list the API."""
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    assert f"{WF}/{{workflow_id}}/tasks/{{task_id}}/logs" in schema.json()["paths"]
    with server.client(token=None) as anon:
        docs = anon.get("/docs", params={"token": server.token})
        assert docs.status_code == 200
        assert "text/html" in docs.headers["content-type"]
        assert anon.get("/openapi.json", params={"token": server.token}).status_code == 200


# -- creating ------------------------------------------------------------------------


def test_create_from_yaml(client: httpx.Client, workdir: Path) -> None:
    """POST a YAML definition creates a pending run and returns id, name, status, task count."""
    created = create(client, HELLO, workdir)
    assert created["name"] == "hello"
    assert created["status"] == "pending"
    assert created["tasks"] == 2
    assert uuid.UUID(created["id"])
    detail = client.get(f"{WF}/{created['id']}").json()
    assert detail["status"] == "pending"
    assert [t["id"] for t in detail["tasks"]] == ["hello", "second"]
    assert detail["tasks"][1]["dependencies"] == ["hello"]
    assert detail["base_dir"] == str(workdir)


def test_create_from_json(client: httpx.Client, workdir: Path) -> None:
    """POST a JSON definition (application/json) creates a run too."""
    definition = {
        "name": "from-json",
        "tasks": [
            {"id": "a", "type": "shell", "agent": "system", "command": "echo a"},
            {"id": "b", "command": "echo b", "dependencies": ["a"]},
        ],
    }
    response = client.post(WF, json=definition, params={"base_dir": str(workdir), "start": "true"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "from-json"
    assert created["tasks"] == 2
    final = wait_status(client, created["id"], {"completed", "failed"})
    assert final["status"] == "completed"


def test_create_invalid_yaml_reports_line_and_column(client: httpx.Client) -> None:
    """A YAML syntax error answers 422 with details giving its line and column."""
    response = client.post(WF, content=b"name: broken\ntasks: [\n", headers=YAML)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "workflow_invalid"
    assert len(error["details"]) == 1
    problem = error["details"][0]
    assert isinstance(problem["line"], int)
    assert isinstance(problem["column"], int)
    assert problem["line"] >= 2
    assert problem["source"] == "<request body>"


def test_create_invalid_workflow_lists_every_problem(client: httpx.Client) -> None:
    """A workflow with several mistakes answers 422 listing each with its exact line and column."""
    text = """
        name: broken
        tasks:
          - id: a
            command: echo ${nope}
            dependencies: [zzz]
          - id: a
            command: echo dup
    """
    response = client.post(WF, content=body(text), headers=YAML)
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    located = {(d["line"], d["column"]): d["message"] for d in details}
    assert "undefined variable ${nope}" in located[(4, 19)]
    assert "unknown task 'zzz'" in located[(5, 20)]
    assert "duplicate task id 'a'" in located[(6, 5)]


@pytest.mark.parametrize("payload", [b"", b"   \n\n  "])
def test_create_with_empty_body_is_rejected(client: httpx.Client, payload: bytes) -> None:
    """An empty (or blank) body answers 422 with an error that says the body is empty."""
    response = client.post(WF, content=payload, headers=YAML)
    assert response.status_code == 422, response.text
    assert "empty body" in response.json()["error"]["message"]


def test_create_with_unknown_agent_is_rejected(client: httpx.Client) -> None:
    """A task naming an agent that is not available answers 422 pointing at the agent line."""
    text = """
        name: agents
        tasks:
          - id: think
            type: code
            agent: no-such-agent
            command: write the code
    """
    response = client.post(WF, content=body(text), headers=YAML)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "workflow_invalid"
    [problem] = error["details"]
    assert "no-such-agent" in problem["message"]
    assert (problem["line"], problem["column"]) == (5, 5)


def test_create_with_unsupported_content_type_is_rejected(client: httpx.Client) -> None:
    """A body that is neither YAML nor JSON (e.g. application/xml) answers 422."""
    response = client.post(WF, content=b"<workflow/>", headers={"content-type": "application/xml"})
    assert response.status_code == 422
    assert "unsupported content type" in response.json()["error"]["message"]


def test_create_with_broken_json_says_where(client: httpx.Client) -> None:
    """A JSON body that does not parse answers 422 naming JSON's error, line and column."""
    payload = b'{"name": "x",\n "tasks": [{"id": "a",}]}'
    response = client.post(WF, content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["details"]
    assert problem["message"] == (
        "workflow definition is not valid JSON: Expecting property name enclosed in double quotes"
    )
    assert (problem["line"], problem["column"]) == (2, 23)  # the "}" after a trailing comma


def test_var_override_reaches_the_command(client: httpx.Client, workdir: Path) -> None:
    """?var=who=value overrides the workflow variable in the command that runs."""
    run = create(client, HELLO, workdir, var="who=from-the-query", start="true")
    wait_status(client, run["id"], {"completed"})
    logs = client.get(f"{WF}/{run['id']}/tasks/hello/logs")
    assert logs.text == "hello from-the-query\n"
    assert client.get(f"{WF}/{run['id']}").json()["variables"] == {"who": "from-the-query"}


def test_create_with_start_true_runs_it(client: httpx.Client, workdir: Path) -> None:
    """?start=true answers status running and the run goes on to complete by itself."""
    marker = workdir / "started-marker"
    text = f"""
        name: auto-start
        tasks:
          - id: touch
            command: touch {marker}
    """
    run = create(client, text, workdir, start="true")
    assert run["status"] == "running"
    assert wait_status(client, run["id"], {"completed", "failed"})["status"] == "completed"
    assert marker.exists()


# -- reading -------------------------------------------------------------------------


def test_list_and_filter_by_status(client: httpx.Client, workdir: Path) -> None:
    """GET /workflows lists runs newest first and ?status= keeps only runs in that status."""
    done = create(client, HELLO, workdir, start="true")
    wait_status(client, done["id"], {"completed"})
    pending = create(client, HELLO, workdir)

    listed = client.get(WF).json()
    ids = [r["id"] for r in listed]
    assert ids.index(pending["id"]) < ids.index(done["id"])

    completed = client.get(WF, params={"status": "completed"}).json()
    assert done["id"] in [r["id"] for r in completed]
    assert pending["id"] not in [r["id"] for r in completed]
    assert {r["status"] for r in completed} == {"completed"}
    summary = next(r for r in completed if r["id"] == done["id"])
    assert summary["task_counts"] == {"completed": 2}

    pendings = client.get(WF, params={"status": "pending", "limit": 1000}).json()
    assert pending["id"] in [r["id"] for r in pendings]
    assert len(client.get(WF, params={"limit": 1}).json()) == 1


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("GET", "/status"),
        ("POST", "/start"),
        ("POST", "/resume"),
        ("POST", "/stop"),
        ("GET", "/tasks/hello"),
        ("GET", "/tasks/hello/logs"),
    ],
)
def test_unknown_workflow_is_not_found(client: httpx.Client, method: str, suffix: str) -> None:
    """Every per-run route answers 404 with error code not_found for an unknown run id."""
    response = client.request(method, f"{WF}/{uuid.uuid4()}{suffix}")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


def test_short_id_prefix_resolves(client: httpx.Client, workdir: Path) -> None:
    """A unique 8-character prefix of a run id works in place of the full id."""
    run = create(client, HELLO, workdir)
    detail = client.get(f"{WF}/{run['id'][:8]}")
    assert detail.status_code == 200
    assert detail.json()["id"] == run["id"]


def test_start_runs_to_completion_and_a_second_start_conflicts(
    client: httpx.Client, workdir: Path
) -> None:
    """POST /start answers 202, the run completes, and starting it again answers 409."""
    run = create(client, HELLO, workdir)
    response = client.post(f"{WF}/{run['id']}/start")
    assert response.status_code == 202, response.text
    assert response.json() == {"id": run["id"], "status": "running", "detail": "started"}
    final = wait_status(client, run["id"], {"completed", "failed"})
    assert final["status"] == "completed"
    assert final["tasks"] == {"hello": "completed", "second": "completed"}
    assert final["task_counts"] == {"completed": 2}

    again = client.post(f"{WF}/{run['id']}/start")
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
    resumed = client.post(f"{WF}/{run['id']}/resume")
    assert resumed.status_code == 409
    stopped = client.post(f"{WF}/{run['id']}/stop")
    assert stopped.status_code == 409


def test_task_detail_and_logs(client: httpx.Client, workdir: Path) -> None:
    """GET /tasks/{task} has the executions with exit codes; /logs returns what the task printed."""
    text = """
        name: details
        tasks:
          - id: talk
            command: printf 'line one\\nline two\\n'; echo to-stderr >&2
          - id: fails-ok
            command: echo failing; exit 7
            on_error: continue
    """
    run = create(client, text, workdir, start="true")
    final = wait_status(client, run["id"], {"completed", "failed"})
    assert final["status"] == "completed", final

    task = client.get(f"{WF}/{run['id']}/tasks/talk").json()
    assert task["workflow_id"] == run["id"]
    assert task["status"] == "completed"
    assert task["exit_code"] == 0
    assert task["attempts"] == 1
    [execution] = task["executions"]
    assert execution["attempt"] == 1
    assert execution["exit_code"] == 0
    assert execution["status"] == "completed"
    assert isinstance(execution["pid"], int)

    failed = client.get(f"{WF}/{run['id']}/tasks/fails-ok").json()
    assert failed["status"] == "failed"
    assert failed["exit_code"] == 7
    assert failed["executions"][0]["exit_code"] == 7
    assert "status 7" in failed["error"]

    logs = client.get(f"{WF}/{run['id']}/tasks/talk/logs")
    assert logs.status_code == 200
    assert logs.headers["content-type"].startswith("text/plain")
    assert logs.text == "line one\nline two\nto-stderr\n"
    assert client.get(f"{WF}/{run['id']}/tasks/talk/logs", params={"tail": 1}).text == (
        "to-stderr\n"
    )
    first = client.get(f"{WF}/{run['id']}/tasks/fails-ok/logs", params={"attempt": 1})
    assert first.text == "failing\n"


def test_unknown_task_is_not_found(client: httpx.Client, workdir: Path) -> None:
    """GET /tasks/{unknown} and its /logs answer 404 not_found for an existing run."""
    run = create(client, HELLO, workdir)
    for path in (f"{WF}/{run['id']}/tasks/nope", f"{WF}/{run['id']}/tasks/nope/logs"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    followed = client.get(f"{WF}/{run['id']}/tasks/nope/logs", params={"follow": "true"})
    assert followed.status_code == 404


def test_follow_logs_streams_server_sent_events(client: httpx.Client, workdir: Path) -> None:
    """logs?follow=true streams each line as `event: log` while the task runs, then `event: end`."""
    text = """
        name: ticker
        tasks:
          - id: ticker
            command: for i in 1 2 3 4; do echo line$i; sleep 0.3; done
    """
    run = create(client, text, workdir, start="true")
    received: list[tuple[float, str]] = []
    deadline = time.monotonic() + 15
    url = f"{WF}/{run['id']}/tasks/ticker/logs"
    with client.stream("GET", url, params={"follow": "true"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_text():
            received.append((time.monotonic(), chunk))
            assert time.monotonic() < deadline, "the event stream did not end"
    stream = "".join(chunk for _, chunk in received)
    events = [e for e in stream.split("\n\n") if e]
    parsed = []
    for event in events:
        kind_line, data_line = event.split("\n")
        parsed.append((kind_line.removeprefix("event: "), data_line.removeprefix("data: ")))
    logs = [data for kind, data in parsed if kind == "log"]
    assert logs == ["line1", "line2", "line3", "line4"]
    assert parsed[-1][0] == "end"
    assert json.loads(parsed[-1][1]) == {"status": "completed", "exit_code": 0}
    first_line_at = next(t for t, chunk in received if "line1" in chunk)
    end_at = next(t for t, chunk in received if "event: end" in chunk)
    assert end_at - first_line_at > 0.4, "lines were not streamed while the task ran"


# -- stop and resume -----------------------------------------------------------------


def test_stop_cancels_a_running_workflow_and_kills_its_process(
    client: httpx.Client, workdir: Path
) -> None:
    """POST /stop answers 202, the run becomes cancelled within seconds and its sleep is gone."""
    text = """
        name: stoppable
        tasks:
          - id: nap
            command: sleep 30
          - id: after
            command: echo never
            dependencies: [nap]
    """
    run = create(client, text, workdir, start="true")
    [sleeper] = wait_until(lambda: task_processes(run["id"], "sleep"), what="the sleep to start")
    started = time.monotonic()
    response = client.post(f"{WF}/{run['id']}/stop")
    assert response.status_code == 202, response.text
    assert response.json()["id"] == run["id"]
    final = wait_status(client, run["id"], {"cancelled", "failed", "completed"}, timeout=5)
    assert final["status"] == "cancelled"
    assert time.monotonic() - started < 5
    assert final["tasks"] == {"nap": "cancelled", "after": "cancelled"}
    wait_until(lambda: proc_gone(sleeper), timeout=3, what="the sleep process to die")
    assert task_processes(run["id"]) == []


def test_stop_a_pending_workflow_cancels_it(client: httpx.Client, workdir: Path) -> None:
    """POST /stop on a run nobody started cancels it at once (detail 'cancelled')."""
    run = create(client, HELLO, workdir)
    response = client.post(f"{WF}/{run['id']}/stop")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    assert response.json()["detail"] == "cancelled"
    assert client.post(f"{WF}/{run['id']}/start").status_code == 409


def test_resume_reruns_only_what_did_not_complete(client: httpx.Client, workdir: Path) -> None:
    """POST /resume on a cancelled run completes it without re-running its completed tasks."""
    marker = workdir / "go-on"
    counter = workdir / "first-ran"
    text = f"""
        name: resumable
        tasks:
          - id: first
            command: echo ran >> {counter}
          - id: slow
            command: test -f {marker} || sleep 30
            dependencies: [first]
    """
    run = create(client, text, workdir, start="true")
    wait_until(lambda: task_processes(run["id"], "sleep"), what="the slow task to start")
    assert client.post(f"{WF}/{run['id']}/stop").status_code == 202
    stopped = wait_status(client, run["id"], {"cancelled", "failed", "completed"}, timeout=5)
    assert stopped["status"] == "cancelled"
    assert stopped["tasks"] == {"first": "completed", "slow": "cancelled"}

    marker.touch()
    response = client.post(f"{WF}/{run['id']}/resume")
    assert response.status_code == 202, response.text
    assert response.json()["detail"] == "resumed"
    final = wait_status(client, run["id"], {"completed", "failed", "cancelled"})
    assert final["status"] == "completed"

    detail = client.get(f"{WF}/{run['id']}").json()
    attempts = {t["id"]: t["attempts"] for t in detail["tasks"]}
    assert attempts == {"first": 1, "slow": 2}
    assert counter.read_text() == "ran\n"
    slow = client.get(f"{WF}/{run['id']}/tasks/slow").json()
    assert [(e["attempt"], e["status"]) for e in slow["executions"]] == [
        (1, "cancelled"),
        (2, "completed"),
    ]
    assert slow["executions"][1]["exit_code"] == 0


# -- secrets -------------------------------------------------------------------------


def test_env_values_never_appear_in_responses(client: httpx.Client, workdir: Path) -> None:
    """Task and workflow env values reach the process but no API response; env_keys names them."""
    secret, wf_secret = "s3cr3t-value", "w0rkfl0w-s3cr3t"
    seen = workdir / "seen-env"
    text = f"""
        name: secretive
        env:
          BAR: {wf_secret}
        tasks:
          - id: uses-secret
            command: printf '%s|%s' "$FOO" "$BAR" > {seen}
            env:
              FOO: {secret}
    """
    run = create(client, text, workdir, start="true")
    final = wait_status(client, run["id"], {"completed", "failed"})
    assert final["status"] == "completed", final
    assert seen.read_text() == f"{secret}|{wf_secret}"  # the values did reach the process

    responses = {
        "created": client.post(
            WF, content=body(text), headers=YAML, params={"base_dir": str(workdir)}
        ),
        "detail": client.get(f"{WF}/{run['id']}"),
        "status": client.get(f"{WF}/{run['id']}/status"),
        "list": client.get(WF),
        "task": client.get(f"{WF}/{run['id']}/tasks/uses-secret"),
        "logs": client.get(f"{WF}/{run['id']}/tasks/uses-secret/logs"),
    }
    for name, response in responses.items():
        assert response.status_code in (200, 201), name
        assert secret not in response.text, f"{name} leaks the task env value"
        assert wf_secret not in response.text, f"{name} leaks the workflow env value"
    task = responses["task"].json()
    assert task["env_keys"] == ["FOO"]
    [detail_task] = responses["detail"].json()["tasks"]
    assert detail_task["env_keys"] == ["FOO"]


# -- daemon shutdown -----------------------------------------------------------------


def test_sigterm_stops_the_daemon_with_exit_0(gaia_home: Path, cli_env: dict[str, str]) -> None:
    """SIGTERM makes `gaia serve` shut down, print 'gaia stopped' and exit with status 0."""
    srv = start_server(gaia_home, cli_env)
    try:
        with srv.client(token=None) as anon:
            assert anon.get(f"{API}/health").status_code == 200
        stop_server_checked(srv)
    finally:
        srv.kill()


def test_sigterm_interrupts_a_running_workflow(
    gaia_home: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """SIGTERM to the daemon marks its still-running workflow interrupted and kills its task."""
    srv = start_server(gaia_home, cli_env)
    try:
        with srv.client() as c:
            run = create(
                c,
                """
                name: long
                tasks:
                  - id: nap
                    command: sleep 30
                """,
                tmp_path,
                start="true",
            )
        [sleeper] = wait_until(lambda: task_processes(run["id"], "sleep"), what="sleep to start")
        code = srv.terminate(timeout=10.0)
        assert code is not None, "gaia serve did not exit within 10 s of SIGTERM"
        wait_until(lambda: proc_gone(sleeper), timeout=3, what="the sleep process to die")
    finally:
        srv.kill()  # only finds something to kill if a check above failed
    shown = subprocess.run(
        [str(GAIA_BIN), "workflow", "show", run["id"], "--json"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["status"] == "interrupted"
    assert "daemon stopped" in detail["error"]
    assert detail["tasks"][0]["status"] == "cancelled"


def test_daemon_logged_no_errors(server: Server, client: httpx.Client) -> None:
    """After every request above the shared daemon is healthy and printed no traceback."""
    assert client.get(f"{API}/health").json()["status"] == "ok"
    stderr = "".join(server.stderr)
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    # Kept last: the module's daemon is stopped (and checked) right after this test.
