"""Adapters: argv built for each CLI, and real CLI output (recorded fixtures) parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from gaia.agents.adapters import (
    ClaudeAdapter,
    CodexAdapter,
    CommandAdapter,
    GeminiAdapter,
    SystemAdapter,
)
from gaia.agents.base import AgentRun, AgentSpec
from gaia.agents.launch import DirectLauncher
from gaia.agents.registry import spec_from_settings
from gaia.agents.task import AgentTask, TaskType, render_prompt
from gaia.config import AgentSettings

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def make_run(spec: AgentSpec, task: AgentTask, tmp_path: Path) -> AgentRun:
    return AgentRun(
        task=task,
        prompt=task.prompt,
        cwd=tmp_path,
        log_path=tmp_path / "t.log",
        stderr_path=tmp_path / "t.err",
        cookie="agent/test",
        kill_grace=1.0,
        launcher=DirectLauncher(),
        env={},
    )


def test_claude_argv_has_structured_mode_permission_model_and_turns(tmp_path: Path) -> None:
    """claude runs with -p, stream-json, --verbose, acceptEdits by default, model and turns."""
    spec = spec_from_settings("claude", AgentSettings(model="opus", max_turns=7, args=["--x"]))
    argv = ClaudeAdapter().argv(spec, make_run(spec, AgentTask(instruction="do it"), tmp_path))
    assert argv[:3] == ["claude", "-p", "do it"]
    assert argv[3:6] == ["--output-format", "stream-json", "--verbose"]
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert argv[argv.index("--model") + 1] == "opus"
    assert argv[argv.index("--max-turns") + 1] == "7"
    assert argv[-1] == "--x"


def test_claude_environment_drops_claudecode() -> None:
    """CLAUDECODE (set inside Claude Code) is removed from the child's environment."""
    spec = spec_from_settings("claude", AgentSettings())
    env = ClaudeAdapter().env(spec, {"CLAUDECODE": "1", "KEEP": "yes"})
    assert env == {"KEEP": "yes"}


def test_claude_result_event_gives_text_session_cost_usage_turns() -> None:
    """The final result event of a real run gives text, session id, cost, tokens and turns."""
    output = ClaudeAdapter().parse(fixture("claude_stream.jsonl"), "", 0)
    assert output.ok and output.error is None
    assert output.text == "done"
    assert output.session_id == "6cf5a68f-6da1-486e-8093-5c472aa95707"
    assert output.cost_usd is not None and output.cost_usd > 0
    assert (output.input_tokens, output.output_tokens, output.num_turns) == (20, 10, 2)
    assert output.duration_ms is not None


def test_claude_is_error_fails_even_with_exit_zero() -> None:
    """An is_error result (API error, subtype still 'success') is a failure at exit 0 too."""
    output = ClaudeAdapter().parse(fixture("claude_error.jsonl"), "", 0)
    assert not output.ok
    assert output.error is not None
    assert "api_error" in output.error and "HTTP 500" in output.error
    assert output.session_id == "c72e9cff-e7ec-4fae-9e6d-028a8b44f955"


def test_claude_without_result_event_reports_exit_and_stderr() -> None:
    """A run that never printed a result says how the process ended and what stderr said."""
    output = ClaudeAdapter().parse(
        '{"type":"system","subtype":"init","session_id":"s1"}\n', "boom: bad flag\n", 2
    )
    assert not output.ok
    assert output.error == "claude exited with status 2 without a result event: boom: bad flag"
    assert output.session_id == "s1"


def test_gemini_argv_uses_approval_mode_and_output_format(tmp_path: Path) -> None:
    """gemini runs with -p, stream-json by default, auto_edit, and trusts the workspace."""
    spec = spec_from_settings("gemini", AgentSettings())
    argv = GeminiAdapter().argv(spec, make_run(spec, AgentTask(instruction="x"), tmp_path))
    assert argv == [
        "gemini",
        "-p",
        "x",
        "--output-format",
        "stream-json",
        "--approval-mode",
        "auto_edit",
    ]
    configured = spec_from_settings(
        "gemini", AgentSettings(approval_mode="yolo", output_format="json")
    )
    argv = GeminiAdapter().argv(
        configured, make_run(configured, AgentTask(instruction="x"), tmp_path)
    )
    assert "yolo" in argv and "json" in argv
    assert GeminiAdapter().env(spec, {})["GEMINI_CLI_TRUST_WORKSPACE"] == "true"


@pytest.mark.parametrize("name", ["gemini.json", "gemini_stream.jsonl"])
def test_gemini_success_gives_response_session_and_tokens(name: str) -> None:
    """Both output formats of a real run give the response, session id and token counts."""
    output = GeminiAdapter().parse(fixture(name), "", 0)
    assert output.ok and output.text == "done"
    assert output.session_id
    assert (output.input_tokens, output.output_tokens) == (30, 15)


def test_gemini_json_error_on_stderr_is_read() -> None:
    """With --output-format json an API error comes on stderr; its message is reported."""
    output = GeminiAdapter().parse("", fixture("gemini_error.stderr.txt"), 244)
    assert not output.ok
    assert output.error is not None and "stub: HTTP 500" in output.error
    assert "HTTP 500" in output.error
    assert output.session_id == "d16853ae-097a-40b3-a93d-fb08c517a283"


def test_gemini_stream_error_result_fails() -> None:
    """A stream-json result with status error fails the task with its message."""
    output = GeminiAdapter().parse(fixture("gemini_stream_error.jsonl"), "", 244)
    assert not output.ok
    assert output.error is not None and "stub: HTTP 500" in output.error
    assert output.session_id == "ccee02d1-1a6b-4e4b-930d-8bcd955fb4d6"


@pytest.mark.parametrize(
    ("code", "words"),
    [(41, "authentication"), (42, "input"), (53, "turn limit"), (55, "not trusted")],
)
def test_gemini_documented_exit_codes_become_clear_errors(code: int, words: str) -> None:
    """Exit codes 41, 42, 53 and 55 are explained in the error."""
    output = GeminiAdapter().parse("", "", code)
    assert not output.ok
    assert output.error is not None and words in output.error


def test_codex_argv_is_exec_json_sandboxed(tmp_path: Path) -> None:
    """codex runs exec --json --sandbox workspace-write --skip-git-repo-check PROMPT."""
    spec = spec_from_settings("codex", AgentSettings())
    argv = CodexAdapter().argv(spec, make_run(spec, AgentTask(instruction="p"), tmp_path))
    assert argv == [
        "codex",
        "exec",
        "--json",
        "--sandbox",
        "workspace-write",
        "--skip-git-repo-check",
        "p",
    ]


def test_codex_events_give_message_thread_and_usage() -> None:
    """item.completed agent_message is the text; turn.completed gives the usage."""
    output = CodexAdapter().parse(fixture("codex.jsonl"), "", 0)
    assert output.ok and output.text == "done"
    assert output.session_id == "01a20e68-bed6-72b2-aa3c-eeee4aecefd9"
    assert (output.input_tokens, output.output_tokens, output.num_turns) == (20, 10, 1)


def test_codex_turn_failed_is_a_failure() -> None:
    """turn.failed fails the task with its message."""
    output = CodexAdapter().parse(fixture("codex_error.jsonl"), "", 1)
    assert not output.ok
    assert output.error is not None and output.error.startswith("codex reported an error")


def test_command_template_substitutes_prompt_and_work_dir(tmp_path: Path) -> None:
    """{prompt} and {work_dir} are replaced; other braces (JSON) are left alone."""
    spec = spec_from_settings(
        "aider", AgentSettings(command=["aider", "--message", "{prompt}", "{work_dir}", "{x}"])
    )
    task = AgentTask(instruction="fix", context={"lang": "go"})
    argv = CommandAdapter().argv(spec, make_run(spec, task, tmp_path))
    assert argv == [
        "aider",
        "--message",
        render_prompt("fix", {"lang": "go"}),
        str(tmp_path),
        "{x}",
    ]


def test_command_without_prompt_placeholder_takes_prompt_last(tmp_path: Path) -> None:
    """A template without {prompt} gets the prompt as its last argument."""
    spec = spec_from_settings("echoer", AgentSettings(command=["echo"]))
    argv = CommandAdapter().argv(spec, make_run(spec, AgentTask(instruction="hi"), tmp_path))
    assert argv == ["echo", "hi"]


def test_system_runs_the_instruction_in_a_shell(tmp_path: Path) -> None:
    """The system agent runs the instruction itself with /bin/sh -c."""
    spec = spec_from_settings("system", AgentSettings())
    task = AgentTask(instruction="echo hi", task_type=TaskType.shell, context={"a": 1})
    assert SystemAdapter().argv(spec, make_run(spec, task, tmp_path)) == [
        "/bin/sh",
        "-c",
        "echo hi",
    ]


def test_prompt_preamble_renders_context() -> None:
    """The context map becomes a short preamble; multi-line values are fenced."""
    prompt = render_prompt("Do X", {"language": "go", "diff": "a\nb\n", "n": 3})
    assert prompt == ("Context:\n- language: go\n- diff:\n```\na\nb\n```\n- n: 3\n\nTask:\nDo X")
    assert render_prompt("Do X", {}) == "Do X"
