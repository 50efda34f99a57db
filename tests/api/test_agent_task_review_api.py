"""A task's diff and retry routes, and the agents watches, through one real `gaia serve`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gaia._sse import Event, EventParser
from tests.agents.support import git
from tests.api.test_workflows_api import Server, serving
from tests.helpers import wait_until

API = "/api/orchestration/agents"
EDIT = (
    'printf "hello\\nchanged\\n" > README.md; printf "new\\n" > added.txt; '
    'while [ ! -e "$0" ]; do sleep 0.05; done; echo "done: $0"'
)
AGENTS = {
    # Changes a file, adds one, waits for the flag file its prompt names, then ends.
    "editor": {"command": ["sh", "-c", EDIT, "{prompt}"]},
    "printer": {"command": ["sh", "-c", 'echo "out: $0"; echo "err: $0" >&2', "{prompt}"]},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("agent-review")) as srv:
        with srv.client() as client:
            for name, table in AGENTS.items():
                response = client.post(API, json={"id": name, **table})
                assert response.status_code == 201, response.text
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "README.md").write_text("hello\nworld\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def queue(client: httpx.Client, agent: str, prompt: str, work_dir: Path, **fields: Any) -> str:
    body = {"agent": agent, "instruction": prompt, "work_dir": str(work_dir), "wait": False}
    response = client.post(f"{API}/execute", json={**body, **fields})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_status(client: httpx.Client, task_id: str, *statuses: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"{API}/tasks/{task_id}").json()
        return task if task["status"] in statuses else None

    found: dict[str, Any] = wait_until(check, 30, 0.05, f"{task_id} to be {statuses}")
    return found


def test_the_diff_of_a_running_and_of_a_finished_task(
    client: httpx.Client, repo: Path, tmp_path: Path
) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    flag = tmp_path / "go"
    task_id = queue(client, "editor", str(flag), repo, task_type="code")
    wait_status(client, task_id, "running")

    def changed() -> httpx.Response | None:
        response = client.get(f"{API}/tasks/{task_id}/diff")
        return response if "+new" in response.text else None

    running = wait_until(changed, 30, 0.05, "the diff to show the agent's changes")
    assert running.status_code == 200
    assert running.headers["content-type"].startswith("text/plain")
    assert running.headers["x-gaia-base-commit"] == base
    assert running.headers["x-gaia-diff-source"] == "worktree"
    assert "diff --git a/added.txt b/added.txt" in running.text
    assert "-world" in running.text and "+changed" in running.text

    flag.touch()
    done = wait_status(client, task_id, "succeeded", "failed")
    assert done["status"] == "succeeded", done
    finished = client.get(f"{API}/tasks/{task_id}/diff")
    assert finished.status_code == 200
    assert finished.text == running.text
    assert done["result"]["base_commit"] == base
    # A prefix names the task, as everywhere.
    assert client.get(f"{API}/tasks/{task_id[:8]}/diff").text == finished.text


def test_no_diff_without_a_worktree_and_for_an_unknown_task(
    client: httpx.Client, tmp_path: Path
) -> None:
    task_id = queue(client, "printer", "hi", tmp_path, isolation="none")
    wait_status(client, task_id, "succeeded")
    response = client.get(f"{API}/tasks/{task_id}/diff")
    assert response.status_code == 409
    problem = response.json()
    assert "has no worktree to diff: it runs in place" in problem["detail"]
    assert "isolation none" in problem["detail"]
    missing = client.get(f"{API}/tasks/00000000-0000-0000-0000-000000000000/diff")
    assert missing.status_code == 404
    assert "not found" in missing.json()["detail"]


def test_retry_queues_the_same_request_anew(
    client: httpx.Client, repo: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    task_id = queue(client, "editor", str(flag), repo, task_type="code", priority=4)
    wait_status(client, task_id, "running")
    refused = client.post(f"{API}/tasks/{task_id}/retry")
    assert refused.status_code == 409
    assert "only a finished task can be retried" in refused.json()["detail"]
    flag.touch()
    wait_status(client, task_id, "succeeded")

    response = client.post(f"{API}/tasks/{task_id}/retry")
    assert response.status_code == 201, response.text
    fresh = response.json()
    assert fresh["id"] != task_id and fresh["retry_of"] == task_id
    old = client.get(f"{API}/tasks/{task_id}").json()
    for name in ("agent", "instruction", "task_type", "work_dir", "priority", "isolation"):
        assert fresh[name] == old[name], name
    # The flag is there already: the retry runs to its end in its own worktree.
    done = wait_status(client, fresh["id"], "succeeded", "failed")
    assert done["status"] == "succeeded" and done["result"]["branch"] == f"gaia/{fresh['id']}"
    missing = client.post(f"{API}/tasks/00000000-0000-0000-0000-000000000000/retry")
    assert missing.status_code == 404


def watch(client: httpx.Client, *watches: str, until: Callable[[list[Event]], bool]) -> list[Event]:
    """Events of ``GET /events`` until ``until(events)`` holds (bounded)."""
    parser = EventParser()
    events: list[Event] = []
    deadline = time.monotonic() + 30
    params = [("watch", spec) for spec in watches]
    with client.stream("GET", "/api/orchestration/events", params=params, timeout=30) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            events.extend(parser.feed(chunk))
            if until(events):
                return events
            assert time.monotonic() < deadline, f"not seen in 30 s: {events}"
    raise AssertionError(f"the stream ended: {events}")


def data(events: list[Event], name: str) -> list[Any]:
    return [json.loads(event.data) for event in events if event.event == name]


def test_the_agent_task_watch_sends_the_task_and_its_output(
    client: httpx.Client, tmp_path: Path
) -> None:
    task_id = queue(client, "printer", "hello", tmp_path, isolation="none")
    wait_status(client, task_id, "succeeded")

    def complete(events: list[Event]) -> bool:
        text = {"stdout": "", "stderr": ""}
        for chunk in data(events, "output"):
            text[chunk["stream"]] += chunk["text"]
        return text == {"stdout": "out: hello\n", "stderr": "err: hello\n"}

    events = watch(client, f"agent_task:{task_id[:8]}", until=complete)
    tasks = data(events, "task")
    assert tasks and tasks[0]["id"] == task_id and tasks[0]["status"] == "succeeded"
    assert tasks[0]["result"]["output"] == "out: hello\n"


def test_the_agents_watch_sends_the_board(client: httpx.Client) -> None:
    events = watch(client, "agents", until=lambda events: bool(data(events, "agents")))
    board = data(events, "agents")[0]
    agents = {agent["id"]: agent for agent in board["agents"]}
    assert {"editor", "printer", "system"} <= set(agents)
    assert agents["printer"]["available"] is True
    assert agents["printer"]["stats"]["agent_id"] == "printer"
    assert {"queue", "queued", "tasks", "total", "former"} <= set(board)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("agents:bogus", "unknown task status"),
        ("agent_task:", "agent_task needs a task id"),
        ("agent_task:nope-not-a-task", "not found"),
    ],
)
def test_a_bad_agents_watch_says_why(client: httpx.Client, spec: str, message: str) -> None:
    events = watch(client, spec, until=lambda events: bool(data(events, "error")))
    error = data(events, "error")[0]
    assert error["watch"] == spec and message in error["message"]
