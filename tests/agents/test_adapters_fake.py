"""The command and system adapters, end to end through the bridge with real processes."""

from __future__ import annotations

import asyncio
import signal
import sys

import psutil
import pytest

from gaia.agents import Agent, AgentResult, AgentTask, TaskStatus, TaskType
from gaia.agents.registry import spec_from_settings
from gaia.agents.task import render_prompt
from gaia.config import AgentSettings
from gaia.errors import AgentError, AgentUnavailableError
from tests.agents.conftest import FAKE_AGENT, Harness


async def run(harness: Harness, task: AgentTask, *agents: Agent) -> AgentResult:
    bridge = await harness.bridge(*agents)
    return await asyncio.wait_for(bridge.execute(task), 15)


async def test_template_placeholders_are_substituted(harness: Harness) -> None:
    """{prompt}, {task_id}, {work_dir} and {task_type} in the argv template are filled in."""
    command = [
        sys.executable,
        str(FAKE_AGENT),
        "--journal",
        str(harness.journal.path),
        "--agent",
        "cmd",
        "--task-id",
        "{task_id}",
        "--where",
        "dir={work_dir}",
        "--kind",
        "{task_type}",
        "{prompt}",
    ]
    task = harness.task("subst", "@print ok", agent="cmd", task_type=TaskType.test)
    result = await run(harness, task, harness.agent("cmd", command=command))
    assert result.success
    start = harness.journal.first("start", "subst")
    assert start["argv"] == [
        "--journal",
        str(harness.journal.path),
        "--agent",
        "cmd",
        "--task-id",
        task.id,
        "--where",
        f"dir={harness.work}",
        "--kind",
        "test",
        task.instruction,
    ]
    assert start["cwd"] == str(harness.work)


async def test_template_without_prompt_gets_it_last(harness: Harness) -> None:
    """A template without {prompt} receives the prompt as its last argument."""
    command = [sys.executable, str(FAKE_AGENT), "--journal", str(harness.journal.path)]
    task = harness.task("bare", "@print ran", agent="bare")
    result = await run(harness, task, harness.agent("bare", command=command))
    assert result.output == "ran\n"
    start = harness.journal.first("start", "bare")
    assert start["argv"] == ["--journal", str(harness.journal.path), task.instruction]


async def test_context_is_rendered_as_a_preamble(harness: Harness) -> None:
    """The context map reaches the agent as a preamble before the instruction."""
    context = {"lang": "go", "files": ["a.py", "b.py"], "diff": "--- a\n+++ b\n+new line\n"}
    task = harness.task("ctx", "@print ok", context=context)
    result = await run(harness, task)
    assert result.success
    prompt = harness.journal.first("start", "ctx")["prompt"]
    assert prompt == render_prompt(task.instruction, context) == task.prompt
    assert prompt.startswith("Context:\n- lang: go\n")
    assert '- files: ["a.py", "b.py"]' in prompt
    assert "- diff:\n```\n--- a\n+++ b\n+new line\n```" in prompt
    assert prompt.endswith("\n\nTask:\n" + task.instruction)


def test_render_prompt_without_context_is_the_instruction() -> None:
    """Without context the prompt is the instruction itself."""
    assert render_prompt("do it", {}) == "do it"


async def test_result_is_stdout(harness: Harness) -> None:
    """A successful agent's result is its stdout; stderr goes to the log beside it."""
    task = harness.task("out", "@print hello", "@stderr noise", "@print world")
    result = await run(harness, task)
    assert result.status is TaskStatus.succeeded
    assert (result.output, result.exit_code, result.error) == ("hello\nworld\n", 0, None)
    assert (harness.logs / f"{task.id}.log").read_text() == "hello\nworld\n"
    assert (harness.logs / f"{task.id}.err").read_text() == "noise\n"


async def test_nonzero_exit_fails_with_the_stderr_tail(harness: Harness) -> None:
    """A non-zero exit fails the task; the error names the status and ends with stderr."""
    lines = [f"@stderr problem {i}" for i in range(1, 8)]
    task = harness.task("bad", "@print partial", *lines, "@exit 3")
    result = await run(harness, task)
    assert result.status is TaskStatus.failed
    assert result.exit_code == 3
    assert result.output == "partial\n"
    tail = "\n".join(f"problem {i}" for i in range(3, 8))
    assert result.error == f"the agent exited with status 3: {tail}"


async def test_killed_agent_is_described_by_its_signal(harness: Harness) -> None:
    """An agent killed by a signal fails with an error naming the signal."""
    bridge = await harness.bridge()
    future = bridge.submit(harness.task("killed", "@sleep 30"))
    start = await harness.started("killed")
    psutil.Process(start["pid"]).send_signal(signal.SIGKILL)
    result = await asyncio.wait_for(future, 15)
    assert result.status is TaskStatus.failed
    assert result.exit_code == -signal.SIGKILL
    assert result.error == "the agent killed by SIGKILL"


async def test_agent_and_task_environment(harness: Harness) -> None:
    """The agent sees its configured env and the task's env."""
    agent = harness.agent(env={"FAKE_SETTING": "from-config"})
    task = harness.task("env", "@env FAKE_SETTING", "@env FAKE_TASK", env={"FAKE_TASK": "t"})
    result = await run(harness, task, agent)
    assert result.output == "FAKE_SETTING=from-config\nFAKE_TASK=t\n"


async def test_system_agent_runs_the_instruction_in_a_shell(harness: Harness) -> None:
    """The system agent runs the instruction with /bin/sh; failures carry stderr."""
    bridge = await harness.bridge(harness.agent("system", command=None))
    ok = await bridge.execute(
        AgentTask(
            instruction="printf 'a\\nb\\n'; pwd",
            agent_id="system",
            task_type=TaskType.shell,
            work_dir=harness.work,
        )
    )
    assert ok.success and ok.output == f"a\nb\n{harness.work}\n"
    bad = await bridge.execute(
        AgentTask(
            instruction="echo out; echo err >&2; exit 2", agent_id="system", task_type=TaskType.test
        )
    )
    assert bad.status is TaskStatus.failed
    assert (bad.exit_code, bad.output) == (2, "out\n")
    assert bad.error == "the command exited with status 2: err"


async def test_missing_executable_is_unavailable(harness: Harness) -> None:
    """A command agent whose executable does not exist cannot take tasks."""
    ghost = harness.agent("ghost", command=["/nonexistent/ghost-cli", "{prompt}"])
    bridge = await harness.bridge(ghost)
    assert not ghost.available()
    with pytest.raises(AgentUnavailableError, match="'/nonexistent/ghost-cli' was not found"):
        bridge.submit(harness.task("nope", agent="ghost"))


def test_command_agent_needs_a_command() -> None:
    """A command agent configured without a command is rejected with an example."""
    with pytest.raises(AgentError, match="needs a command"):
        spec_from_settings("mine", AgentSettings())
    spec = spec_from_settings("mine", AgentSettings(command=["x", "{prompt}"]))
    assert (spec.kind, spec.command) == ("command", ("x", "{prompt}"))
    assert spec.capabilities == {"code", "review", "refactor", "test"}
