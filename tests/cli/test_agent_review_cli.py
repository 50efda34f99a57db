"""`gaia agent diff | merge | discard | shell` as subprocesses against one real `gaia serve`,
with a command agent whose edits gaia commits on the task's branch."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents.support import git
from tests.api.test_agent_task_review_api import queue, wait_status
from tests.api.test_workflows_api import Server, serving
from tests.helpers import wait_until

GAIA = Path(sys.executable).parent / "gaia"
API = "/api/orchestration/agents"
EDITOR = {
    "command": ["sh", "-c", 'printf "%s\\n" "$0" > README.md; echo new > added.txt', "{prompt}"]
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("agent-review-cli")) as srv:
        with srv.client() as client:
            response = client.post(API, json={"id": "editor", **EDITOR})
            assert response.status_code == 201, response.text
        yield srv


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "README.md").write_text("hello\n")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "initial")
    return path


def task_in(server: Server, repo: Path, prompt: str) -> str:
    with server.client() as client:
        task_id = queue(client, "editor", prompt, repo, task_type="code")
        task = wait_status(client, task_id, "succeeded", "failed")
    assert task["status"] == "succeeded", task
    return task_id


def gaia(
    server: Server, cwd: Path, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GAIA), "agent", *args],
        env={**server.env, **env},
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_diff_is_plain_when_piped_coloured_when_asked_and_stat(server: Server, repo: Path) -> None:
    task_id = task_in(server, repo, "changed")
    plain = gaia(server, repo, "diff", task_id[:8])
    assert plain.returncode == 0, plain.stderr
    assert "\x1b[" not in plain.stdout
    assert "diff --git a/README.md b/README.md" in plain.stdout
    assert "-hello\n+changed\n" in plain.stdout

    coloured = gaia(server, repo, "diff", task_id, "--color", "always")
    assert "\x1b[31m-hello\x1b[0m" in coloured.stdout
    assert "\x1b[32m+changed\x1b[0m" in coloured.stdout

    stat = gaia(server, repo, "diff", task_id, "--stat")
    assert stat.returncode == 0
    assert "2 files changed" in stat.stdout and "diff --git" not in stat.stdout


def test_merge_exit_codes(server: Server, repo: Path) -> None:
    clash = task_in(server, repo, "agent's")
    clean = task_in(server, repo, "second")
    (repo / "README.md").write_text("user's\n")
    dirty = gaia(server, repo, "merge", clash)
    assert dirty.returncode == 1
    assert "has uncommitted changes (README.md)" in dirty.stderr
    assert "Traceback" not in dirty.stderr

    git(repo, "commit", "--quiet", "-am", "user")
    refs = git(repo, "for-each-ref")
    conflict = gaia(server, repo, "merge", clash, "--squash")
    assert conflict.returncode == 1
    assert "conflicts in README.md" in conflict.stderr
    assert git(repo, "for-each-ref") == refs and git(repo, "status", "--porcelain") == ""

    git(repo, "branch", "side", "HEAD~1")
    merged = gaia(server, repo, "merge", clean, "--into", "side")
    assert merged.returncode == 0, merged.stderr
    assert f"task {clean}: gaia/{clean} merged into side (fast-forward)" in merged.stdout
    assert git(repo, "show", "side:README.md") == "second\n"
    assert git(repo, "rev-parse", "main") != git(repo, "rev-parse", "side")


def test_discard_asks_refuses_without_a_terminal_and_goes_with_yes(
    server: Server, repo: Path
) -> None:
    task_id = task_in(server, repo, "throwaway")
    branch = f"gaia/{task_id}"
    refused = gaia(server, repo, "discard", task_id)
    assert refused.returncode == 1
    assert "there is no terminal to ask on: pass --yes" in refused.stderr
    assert branch in git(repo, "branch", "--format=%(refname:short)")

    done = gaia(server, repo, "discard", task_id, "--yes")
    assert done.returncode == 0, done.stderr
    assert "discarded; worktree removed, branch" in done.stdout
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    gone = gaia(server, repo, "shell", task_id)
    assert gone.returncode == 1 and "has no worktree" in gone.stderr


def test_shell_runs_in_the_worktree(server: Server, repo: Path) -> None:
    task_id = task_in(server, repo, "look")
    with server.client() as client:
        worktree = client.get(f"{API}/tasks/{task_id}").json()["worktree"]
    shell = gaia(server, repo, "shell", task_id, stdin="pwd; cat added.txt\n", SHELL="/bin/sh")
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines() == [worktree, "new"]


def test_shell_tmux_opens_a_window_at_the_worktree(server: Server, repo: Path) -> None:
    task_id = task_in(server, repo, "tmux")
    with server.client() as client:
        worktree = client.get(f"{API}/tasks/{task_id}").json()["worktree"]
    socket = server.env["GAIA_TMUX_SOCKET"]
    try:
        done = gaia(server, repo, "shell", task_id, "--tmux")
        assert done.returncode == 0, done.stderr
        assert f"session gaia-agents in {worktree}" in done.stdout

        def window() -> str | None:
            listed = subprocess.run(
                [
                    "tmux",
                    "-L",
                    socket,
                    "list-windows",
                    "-t",
                    "gaia-agents",
                    "-F",
                    "#{window_name} #{pane_current_path}",
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            line = f"shell-{task_id[:8]} {worktree}"
            return line if line in listed.stdout.splitlines() else None

        wait_until(window, 30, 0.05, "the shell window at the worktree")
    finally:
        with server.client() as client:
            client.delete("/api/orchestration/sessions/gaia-agents")


def discard_on_a_terminal(server: Server, repo: Path, task_id: str, answer: str) -> tuple[int, str]:
    """`gaia agent discard TASK_ID` with a pseudo-terminal as its stdin, answering ``answer``."""
    controller, terminal = os.openpty()
    try:
        proc = subprocess.Popen(
            [str(GAIA), "agent", "discard", task_id],
            env=server.env,
            cwd=repo,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.write(controller, answer.encode())
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    return proc.returncode, out


def test_discard_on_a_terminal_asks_first(server: Server, repo: Path) -> None:
    task_id = task_in(server, repo, "ask me")
    branch = f"gaia/{task_id}"
    code, out = discard_on_a_terminal(server, repo, task_id, "n\n")
    assert code == 1, out
    assert f"Discard task {task_id}: delete {branch} and its worktree?" in out
    assert branch in git(repo, "branch", "--format=%(refname:short)")

    code, out = discard_on_a_terminal(server, repo, task_id, "y\n")
    assert code == 0, out
    assert f"task {task_id}: discarded" in out
    assert branch not in git(repo, "branch", "--format=%(refname:short)")
