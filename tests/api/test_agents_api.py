"""Agent routes through one real `gaia serve` on 127.0.0.1, with shell one-liners as agents."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.agents.support import agent_processes, git, kill_leftover_agents
from tests.api.test_workflows_api import Server, start_server, stop_server_checked
from tests.helpers import known_shell_home, proc_gone, wait_until

API = "/api/orchestration/agents"
SECRET_KEY = "GAIA_TEST_AGENT_SECRET"
SECRET = "s3cr3t-agent-value-9b4e"
COOKIE_ENV = "GAIA_PROC_COOKIE"
COMMAND_TYPES = ["code", "refactor", "review", "test"]

# The agents of the daemon's config.toml; each command is an argv template.
AGENTS: dict[str, dict[str, Any]] = {
    "fake": {"command": ["sh", "-c", 'echo "$0" > out.txt; echo done', "{prompt}"]},
    "lazy": {"command": ["sh", "-c", 'sleep 1; echo "$0" > out.txt; echo done', "{prompt}"]},
    "slow": {"command": ["sh", "-c", "echo started; sleep 30", "{prompt}"]},
    "single": {"command": ["sh", "-c", "sleep 30", "{prompt}"], "max_concurrency": 1},
    "failing": {"command": ["sh", "-c", "echo partial; echo broken >&2; exit 3", "{prompt}"]},
    "ghost": {"command": ["/nonexistent/gaia-test-agent", "{prompt}"]},
    "keeper": {
        "command": ["sh", "-c", f'printf %s "${SECRET_KEY}" > secret.txt; echo kept', "{prompt}"],
        "env": {SECRET_KEY: SECRET},
    },
}


def toml_value(value: Any) -> str:
    """A TOML value: JSON strings, numbers and arrays are TOML too; tables are inline."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def write_config(home: Path, agents: dict[str, dict[str, Any]]) -> None:
    lines = []
    for name, table in agents.items():
        lines.append(f"[agents.{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in table.items()]
        lines.append("")
    (home / "config.toml").write_text("\n".join(lines), encoding="utf-8")


@dataclass
class Daemon:
    server: Server
    socket: str


def daemon_env(base: Path, home: Path, socket: str) -> dict[str, str]:
    # Pane shells and git get an empty HOME: no user dotfiles, no global git identity.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(known_shell_home(base / "user-home"))
    env.update(
        GAIA_HOME=str(home),
        GAIA_TMUX_SOCKET=socket,
        GAIA_KILL_GRACE_PERIOD="1s",
        GAIA_HEARTBEAT_INTERVAL="0.2s",
        GAIA_AGENT_CLOSE_GRACE="1s",
        COLUMNS="200",
    )
    return env


@contextlib.contextmanager
def running_daemon(base: Path, *, checked: bool = True) -> Iterator[Daemon]:
    """A `gaia serve` with AGENTS configured, on its own tmux socket killed afterwards."""
    socket = f"gaia-test-agents-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    home = base / "gaia-home"
    home.mkdir(parents=True)
    write_config(home, AGENTS)
    srv = start_server(home, daemon_env(base, home, socket))
    try:
        yield Daemon(srv, socket)
    finally:
        try:
            if checked:
                stop_server_checked(srv)
        finally:
            srv.kill()
            kill_leftover_agents(home)
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
            sockets = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
            (sockets / socket).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for the module, stopped with SIGTERM at the end."""
    with running_daemon(tmp_path_factory.mktemp("agents-api")) as d:
        yield d


def _no_secret(response: httpx.Response) -> None:
    response.read()
    where = f"{response.request.method} {response.request.url}"
    assert SECRET not in response.text, f"environment value leaked by {where}"


def make_client(server: Server) -> httpx.Client:
    """An authorized client that fails any request whose response shows SECRET."""
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=60.0,
        trust_env=False,
        event_hooks={"response": [_no_secret]},
    )


@pytest.fixture(scope="module")
def client(daemon: Daemon) -> Iterator[httpx.Client]:
    with make_client(daemon.server) as c:
        yield c


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch directory (not a git repository) that agents run in."""
    path = tmp_path / "work"
    path.mkdir()
    return path.resolve()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit (README.md and sub/keep.txt) on branch main."""
    path = (tmp_path / "repo").resolve()
    (path / "sub").mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "README.md").write_text("hello\n")
    (path / "sub" / "keep.txt").write_text("keep\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def execute(client: httpx.Client, expect: int = 200, **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/execute", json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def register(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post(API, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The JSON error of a response that must have ``status``, checked for its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert set(body) - {"instance"} == {"type", "title", "status", "detail", "error"}
    assert body["status"] == status
    assert set(body["error"]) == {"code", "message", "details"}
    error: dict[str, Any] = body["error"]
    return error


def wait_task(
    client: httpx.Client, task_id: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def check() -> bool:
        nonlocal last
        response = client.get(f"{API}/tasks/{task_id}")
        assert response.status_code == 200, response.text
        last = response.json()
        return last["status"] in statuses

    try:
        wait_until(check, timeout=timeout, what=f"task {task_id} to become {statuses}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last view: {last}") from None
    return last


def sleeping(task_id: str) -> list[psutil.Process]:
    """The task's processes once its `sleep 30` runs (empty until then)."""
    procs = agent_processes(task_id)
    names = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            names.append(proc.cmdline()[:2])
    return procs if ["sleep", "30"] in names else []


PLACEHOLDER = "0123456789abcdef"
ROUTES = [
    ("GET", API),
    ("POST", API),
    ("GET", f"{API}/stats"),
    ("POST", f"{API}/execute"),
    ("POST", f"{API}/execute-parallel"),
    ("GET", f"{API}/tasks"),
    ("GET", f"{API}/tasks/{PLACEHOLDER}"),
    ("POST", f"{API}/tasks/{PLACEHOLDER}/cancel"),
    ("GET", f"{API}/fake"),
    ("DELETE", f"{API}/fake"),
]


# -- security --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_agent_route_needs_the_token(
    daemon: Daemon, client: httpx.Client, method: str, path: str, work: Path
) -> None:
    """Each agents route answers 401 'unauthorized' without a token and with a wrong one."""
    body = {"agent": "fake", "instruction": "anonymous", "work_dir": str(work), "id": "anon"}
    for token in (None, "not-the-token"):
        with daemon.server.client(token=token) as anonymous:
            response = anonymous.request(method, path, json=body)
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
    assert not (work / "out.txt").exists()
    assert client.get(f"{API}/fake").status_code == 200
    assert client.get(f"{API}/anon").status_code == 404


def test_environment_values_are_never_returned(client: httpx.Client, work: Path) -> None:
    """An agent's env reaches its process, but no agent, task or stats view shows its value."""
    listed = client.get(API)
    assert listed.status_code == 200
    [keeper] = [a for a in listed.json() if a["id"] == "keeper"]
    assert "env" not in keeper
    assert client.get(f"{API}/keeper").status_code == 200

    task = execute(
        client, agent="keeper", instruction="keep it", work_dir=str(work), isolation="none"
    )
    assert task["status"] == "succeeded", task
    assert task["result"]["output"] == "kept\n"
    assert (work / "secret.txt").read_text() == SECRET  # the value did reach the agent
    for path in (f"{API}/tasks/{task['id']}", f"{API}/tasks", f"{API}/stats"):
        response = client.get(path)
        assert response.status_code == 200
        assert SECRET not in response.text

    name = unique("secretive")
    view = register(client, id=name, command=["true"], env={SECRET_KEY: SECRET})
    assert "env" not in view
    assert SECRET not in client.get(API).text
    assert client.delete(f"{API}/{name}").status_code == 200


# -- the registry ----------------------------------------------------------------------


def test_list_shows_system_and_configured_agents_with_availability(client: httpx.Client) -> None:
    """The system agent comes first, then config.toml's; a missing command is unavailable."""
    response = client.get(API)
    assert response.status_code == 200, response.text
    agents = {a["id"]: a for a in response.json()}
    assert response.json()[0]["id"] == "system"
    assert set(AGENTS) | {"system"} <= set(agents)

    system = agents["system"]
    assert (system["kind"], system["command"], system["available"]) == (
        "system",
        ["/bin/sh"],
        True,
    )
    assert system["capabilities"] == ["shell", "test"]

    fake = agents["fake"]
    assert fake["kind"] == "command" and fake["source"] == "config"
    assert fake["command"] == AGENTS["fake"]["command"]
    assert fake["available"] is True
    assert fake["executable"] is not None and fake["executable"].endswith("/sh")
    assert fake["capabilities"] == COMMAND_TYPES
    assert (fake["max_concurrency"], fake["timeout"], fake["model"]) == (2, None, None)
    assert agents["single"]["max_concurrency"] == 1

    ghost = agents["ghost"]
    assert (ghost["available"], ghost["executable"]) == (False, None)
    assert ghost["command"] == ["/nonexistent/gaia-test-agent", "{prompt}"]


def test_system_agent_is_listed_as_builtin(client: httpx.Client) -> None:
    """The always-present system agent is built in, not from config.toml (there is none)."""
    [system] = [a for a in client.get(API).json() if a["id"] == "system"]
    assert system["source"] == "builtin"


def test_get_agent_and_unknown_agent_is_404(client: httpx.Client) -> None:
    """GET /agents/{id} shows one agent; an unknown id is 404 with the JSON error shape."""
    fake = client.get(f"{API}/fake")
    assert fake.status_code == 200
    assert fake.json()["id"] == "fake"
    assert client.get(f"{API}/ghost").json()["available"] is False

    error = error_of(client.get(f"{API}/nope"), 404)
    assert error["code"] == "not_found"
    assert error["message"].startswith("agent 'nope' is not registered (registered: system, ")
    assert error["details"] == {"kind": "agent", "id": "nope"}


def test_register_replace_and_unregister(client: httpx.Client, work: Path) -> None:
    """A registered command agent is listed and runs; a second POST is 409 unless replace."""
    name = unique("reg")
    command = ["sh", "-c", 'echo "registered $0"', "{prompt}"]
    view = register(client, id=name, command=command, max_concurrency=3, timeout="90s")
    assert (view["id"], view["kind"], view["source"]) == (name, "command", "api")
    assert (view["command"], view["available"]) == (command, True)
    assert (view["max_concurrency"], view["timeout"]) == (3, 90.0)
    assert view["capabilities"] == COMMAND_TYPES
    assert name in [a["id"] for a in client.get(API).json()]
    assert client.get(f"{API}/{name}").json() == view

    task = execute(client, agent=name, instruction="hi", work_dir=str(work), isolation="none")
    assert (task["status"], task["result"]["output"]) == ("succeeded", "registered hi\n")

    again = error_of(client.post(API, json={"id": name, "command": ["true"]}), 409)
    assert again["code"] == "conflict"
    assert f"agent {name!r} is already registered" in again["message"]
    assert client.get(f"{API}/{name}").json()["command"] == command

    replaced = client.post(
        API, json={"id": name, "command": ["true"], "replace": True, "capabilities": ["review"]}
    )
    assert replaced.status_code == 201, replaced.text
    assert replaced.json()["command"] == ["true"]
    assert replaced.json()["capabilities"] == ["review"]
    assert client.get(f"{API}/{name}").json()["max_concurrency"] == 2

    deleted = client.delete(f"{API}/{name}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["id"] == name
    assert client.get(f"{API}/{name}").status_code == 404
    assert name not in [a["id"] for a in client.get(API).json()]
    gone = error_of(client.delete(f"{API}/{name}"), 404)
    assert gone["details"] == {"kind": "agent", "id": name}
    unavailable = error_of(
        client.post(f"{API}/execute", json={"agent": name, "instruction": "x"}), 422
    )
    assert f"agent {name!r} is not registered" in unavailable["message"]


def test_invalid_registrations_are_rejected(client: httpx.Client) -> None:
    """Bad fields are 422 with field paths; a bad id or a command agent without one is 400."""
    before = [a["id"] for a in client.get(API).json()]
    name = unique("bad")
    invalid = error_of(
        client.post(API, json={"id": name, "command": ["true"], "max_concurrency": 0, "bogus": 1}),
        422,
    )
    assert invalid["code"] == "invalid_request"
    paths = {d["path"]: d["message"] for d in invalid["details"]}
    assert set(paths) == {"max_concurrency", "bogus"}
    assert "greater than or equal to 1" in paths["max_concurrency"]
    assert "Extra inputs are not permitted" in paths["bogus"]

    types = {"id": name, "command": "x", "capabilities": ["x"]}
    kinds = error_of(client.post(API, json=types), 422)
    assert [d["path"] for d in kinds["details"]] == ["capabilities.0"]
    missing_id = error_of(client.post(API, json={"command": ["true"]}), 422)
    assert [d["path"] for d in missing_id["details"]] == ["id"]

    reserved = error_of(client.post(API, json={"id": "auto", "command": ["true"]}), 400)
    assert reserved["code"] == "agent_error"
    assert "invalid agent name 'auto'" in reserved["message"]
    spaced = error_of(client.post(API, json={"id": "two words", "command": ["true"]}), 400)
    assert "invalid agent name 'two words'" in spaced["message"]
    no_command = error_of(client.post(API, json={"id": name}), 400)
    assert f"agent {name!r} needs a command" in no_command["message"]
    assert [a["id"] for a in client.get(API).json()] == before


def test_register_with_a_timeout_of_two_weeks(tmp_path: Path) -> None:
    """A registration's timeout of 14d (1209600 s) is kept, not turned into a 500 error."""
    # Its own daemon: the bug logs a traceback, which the module daemon's stop would flag.
    with running_daemon(tmp_path / "own", checked=False) as own, make_client(own.server) as c:
        name = unique("patient")
        response = c.post(API, json={"id": name, "command": ["true"], "timeout": "14d"})
        assert response.status_code == 201, response.text
        assert response.json()["timeout"] == 14 * 86400.0
        assert c.get(f"{API}/{name}").json()["timeout"] == 14 * 86400.0


# -- executing -------------------------------------------------------------------------


def test_execute_waits_for_the_result(client: httpx.Client, work: Path) -> None:
    """With wait (the default) the answer is the finished task: status, output, exit code."""
    task = execute(client, agent="fake", instruction="hello agent", work_dir=str(work))
    assert task["status"] == "succeeded", task
    assert (task["agent"], task["requested_agent"], task["task_type"]) == ("fake", "fake", "code")
    assert (task["instruction"], task["work_dir"]) == ("hello agent", str(work))
    assert task["error"] is None and task["visible"] is False
    assert task["started_at"] is not None and task["finished_at"] is not None
    result = task["result"]
    assert (result["success"], result["output"], result["exit_code"]) == (True, "done\n", 0)
    assert result["error"] is None
    assert result["duration_ms"] is not None and result["duration_ms"] >= 0
    # Not a git repository: the code task ran in place, on no branch.
    assert (result["branch"], result["commit"], task["worktree"]) == (None, None, None)
    assert (work / "out.txt").read_text() == "hello agent\n"
    assert Path(task["log_path"]).read_text() == "done\n"
    assert client.get(f"{API}/tasks/{task['id']}").json() == task


def test_context_becomes_a_preamble_of_the_prompt(client: httpx.Client, work: Path) -> None:
    """The context map reaches the agent as a short preamble before the instruction."""
    task = execute(
        client,
        agent="fake",
        instruction="fix it",
        context={"ticket": "GAIA-1", "files": ["a.py"]},
        work_dir=str(work),
        isolation="none",
        priority=5,
    )
    assert task["status"] == "succeeded", task
    assert (task["context"], task["priority"]) == ({"ticket": "GAIA-1", "files": ["a.py"]}, 5)
    prompt = (work / "out.txt").read_text()
    assert prompt == 'Context:\n- ticket: GAIA-1\n- files: ["a.py"]\n\nTask:\nfix it\n'


def test_code_task_in_a_git_repository_gets_its_own_branch(
    daemon: Daemon, client: httpx.Client, repo: Path
) -> None:
    """A code task works in a worktree on branch gaia/<id>; its change is committed there."""
    head = git(repo, "rev-parse", "HEAD").strip()
    task = execute(client, agent="fake", instruction="hello repo", work_dir=str(repo / "sub"))
    assert task["status"] == "succeeded", task
    assert task["isolation"] == "worktree"
    result = task["result"]
    branch = f"gaia/{task['id']}"
    assert result["branch"] == branch
    assert result["base_commit"] == head
    assert re.fullmatch(r"[0-9a-f]{40}", result["commit"] or "")
    assert result["diff_stat"] == {
        "files_changed": 1,
        "insertions": 1,
        "deletions": 0,
        "files": ["sub/out.txt"],
    }
    assert git(repo, "rev-parse", branch).strip() == result["commit"]
    assert git(repo, "show", f"{result['commit']}:sub/out.txt") == "hello repo\n"
    assert git(repo, "log", "-1", "--format=%s", branch).strip() == "gaia: hello repo"
    assert git(repo, "rev-parse", f"{branch}^").strip() == head
    # The repository itself is untouched: same HEAD, clean, no out.txt.
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "status", "--porcelain") == ""
    worktree = Path(task["worktree"])
    assert worktree.parent == daemon.server.home / "worktrees"
    assert (worktree / "sub" / "out.txt").read_text() == "hello repo\n"


def test_isolation_none_changes_the_repository_in_place(client: httpx.Client, repo: Path) -> None:
    """With isolation none the agent writes into the repository and nothing is committed."""
    head = git(repo, "rev-parse", "HEAD").strip()
    task = execute(
        client, agent="fake", instruction="in place", work_dir=str(repo), isolation="none"
    )
    assert task["status"] == "succeeded", task
    assert task["isolation"] == "none"
    result = task["result"]
    assert (result["branch"], result["commit"], result["base_commit"]) == (None, None, None)
    assert result["diff_stat"] == {}
    assert task["worktree"] is None
    assert (repo / "out.txt").read_text() == "in place\n"
    assert git(repo, "status", "--porcelain") == "?? out.txt\n"
    assert git(repo, "rev-list", "--all", "--count").strip() == "1"
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert git(repo, "branch", "--list", "gaia/*") == ""


def test_execute_without_wait_answers_202_then_the_task_finishes(
    client: httpx.Client, work: Path
) -> None:
    """wait=false answers 202 with the queued or running task; polling sees it succeed."""
    response = client.post(
        f"{API}/execute",
        json={
            "agent": "lazy",
            "instruction": "later",
            "work_dir": str(work),
            "isolation": "none",
            "wait": False,
        },
    )
    assert response.status_code == 202, response.text
    task = response.json()
    assert task["status"] in ("queued", "running")
    assert task["result"] is None and task["finished_at"] is None
    done = wait_task(client, task["id"], {"succeeded", "failed", "timed_out", "cancelled"})
    assert done["status"] == "succeeded", done
    assert done["result"]["output"] == "done\n"
    assert (work / "out.txt").read_text() == "later\n"


def test_failing_agent_is_reported_with_its_exit_code(client: httpx.Client, work: Path) -> None:
    """An agent that exits 3 is failed, with its stdout, exit code and the tail of stderr."""
    task = execute(client, agent="failing", instruction="x", work_dir=str(work), isolation="none")
    assert task["status"] == "failed", task
    assert task["error"] == "the agent exited with status 3: broken"
    result = task["result"]
    assert (result["success"], result["exit_code"], result["output"]) == (False, 3, "partial\n")
    assert result["error"] == task["error"]


def test_execute_refuses_what_it_cannot_run(client: httpx.Client, work: Path) -> None:
    """Unknown, unavailable or unsuitable agents are 409; a missing work_dir is 400."""
    before = [t["id"] for t in client.get(f"{API}/tasks", params={"limit": 1000}).json()]

    def refused(status: int, **body: Any) -> dict[str, Any]:
        body.setdefault("instruction", "x")
        body.setdefault("work_dir", str(work))
        return error_of(client.post(f"{API}/execute", json=body), status)

    # Naming an unknown agent, or one that does not take the type, is bad input (422);
    # an agent that exists but cannot run now is a conflict with the moment (409).
    unknown = refused(422, agent="nope")
    assert unknown["code"] == "agent_invalid"
    assert unknown["message"].startswith("agent 'nope' is not registered (registered: system, ")
    assert unknown["details"] == {"agent": "nope"}

    ghost = refused(409, agent="ghost")
    assert ghost["code"] == "agent_unavailable"
    assert (
        "agent 'ghost' is not available: '/nonexistent/gaia-test-agent' was not found"
        in (ghost["message"])
    )

    wrong_type = refused(422, agent="fake", task_type="shell")
    assert wrong_type["code"] == "agent_invalid"
    assert wrong_type["message"] == (
        "agent 'fake' does not take shell tasks (it takes: code, refactor, review, test)"
    )

    missing = work / "not-here"
    no_dir = refused(400, agent="fake", work_dir=str(missing))
    assert no_dir["code"] == "agent_error"
    assert no_dir["message"] == f"work_dir {missing} is not a directory"

    after = [t["id"] for t in client.get(f"{API}/tasks", params={"limit": 1000}).json()]
    assert after == before
    assert not (work / "out.txt").exists()


def test_invalid_execute_bodies_are_422_with_field_paths(client: httpx.Client) -> None:
    """A bad timeout, an empty instruction, an unknown type or field is 422 naming the field."""
    cases = [
        ({"agent": "fake", "instruction": "x", "timeout": "soon"}, "timeout", "invalid duration"),
        ({"agent": "fake", "instruction": "x", "timeout": "0s"}, "timeout", "greater than 0"),
        ({"agent": "fake", "instruction": ""}, "instruction", "at least 1 character"),
        ({"agent": "fake", "instruction": "x", "task_type": "paint"}, "task_type", "Input"),
        ({"agent": "fake", "instruction": "x", "isolation": "vm"}, "isolation", "Input"),
        ({"agent": "fake", "instruction": "x", "priority": 5000}, "priority", "less than"),
        ({"agent": "fake", "instruction": "x", "bogus": 1}, "bogus", "Extra inputs"),
        ({"agent": "fake"}, "instruction", "Field required"),
    ]
    for body, path, message in cases:
        error = error_of(client.post(f"{API}/execute", json=body), 422)
        assert error["code"] == "invalid_request"
        [problem] = error["details"]
        assert problem["path"] == path, (body, error)
        assert message in problem["message"], (body, error)


def test_auto_chooses_an_agent_that_takes_the_type(client: httpx.Client, work: Path) -> None:
    """agent auto (the default) with a shell task goes to the system agent."""
    task = execute(client, instruction="echo from-auto", task_type="shell", work_dir=str(work))
    assert task["status"] == "succeeded", task
    assert (task["agent"], task["requested_agent"]) == ("system", "auto")
    assert task["result"]["output"] == "from-auto\n"


def test_timeout_kills_the_agent(client: httpx.Client, work: Path) -> None:
    """A task past its timeout is timed_out and its agent's processes are gone."""
    started = time.monotonic()
    task = execute(
        client, agent="slow", instruction="x", work_dir=str(work), isolation="none", timeout="1s"
    )
    assert time.monotonic() - started < 15
    assert task["status"] == "timed_out", task
    assert task["error"] == "timed out after 1.0s"
    assert task["timeout"] == 1.0
    assert task["result"]["success"] is False
    wait_until(lambda: not agent_processes(task["id"]), timeout=10, what="the agent to be gone")


def test_execute_parallel_answers_in_request_order(client: httpx.Client, tmp_path: Path) -> None:
    """Every task runs; results come back in the order asked, each with its own id."""
    dirs = [tmp_path / f"w{i}" for i in range(3)]
    for d in dirs:
        d.mkdir()
    tasks = [
        {"agent": "system", "task_type": "shell", "instruction": "sleep 0.5; echo one"},
        {"agent": "fake", "instruction": "two", "isolation": "none", "work_dir": str(dirs[1])},
        {"agent": "system", "task_type": "shell", "instruction": "echo three"},
        {"agent": "failing", "instruction": "four", "isolation": "none", "work_dir": str(dirs[2])},
    ]
    response = client.post(f"{API}/execute-parallel", json={"tasks": tasks})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["instruction"] for r in results] == [t["instruction"] for t in tasks]
    assert [r["agent"] for r in results] == ["system", "fake", "system", "failing"]
    assert [r["status"] for r in results] == ["succeeded", "succeeded", "succeeded", "failed"]
    assert [r["result"]["output"] for r in results] == ["one\n", "done\n", "three\n", "partial\n"]
    ids = [r["id"] for r in results]
    assert len(set(ids)) == len(ids)
    for view in results:
        assert client.get(f"{API}/tasks/{view['id']}").json()["status"] == view["status"]
    # The slow first task finished after the quick ones: the order is the request's.
    finished = [datetime.fromisoformat(r["finished_at"]) for r in results]
    assert finished[0] > finished[2]

    lazy = {"agent": "lazy", "instruction": "later", "isolation": "none"}
    queued = client.post(
        f"{API}/execute-parallel",
        json={"tasks": [{**lazy, "work_dir": str(d)} for d in dirs[:2]], "wait": False},
    )
    assert queued.status_code == 202, queued.text
    later = queued.json()["results"]
    assert all(r["status"] in ("queued", "running") for r in later)
    assert later[0]["id"] != later[1]["id"]
    for view in later:
        assert wait_task(client, view["id"], {"succeeded", "failed"})["status"] == "succeeded"
    assert [(d / "out.txt").read_text() for d in dirs[:2]] == ["later\n", "later\n"]


def test_execute_parallel_queues_nothing_when_one_task_is_refused(
    client: httpx.Client, work: Path
) -> None:
    """A request refused for its second task (422) must not have queued and run the first."""
    marker = work / "ran.txt"
    instruction = f"echo ran > {marker}"
    tasks = [
        {"agent": "system", "task_type": "shell", "instruction": instruction},
        {"agent": "nope", "instruction": "x"},
    ]
    refused = error_of(client.post(f"{API}/execute-parallel", json={"tasks": tasks}), 422)
    assert "agent 'nope' is not registered" in refused["message"]
    # A waited task flushes the write-behind store: any task queued above is listed now.
    execute(client, agent="fake", instruction="after", work_dir=str(work), isolation="none")
    listed = client.get(f"{API}/tasks", params={"limit": 20}).json()
    assert instruction not in [t["instruction"] for t in listed]
    assert not marker.exists()


def test_invalid_parallel_bodies_are_422(client: httpx.Client) -> None:
    """An empty task list or a bad task is 422 with the path of the field."""
    empty = error_of(client.post(f"{API}/execute-parallel", json={"tasks": []}), 422)
    assert [d["path"] for d in empty["details"]] == ["tasks"]
    bad = error_of(
        client.post(
            f"{API}/execute-parallel",
            json={"tasks": [{"instruction": "ok"}, {"instruction": "x", "timeout": "never"}]},
        ),
        422,
    )
    assert [d["path"] for d in bad["details"]] == ["tasks.1.timeout"]


# -- cancelling ------------------------------------------------------------------------


def test_cancel_running_task_kills_its_processes(client: httpx.Client, work: Path) -> None:
    """Cancelling a running task answers cancelled and leaves none of its processes."""
    task = execute(
        client, 202, agent="slow", instruction="x", work_dir=str(work), isolation="none", wait=False
    )
    procs = wait_until(lambda: sleeping(task["id"]), timeout=10, what="the agent's sleep")
    assert wait_task(client, task["id"], {"running"})["status"] == "running"

    cancelled = client.post(f"{API}/tasks/{task['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    view = cancelled.json()
    assert view["status"] == "cancelled"
    assert view["error"] == "cancelled while running"
    assert view["result"]["success"] is False
    wait_until(lambda: all(proc_gone(p) for p in procs), timeout=10, what="the agent to die")
    assert not agent_processes(task["id"])
    assert client.get(f"{API}/tasks/{task['id']}").json()["status"] == "cancelled"

    again = error_of(client.post(f"{API}/tasks/{task['id']}/cancel"), 409)
    assert again["code"] == "conflict"
    assert again["message"] == f"agent task {task['id']} already finished (cancelled)"


def test_cancel_queued_task_and_unknown_task(client: httpx.Client, work: Path) -> None:
    """A task queued behind a full agent is cancelled before it starts; unknown ids 404."""
    body = {"agent": "single", "instruction": "x", "work_dir": str(work), "isolation": "none"}
    first = execute(client, 202, wait=False, **body)
    second = execute(client, 202, wait=False, **body)
    wait_task(client, first["id"], {"running"})
    assert client.get(f"{API}/tasks/{second['id']}").json()["status"] == "queued"
    stats = client.get(f"{API}/stats", params={"agent": "single"}).json()
    assert [(s["active"], s["queued"]) for s in stats] == [(1, 1)]

    view = client.post(f"{API}/tasks/{second['id']}/cancel").json()
    assert (view["status"], view["error"]) == ("cancelled", "cancelled before it started")
    assert view["started_at"] is None
    assert client.post(f"{API}/tasks/{first['id']}/cancel").json()["status"] == "cancelled"
    wait_until(lambda: not agent_processes(first["id"]), timeout=10, what="the agent to die")

    unknown = error_of(client.post(f"{API}/tasks/{PLACEHOLDER}/cancel"), 404)
    assert unknown["details"] == {"kind": "agent task", "id": PLACEHOLDER}
    assert error_of(client.get(f"{API}/tasks/{PLACEHOLDER}"), 404)["code"] == "not_found"


def test_unregistering_fails_the_agents_queued_tasks(client: httpx.Client, work: Path) -> None:
    """A task queued for an agent that is unregistered fails when its turn comes."""
    name = unique("leaving")
    register(client, id=name, command=["sh", "-c", "sleep 30", "{prompt}"], max_concurrency=1)
    body = {"agent": name, "instruction": "x", "work_dir": str(work), "isolation": "none"}
    first = execute(client, 202, wait=False, **body)
    second = execute(client, 202, wait=False, **body)
    wait_task(client, first["id"], {"running"})
    assert client.delete(f"{API}/{name}").status_code == 200
    # The running task goes on (and can still be cancelled); the queued one then fails.
    assert client.get(f"{API}/tasks/{first['id']}").json()["status"] == "running"
    assert client.post(f"{API}/tasks/{first['id']}/cancel").json()["status"] == "cancelled"
    failed = wait_task(client, second["id"], {"failed", "succeeded", "cancelled", "timed_out"})
    assert failed["status"] == "failed"
    assert f"agent {name!r} is not registered" in failed["error"]


def test_visible_task_runs_in_the_daemons_tmux(
    daemon: Daemon, client: httpx.Client, work: Path
) -> None:
    """visible=true runs the agent in window fake-<id> of tmux session gaia-agents."""
    task = execute(
        client, agent="fake", instruction="seen", work_dir=str(work), isolation="none", visible=True
    )
    assert (task["status"], task["visible"]) == ("succeeded", True)
    assert (task["result"]["output"], task["result"]["exit_code"]) == ("done\n", 0)
    assert (work / "out.txt").read_text() == "seen\n"
    listed = subprocess.run(
        ["tmux", "-L", daemon.socket, "list-windows", "-t", "gaia-agents", "-F", "#{window_name}"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert f"fake-{task['id'][:8]}" in listed.stdout.splitlines()


# -- stats and the task list ----------------------------------------------------------


def test_stats_count_what_an_agent_did(client: httpx.Client, work: Path) -> None:
    """Totals, success rate and mean duration after two successes and a failure."""
    name = unique("counted")
    register(client, id=name, command=["sh", "-c", 'sleep 0.05; test "$0" = ok', "{prompt}"])
    [fresh] = client.get(f"{API}/stats", params={"agent": name}).json()
    assert (fresh["agent_id"], fresh["total"], fresh["success_rate"]) == (name, 0, None)
    assert fresh["mean_duration_ms"] is None

    for instruction in ("ok", "ok", "no"):
        execute(client, agent=name, instruction=instruction, work_dir=str(work), isolation="none")
    response = client.get(f"{API}/stats", params={"agent": name})
    assert response.status_code == 200, response.text
    [stats] = response.json()
    assert stats["agent_id"] == name
    counts = {k: stats[k] for k in ("total", "succeeded", "failed", "cancelled", "active")}
    assert counts == {"total": 3, "succeeded": 2, "failed": 1, "cancelled": 0, "active": 0}
    assert stats["queued"] == 0 and stats["peak_concurrency"] == 1
    assert stats["success_rate"] == pytest.approx(2 / 3)
    assert stats["mean_duration_ms"] is not None and stats["mean_duration_ms"] >= 50
    assert (stats["input_tokens"], stats["output_tokens"], stats["cost_usd"]) == (0, 0, 0.0)

    every = {s["agent_id"]: s for s in client.get(f"{API}/stats").json()}
    assert {"system", "fake", name} <= set(every)
    assert every[name] == stats

    unknown = error_of(client.get(f"{API}/stats", params={"agent": "nope"}), 404)
    assert unknown["details"] == {"kind": "agent", "id": "nope"}
    # History outlives the registration: stats still answer for an unregistered agent.
    assert client.delete(f"{API}/{name}").status_code == 200
    assert client.get(f"{API}/stats", params={"agent": name}).json()[0]["total"] == 3


def test_task_list_filters_by_status_and_limits(client: httpx.Client, work: Path) -> None:
    """Tasks come newest first; status keeps one state and limit caps the count."""
    failed = execute(client, agent="failing", instruction="f", work_dir=str(work), isolation="none")
    ok = execute(client, agent="fake", instruction="s", work_dir=str(work), isolation="none")
    assert (failed["status"], ok["status"]) == ("failed", "succeeded")

    newest = client.get(f"{API}/tasks", params={"limit": 2}).json()
    assert [t["id"] for t in newest] == [ok["id"], failed["id"]]
    assert [t["id"] for t in client.get(f"{API}/tasks", params={"limit": 1}).json()] == [ok["id"]]

    only_failed = client.get(f"{API}/tasks", params={"status": "failed"}).json()
    assert only_failed and {t["status"] for t in only_failed} == {"failed"}
    assert only_failed[0]["id"] == failed["id"]
    assert only_failed[0]["result"]["exit_code"] == 3
    succeeded = client.get(f"{API}/tasks", params={"status": "succeeded", "limit": 1000}).json()
    assert {t["status"] for t in succeeded} == {"succeeded"}
    assert ok["id"] in [t["id"] for t in succeeded]
    assert failed["id"] not in [t["id"] for t in succeeded]
    assert client.get(f"{API}/tasks", params={"status": "running"}).json() == []

    for params, path in (
        ({"status": "paused"}, "query.status"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 1001}, "query.limit"),
    ):
        error = error_of(client.get(f"{API}/tasks", params=params), 422)
        assert [d["path"] for d in error["details"]] == [path]


def test_task_routes_take_a_unique_prefix_of_the_id(
    client: httpx.Client, daemon: Daemon, work: Path
) -> None:
    """GET and cancel take any unique id prefix of 4+ characters; an ambiguous one is 400."""
    from gaia.agents.store import AgentStore
    from gaia.agents.task import AgentTask
    from gaia.storage.db import Database

    task = execute(
        client, 202, agent="slow", instruction="x", work_dir=str(work), isolation="none", wait=False
    )
    short = task["id"][:8]
    assert client.get(f"{API}/tasks/{short}").json()["id"] == task["id"]
    wait_task(client, task["id"], {"running"})
    cancelled = client.post(f"{API}/tasks/{short}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["id"], cancelled.json()["status"]) == (task["id"], "cancelled")
    wait_until(lambda: not agent_processes(task["id"]), timeout=10, what="the agent to die")
    assert error_of(client.get(f"{API}/tasks/{task['id'][:3]}"), 404)["code"] == "not_found"

    # Two tasks whose ids share a prefix, written to the daemon's database directly.
    db = Database(f"sqlite:///{daemon.server.home / 'gaia.db'}")
    store = AgentStore(db)
    try:
        for suffix in ("1", "2"):
            twin = AgentTask(instruction="twin", agent_id="fake", id=f"feedbee{suffix}-twin")
            store.insert_task(twin, "fake", store.next_seq(), "test")
            store.flush()
    finally:
        store.close()
        db.dispose()
    for response in (
        client.get(f"{API}/tasks/feedbee"),
        client.post(f"{API}/tasks/feedbee/cancel"),
    ):
        problem = error_of(response, 400)
        assert "agent task id prefix 'feedbee' is ambiguous" in problem["message"]
    assert client.get(f"{API}/tasks/feedbee2").json()["id"] == "feedbee2-twin"
    # A LIKE wildcard in what is typed matches only itself.
    assert error_of(client.get(f"{API}/tasks/feed%25"), 404)["code"] == "not_found"
