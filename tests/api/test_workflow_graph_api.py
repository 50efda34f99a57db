"""The run page's routes through a real `gaia serve`: the laid-out graph, every attempt,
retrying one failed task, and the run's live watches on the events stream."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_workflows_api import WF, Server, create, serving, wait_status

FAILING = """
    name: failing
    tasks:
      - {id: first, command: 'echo one'}
      - {id: broken, command: 'echo trying; test -f fixed', dependencies: [first]}
      - {id: after, command: 'echo after', dependencies: [broken]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("graph-api")) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_the_graph_is_laid_out_in_layers(client: httpx.Client, workdir: Path) -> None:
    run_id = create(client, FAILING, workdir)["id"]
    response = client.get(f"{WF}/{run_id}/graph")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    graph = response.json()
    assert [(n["id"], n["layer"]) for n in graph["nodes"]] == [
        ("first", 0),
        ("broken", 1),
        ("after", 2),
    ]
    assert graph["edges"] == [["first", "broken"], ["broken", "after"]]
    assert graph["layers"] == 3 and graph["width"] > 0 and graph["height"] > 0
    assert client.get(f"{WF}/{run_id[:8]}/graph").json() == graph  # a prefix resolves
    missing = client.get(f"{WF}/{'0' * 36}/graph")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_retry_runs_the_failed_task_again(client: httpx.Client, workdir: Path) -> None:
    run_id = create(client, FAILING, workdir, start="true")["id"]
    wait_status(client, run_id, {"failed"})
    assert client.get(f"{WF}/{run_id}/attempts").json()[-1]["status"] == "failed"

    for task, status in (("first", 409), ("after", 409), ("nope", 404)):
        response = client.post(f"{WF}/{run_id}/tasks/{task}/retry")
        assert response.status_code == status, response.text
    assert "not failed" in client.post(f"{WF}/{run_id}/tasks/first/retry").text

    (workdir / "fixed").touch()
    response = client.post(f"{WF}/{run_id}/tasks/broken/retry")
    assert response.status_code == 202, response.text
    assert response.json() == {
        "id": run_id,
        "status": "running",
        "task": "broken",
        "tasks": ["broken", "after"],
    }
    final = wait_status(client, run_id, {"completed", "failed"})
    assert final["status"] == "completed"
    attempts = client.get(f"{WF}/{run_id}/attempts").json()
    assert [(a["task"], a["attempt"], a["status"]) for a in attempts] == [
        ("first", 1, "completed"),
        ("broken", 1, "failed"),
        ("broken", 2, "completed"),
        ("after", 1, "completed"),
    ]
    assert attempts[1]["exit_code"] == 1 and attempts[1]["finished_at"]


def test_a_running_run_refuses_a_retry(client: httpx.Client, workdir: Path) -> None:
    text = "name: slow\ntasks:\n  - {id: slow, command: 'sleep 30'}\n"
    run_id = create(client, text, workdir, start="true")["id"]
    response = client.post(f"{WF}/{run_id}/tasks/slow/retry")
    assert response.status_code == 409
    assert "running" in response.json()["error"]["message"]
    client.post(f"{WF}/{run_id}/stop")
    wait_status(client, run_id, {"cancelled"})


def read_events(client: httpx.Client, watches: list[str], until: set[str]) -> dict[str, object]:
    """Read the events stream until an event of each name in ``until`` came; the first
    of each name."""
    seen: dict[str, object] = {}
    params = [("watch", w) for w in watches]
    with client.stream("GET", "/api/orchestration/events", params=params) as response:
        assert response.status_code == 200
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.partition(":")[2].strip()
            elif line.startswith("data:") and name:
                seen.setdefault(name, json.loads(line.partition(":")[2]))
                if until <= set(seen):
                    return seen
    raise AssertionError(f"the stream ended before {until - set(seen)}")


def test_the_run_and_log_watches_send_the_state(client: httpx.Client, workdir: Path) -> None:
    run_id = create(client, FAILING, workdir, start="true")["id"]
    wait_status(client, run_id, {"failed"})
    seen = read_events(
        client, [f"run:{run_id}", f"log:{run_id}/broken"], {"run", "tasks", "task", "log"}
    )
    assert seen["run"]["status"] == "failed"  # type: ignore[index]
    assert seen["tasks"] == {  # every task first, in the definition's order
        "full": True,
        "tasks": [
            ["first", "completed", 1, 0],
            ["broken", "failed", 1, 1],
            ["after", "skipped", 0, None],
        ],
    }
    assert seen["task"]["status"] == "failed"  # type: ignore[index]
    log = seen["log"]
    assert log["reset"] is True and log["attempt"] == 1  # type: ignore[index]
    assert log["text"] == "trying\n"  # type: ignore[index]
    bad = read_events(client, ["log:nothing"], {"error"})
    assert "log:RUN_ID/TASK_ID" in bad["error"]["message"]  # type: ignore[index]


def test_a_large_run_is_laid_out_when_it_is_created(
    server: Server, client: httpx.Client, workdir: Path
) -> None:
    """Its page then finds the layout made: the daemon's log says so before anyone asks."""
    tasks = "\n".join(
        f"  - {{id: t{i}, command: 'true'" + (f", dependencies: [t{i - 1}]" if i % 10 else "") + "}"
        for i in range(600)
    )
    run = create(client, f"name: wide\ntasks:\n{tasks}\n", workdir)
    log = server.home / "logs" / "workflows.log"
    needle = f"laid out the graph of {run['id']} (600 tasks)"
    deadline = time.monotonic() + 60
    while needle not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the graph was not laid out after the run's creation"
        time.sleep(0.1)
    graph = client.get(f"{WF}/{run['id']}/graph")
    assert graph.status_code == 200 and len(graph.json()["nodes"]) == 600
    assert log.read_text().count(needle) == 1  # the page got the layout made then
