"""Workflow agent tasks through the bridge: code on a branch, a review that sees its diff."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gaia.config import AgentSettings, Settings, load_settings
from gaia.runtime import Runtime
from gaia.workflows.engine import RunStatus
from tests.agents.conftest import JournalReader, fake_command, git, make_repo


@pytest.fixture
def journal(tmp_path: Path) -> JournalReader:
    return JournalReader(tmp_path / "journal.jsonl")


@pytest.fixture
def settings(gaia_home: Path, tmux_socket: str, journal: JournalReader) -> Settings:
    """The shared test settings plus one command agent, ``fake``, running fake_agent.py."""
    return load_settings(
        home=gaia_home,
        environ={},
        tmux_socket=tmux_socket,
        kill_grace_period=1.0,
        heartbeat_interval=0.2,
        stale_heartbeat=5.0,
        agents={"fake": AgentSettings(command=fake_command(journal.path, "fake"))},
    )


async def test_review_task_sees_the_code_tasks_diff(
    runtime: Runtime, journal: JournalReader, tmp_path: Path
) -> None:
    """code (fake) -> review (fake) -> test (system) completes; the review gets the diff."""
    repo = make_repo(tmp_path / "repo")
    workflow = tmp_path / "agents.yaml"
    workflow.write_text(
        textwrap.dedent(
            f"""
            name: agents
            working_dir: {repo}
            tasks:
              - id: code
                type: code
                agent: fake
                command: |
                  @name code
                  @write feature.txt hello-from-the-code-task
              - id: review
                type: review
                agent: fake
                dependencies: [code]
                command: |
                  @name review
                  @print LGTM
              - id: test
                type: test
                agent: system
                dependencies: [review]
                command: echo tests pass
            """
        )
    )
    manager = runtime.workflows
    run_id = manager.create(manager.load_file(workflow))
    result = await manager.execute(run_id)
    detail = manager.get(run_id)
    assert result.status is RunStatus.completed, [(t.id, t.error) for t in detail.tasks]
    assert {t.id: t.status for t in detail.tasks} == dict.fromkeys(
        ["code", "review", "test"], "completed"
    )

    code_start = journal.first("start", "code")
    assert Path(code_start["cwd"]).parent == runtime.home.worktrees
    branch = f"gaia/{Path(code_start['cwd']).name}"
    assert git(repo, "show", f"{branch}:feature.txt") == "hello-from-the-code-task\n"
    assert git(repo, "status", "--porcelain") == ""

    review = journal.first("start", "review")
    assert Path(review["cwd"]) == repo  # a review runs in place
    prompt = review["prompt"]
    assert "- workflow task: review" in prompt
    assert f"diff of code ({branch})" in prompt
    assert "+hello-from-the-code-task" in prompt
    assert "feature.txt" in prompt
    assert prompt.endswith("Task:\n@name review\n@print LGTM\n")
