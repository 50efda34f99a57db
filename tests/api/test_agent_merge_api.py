"""Merging and discarding a task's branch through one real `gaia serve`, with a command agent
that edits files in its worktree (gaia commits them on the task's branch)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agents.support import git
from tests.api.test_agent_task_review_api import queue, wait_status
from tests.api.test_workflows_api import Server, serving

API = "/api/orchestration/agents"
# Writes its prompt into README.md and adds a file.
EDITOR = {
    "command": ["sh", "-c", 'printf "%s\\n" "$0" > README.md; echo new > added.txt', "{prompt}"]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("agent-merge")) as srv:
        with srv.client() as client:
            response = client.post(API, json={"id": "editor", **EDITOR})
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
    (path / "README.md").write_text("hello\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def finished(client: httpx.Client, repo: Path, prompt: str) -> dict[str, object]:
    task_id = queue(client, "editor", prompt, repo, task_type="code")
    task = wait_status(client, task_id, "succeeded", "failed")
    assert task["status"] == "succeeded", task
    return task


def test_merge_answers_201_and_the_task_says_merged(client: httpx.Client, repo: Path) -> None:
    task = finished(client, repo, "from the agent")
    stat = client.get(f"{API}/tasks/{task['id']}/diff", params={"stat": "true"})
    assert stat.status_code == 200
    assert "README.md" in stat.text and "added.txt" in stat.text
    assert "2 files changed" in stat.text and "diff --git" not in stat.text

    response = client.post(f"{API}/tasks/{task['id']}/merge", json={})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["review"], body["into"], body["fast_forward"]) == ("merged", "main", True)
    assert body["task"]["review"] == "merged"
    assert client.get(f"{API}/tasks/{task['id']}").json()["review"] == "merged"
    assert (repo / "README.md").read_text() == "from the agent\n"
    assert not Path(str(task["worktree"])).exists()

    again = client.post(f"{API}/tasks/{task['id']}/merge", json={"squash": True})
    assert again.status_code == 409
    assert "already merged" in again.json()["detail"]


def test_a_conflict_is_409_with_the_files(client: httpx.Client, repo: Path) -> None:
    task = finished(client, repo, "agent")
    (repo / "README.md").write_text("user\n")
    git(repo, "commit", "--quiet", "-am", "user")
    refs = git(repo, "for-each-ref")

    response = client.post(f"{API}/tasks/{task['id']}/merge", json={"into": "main"})
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["error"]["details"]["files"] == ["README.md"]
    assert "conflicts in README.md" in problem["detail"]
    assert git(repo, "for-each-ref") == refs
    assert git(repo, "status", "--porcelain") == ""
    assert client.get(f"{API}/tasks/{task['id']}").json()["review"] is None

    missing = client.post(f"{API}/tasks/{task['id']}/merge", json={"into": "nope"})
    assert missing.status_code == 409
    assert "the branch nope does not exist" in missing.json()["detail"]
    bad = client.post(f"{API}/tasks/{task['id']}/merge", json={"squash": "maybe", "x": 1})
    assert bad.status_code == 422


def test_discard_answers_200_and_removes_the_branch(client: httpx.Client, repo: Path) -> None:
    task = finished(client, repo, "unwanted")
    response = client.post(f"{API}/tasks/{task['id']}/discard")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["review"], body["branch_deleted"], body["worktree_removed"]) == (
        "discarded",
        True,
        True,
    )
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert (repo / "README.md").read_text() == "hello\n"
    assert client.post(f"{API}/tasks/{task['id']}/discard").status_code == 409
    unknown = client.post(f"{API}/tasks/00000000-0000-0000-0000-000000000000/discard")
    assert unknown.status_code == 404
