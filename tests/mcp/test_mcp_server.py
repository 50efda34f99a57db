"""`gaia mcp` end to end: the MCP SDK's stdio client drives a real `gaia mcp` process,
which drives a real daemon (`gaia serve`), and each effect is checked through the REST API.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.api.test_workflows_api import GAIA_BIN, Server, gaia_env, serving
from tests.helpers import proc_gone, wait_until

API = "/api/orchestration"
TOOLS = {
    "workflow_run",
    "workflow_start",
    "workflow_status",
    "workflow_list",
    "workflow_task_log",
    "workflow_stop",
    "workflow_resume",
    "service_list",
    "service_start",
    "service_stop",
    "service_restart",
    "service_logs",
    "session_list",
    "session_send_keys",
    "session_capture",
    "agent_task_queue",
    "agent_task_get",
    "agent_list",
    "overview",
}


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Server]:
    """A daemon of its own per test: it uses this test's tmux socket (set in os.environ)."""
    with serving(tmp_path) as srv:
        yield srv


@pytest.fixture
def rest(daemon: Server) -> Iterator[httpx.Client]:
    with daemon.client() as client:
        yield client


@asynccontextmanager
async def mcp_session(daemon: Server, cwd: Path) -> AsyncIterator[ClientSession]:
    """A real `gaia mcp` subprocess in the daemon's GAIA_HOME, its stderr kept in a file
    and checked to hold no traceback."""
    errlog_path = cwd / "gaia-mcp.stderr"
    params = StdioServerParameters(command=str(GAIA_BIN), args=["mcp"], env=daemon.env, cwd=cwd)
    with errlog_path.open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session
    assert "Traceback" not in errlog_path.read_text()


async def call(session: ClientSession, tool: str, /, **arguments: Any) -> str:
    """The tool's text answer; the test fails with the message if it is a tool error."""
    result = await session.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert not result.is_error, f"{tool}({arguments}) failed: {text}"
    return text


async def call_json(session: ClientSession, tool: str, /, **arguments: Any) -> Any:
    return json.loads(await call(session, tool, **arguments))


async def tool_error(session: ClientSession, tool: str, /, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    text = "".join(getattr(block, "text", "") for block in result.content)
    assert result.is_error, f"{tool}({arguments}) did not fail: {text}"
    assert "Traceback" not in text
    return text


async def poll(
    session: ClientSession, tool: str, done: Any, /, timeout: float = 30.0, **args: Any
) -> Any:
    """Call ``tool`` until ``done(answer)``; fail after ``timeout`` with the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await call_json(session, tool, **args)
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"{tool}{args} never got there; last answer: {answer}")
        await anyio.sleep(0.1)


async def test_lists_every_tool_with_a_description_and_typed_arguments(
    daemon: Server, tmp_path: Path
) -> None:
    async with mcp_session(daemon, tmp_path) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) > 20, tool.name
    properties = tools["workflow_task_log"].input_schema["properties"]
    assert set(properties) == {"workflow_id", "task_id", "tail", "attempt"}
    assert tools["workflow_task_log"].input_schema["required"] == ["workflow_id", "task_id"]


WORKFLOW = textwrap.dedent(
    """
    name: mcp-demo
    tasks:
      - id: hello
        command: echo hello ${who} > hello.txt; cat hello.txt
      - id: second
        command: echo second
        dependencies: [hello]
    variables:
      who: nobody
    """
).lstrip()


async def test_a_workflow_from_yaml_and_from_a_file_runs_to_completion(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    async with mcp_session(daemon, tmp_path) as session:
        created = await call_json(
            session, "workflow_run", yaml=WORKFLOW, base_dir="work", variables={"who": "mcp"}
        )
        assert (created["name"], created["status"], created["tasks"]) == ("mcp-demo", "running", 2)
        run_id = created["id"]
        final = await poll(
            session,
            "workflow_status",
            lambda s: s["status"] not in ("pending", "running"),
            workflow_id=run_id,
        )
        assert final["status"] == "completed", final
        assert final["tasks"] == {"hello": "completed", "second": "completed"}
        log = await call(session, "workflow_task_log", workflow_id=run_id, task_id="hello")
        assert "hello mcp" in log

        # From a file (relative to where `gaia mcp` runs), created pending, then started.
        (tmp_path / "flow.yaml").write_text(WORKFLOW)
        pending = await call_json(session, "workflow_run", path="flow.yaml", start=False)
        assert pending["status"] == "pending"
        await call_json(session, "workflow_start", workflow_id=pending["id"])
        await poll(
            session,
            "workflow_status",
            lambda s: s["status"] == "completed",
            workflow_id=pending["id"],
        )
    # The same runs, as the REST API sees them; the first task really ran in base_dir.
    assert rest.get(f"{API}/workflows/{run_id}/status").json()["status"] == "completed"
    assert rest.get(f"{API}/workflows/{pending['id']}/status").json()["status"] == "completed"
    assert (work / "hello.txt").read_text() == "hello mcp\n"
    assert (tmp_path / "hello.txt").read_text() == "hello nobody\n"


async def test_a_run_is_stopped_and_resumed(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    flow = "name: slow\ntasks:\n  - id: wait\n    command: test -f go || sleep 300\n"
    async with mcp_session(daemon, tmp_path) as session:
        run_id = (await call_json(session, "workflow_run", yaml=flow))["id"]
        await poll(
            session,
            "workflow_status",
            lambda s: s["tasks"]["wait"] == "running",
            workflow_id=run_id,
        )
        await call_json(session, "workflow_stop", workflow_id=run_id)
        stopped = await poll(
            session,
            "workflow_status",
            lambda s: s["status"] not in ("pending", "running"),
            workflow_id=run_id,
        )
        assert stopped["status"] != "completed"
        (tmp_path / "go").touch()
        await call_json(session, "workflow_resume", workflow_id=run_id)
        await poll(
            session, "workflow_status", lambda s: s["status"] == "completed", workflow_id=run_id
        )
    assert rest.get(f"{API}/workflows/{run_id}/status").json()["status"] == "completed"


async def test_a_service_is_started_and_stopped(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    spec = {"name": "sleeper", "command": "echo up-and-running; exec sleep 300"}
    assert rest.post(f"{API}/services", content=json.dumps(spec)).status_code == 201
    async with mcp_session(daemon, tmp_path) as session:
        started = await call_json(session, "service_start", name="sleeper")
        assert started == {"name": "sleeper", "state": "running"}
        assert rest.get(f"{API}/services/sleeper").json()["state"] == "running"
        listed = await call_json(session, "service_list")
        assert [s["name"] for s in listed] == ["sleeper"]
        logs = ""
        deadline = time.monotonic() + 10
        while "up-and-running" not in logs and time.monotonic() < deadline:
            logs = await call(session, "service_logs", name="sleeper", lines=10)
        assert "up-and-running" in logs
        stopped = await call_json(session, "service_stop", name="sleeper")
        assert stopped["state"] == "stopped"
    assert rest.get(f"{API}/services/sleeper").json()["state"] == "stopped"


async def test_keys_sent_to_a_pane_show_in_its_capture(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    created = rest.post(f"{API}/sessions", json={"name": "mcp-pane", "project_path": str(tmp_path)})
    assert created.status_code == 201, created.text
    async with mcp_session(daemon, tmp_path) as session:
        names = [s["name"] for s in await call_json(session, "session_list")]
        assert "mcp-pane" in names
        await call_json(session, "session_send_keys", session="mcp-pane", keys="echo mcp-$((6*7))")
        captured = await poll(
            session,
            "session_capture",
            lambda c: "mcp-42" in json.dumps(c),
            session="mcp-pane",
        )
    assert "mcp-42" in json.dumps(captured)
    again = rest.get(f"{API}/sessions/mcp-pane/capture", params={"join": "true"})
    assert "mcp-42" in again.text


async def test_an_agent_task_is_queued_and_its_result_read(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    agent = {"id": "echoer", "command": ["sh", "-c", 'echo "did: $0" | tee did.txt', "{prompt}"]}
    assert rest.post(f"{API}/agents", json=agent).status_code == 201
    async with mcp_session(daemon, tmp_path) as session:
        queued = await call_json(
            session,
            "agent_task_queue",
            instruction="say hi",
            agent="echoer",
            isolation="none",
        )
        assert queued["status"] in ("queued", "running", "succeeded")
        done = await poll(
            session,
            "agent_task_get",
            lambda t: t["status"] not in ("queued", "running"),
            task_id=queued["id"],
        )
    assert done["status"] == "succeeded", done
    assert "did: say hi" in json.dumps(done["result"])
    assert (tmp_path / "did.txt").read_text() == "did: say hi\n"
    assert rest.get(f"{API}/agents/tasks/{queued['id']}").json()["status"] == "succeeded"


async def test_the_overview_counts_what_the_daemon_has(
    daemon: Server, rest: httpx.Client, tmp_path: Path
) -> None:
    for name in ("one", "two"):
        spec = {"name": name, "command": "exec sleep 300"}
        assert rest.post(f"{API}/services", content=json.dumps(spec)).status_code == 201
    async with mcp_session(daemon, tmp_path) as session:
        before = await call_json(session, "overview")
        await call_json(session, "service_start", name="one")
        after = await call_json(session, "overview")
        await call_json(session, "service_stop", name="one")
    assert before["summary"]["services"]["total"] == 2
    assert before["summary"]["services"]["by_state"].get("running", 0) == 0
    assert after["summary"]["services"]["by_state"]["running"] == 1
    assert set(after) == set(rest.get(f"{API}/overview").json())


async def test_bad_arguments_are_clear_tool_errors(daemon: Server, tmp_path: Path) -> None:
    async with mcp_session(daemon, tmp_path) as session:
        both = await tool_error(session, "workflow_run")
        assert "exactly one of `path`" in both
        missing = await tool_error(session, "workflow_status", workflow_id="nosuchrun")
        assert "nosuchrun" in missing
        broken = await tool_error(session, "workflow_run", yaml="name: broken\ntasks: [\n")
        assert "<request body>:3:1:" in broken and "YAML syntax error" in broken
        no_file = await tool_error(session, "workflow_run", path="missing.yaml")
        assert "missing.yaml" in no_file
        typed = await tool_error(session, "service_logs", name="x", lines="many")
        assert "lines" in typed
        unknown = await tool_error(session, "service_start", name="nosuchservice")
        assert "nosuchservice" in unknown
        # The server still answers after the errors.
        assert isinstance(await call_json(session, "service_list"), list)


async def test_with_no_daemon_running_the_first_call_starts_one(tmp_path: Path) -> None:
    """As `gaia service` commands do: the daemon is started in the background, once."""
    home = tmp_path / "gaia-home"
    home.mkdir()
    env = {**gaia_env(home), "GAIA_PORT": "0"}  # never the default port, which may be taken
    params = StdioServerParameters(command=str(GAIA_BIN), args=["mcp"], env=env, cwd=tmp_path)
    pid = 0
    try:
        with (tmp_path / "gaia-mcp.stderr").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                overview = await call_json(session, "overview")
                pid = json.loads((home / "daemon.json").read_text())["pid"]
                assert psutil.pid_exists(pid)
                assert "summary" in overview
                # The second call uses the same daemon.
                await call_json(session, "service_list")
                assert json.loads((home / "daemon.json").read_text())["pid"] == pid
        # The daemon outlives the MCP server, as it outlives a `gaia service` command.
        assert not proc_gone(psutil.Process(pid))
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            wait_until(
                lambda: proc_gone(psutil.Process(pid)) if psutil.pid_exists(pid) else True,
                timeout=30,
                what="the daemon started by gaia mcp to exit",
            )
    assert "Traceback" not in (tmp_path / "gaia-mcp.stderr").read_text()
