"""End to end with the real Claude Code and Gemini CLI, pointed at the model stub.

The CLIs come from npm at pinned versions (tools/agent-clis/install.sh, run by
`make test` and CI). The stub makes each agent call its file-writing tool, then answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gaia.agents.task import AgentTask, TaskStatus, TaskType
from gaia.config import load_settings
from gaia.runtime import Runtime
from tests.agents.model_stub import ModelStub, claude_env, codex_env, directive, gemini_env

BIN = Path(__file__).resolve().parents[2] / "tools" / "agent-clis" / "node_modules" / ".bin"
CLAUDE, GEMINI, CODEX = BIN / "claude", BIN / "gemini", BIN / "codex"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows"
GAIA = Path(sys.executable).parent / "gaia"

pytestmark = pytest.mark.skipif(
    not (CLAUDE.exists() and GEMINI.exists()),
    reason="agent CLIs not installed: run tools/agent-clis/install.sh (make test does)",
)


@pytest.fixture
def stub() -> Iterator[ModelStub]:
    with ModelStub() as running:
        yield running


@pytest.fixture
def agent_env(stub: ModelStub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment the CLIs need, without the caller's agent settings."""
    for name in list(os.environ):
        if name.startswith(("CLAUDE", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OPENAI_", "CODEX_")):
            monkeypatch.delenv(name)
    home = tmp_path / "agent-home"
    env = {**claude_env(stub.url, home), **gemini_env(stub.url, home), **codex_env(stub.url, home)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def write_config(gaia_home: Path) -> None:
    gaia_home.mkdir(parents=True, exist_ok=True)
    (gaia_home / "config.toml").write_text(
        'kill_grace_period = "1s"\n'
        f'[agents.claude]\ncommand = "{CLAUDE}"\nmax_turns = 5\n'
        f'[agents.gemini]\ncommand = "{GEMINI}"\n'
        f'[agents.codex]\ncommand = "{CODEX}"\n'
    )


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "Makefile").write_text("test:\n\t@echo tests pass\n")
    git(path, "add", ".")
    git(path, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "init")
    return path


@pytest.fixture
async def runtime(tmp_path: Path, agent_env: dict[str, str]) -> AsyncIterator[Runtime]:
    home = tmp_path / "gaia-home"
    write_config(home)
    built = Runtime(load_settings(home)).open()
    await built.agents.start()
    yield built
    await built.agents.close()
    built.close()


@pytest.mark.parametrize("agent", ["claude", "gemini", "codex"])
async def test_real_agent_writes_file_in_its_worktree_and_gaia_commits_it(
    runtime: Runtime, repo: Path, agent: str
) -> None:
    """The real CLI writes the file in the task's worktree; gaia commits it on the branch."""
    content = f"hello from {agent}"
    task = AgentTask(
        instruction="Write the greeting.\n" + directive("greeting.txt", content, f"{agent} done"),
        agent_id=agent,
        task_type=TaskType.code,
        work_dir=repo,
        timeout=120,
    )
    result = await runtime.agents.execute(task)
    assert result.status is TaskStatus.succeeded, result.error
    assert result.output.strip() == f"{agent} done"
    assert result.session_id
    worktree = runtime.home.worktrees / task.id
    # Codex writes through apply_patch, which ends the file with a newline.
    assert (worktree / "greeting.txt").read_text().rstrip("\n") == content
    assert not (repo / "greeting.txt").exists()  # the user's work tree is untouched
    assert result.branch == f"gaia/{task.id}"
    assert result.commit is not None
    assert git(repo, "show", f"{result.branch}:greeting.txt").rstrip("\n") == content
    assert result.diff_stat["files"] == ["greeting.txt"]
    assert git(repo, "rev-parse", "main").strip() == result.base_commit


async def test_claude_api_error_fails_the_task(runtime: Runtime, repo: Path) -> None:
    """An API error makes Claude Code's result is_error: the task fails with the reason."""
    task = AgentTask(
        instruction="Fail.\nSTUB-ERROR status=500",
        agent_id="claude",
        work_dir=repo,
        timeout=120,
    )
    result = await runtime.agents.execute(task)
    assert result.status is TaskStatus.failed
    assert result.error is not None and "HTTP 500" in result.error


def test_seed_workflow_runs_end_to_end_with_both_clis(
    tmp_path: Path, repo: Path, agent_env: dict[str, str], tmux_socket: str
) -> None:
    """`gaia workflow run` on the seed: claude and gemini in parallel, then make test."""
    home = tmp_path / "cli-home"
    write_config(home)
    shutil.copy(EXAMPLE / "parallel-development.yaml", repo / "workflow.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAIA_")}
    env.update(GAIA_HOME=str(home), GAIA_TMUX_SOCKET=tmux_socket, COLUMNS="200")
    done = subprocess.run(
        [
            str(GAIA),
            "workflow",
            "run",
            str(repo / "workflow.yaml"),
            "--var",
            f"project_root={repo}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shown = subprocess.run(
        [
            str(GAIA),
            "workflow",
            "show",
            "--json",
            subprocess.run(
                [str(GAIA), "workflow", "list", "-q", "--limit", "1"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout.strip(),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count('"completed"') >= 3
    branches = git(repo, "branch", "--list", "gaia/*").split()
    assert len([b for b in branches if b.startswith("gaia/")]) == 2
