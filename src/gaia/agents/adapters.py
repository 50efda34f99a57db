"""Adapters for each agent CLI's non-interactive, structured mode (never screen scraping).

- claude: ``claude -p PROMPT --output-format stream-json --verbose``; the final
  ``{"type": "result"}`` event carries text, cost, usage and the session id. A result
  with ``is_error`` fails the task even when the exit code is 0.
- gemini: ``gemini -p PROMPT --output-format stream-json|json``; exit codes 41, 42, 53
  and 55 have documented meanings that become clear errors.
- codex: ``codex exec --json ...``; JSONL events ``item.completed``, ``turn.completed``
  and ``turn.failed``.
- command: any CLI from an argv template; the result is its stdout.
- system: the instruction run by ``/bin/sh -c``; the result is its stdout.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gaia._proc import describe_exit
from gaia.agents.base import AgentRun, AgentSpec, json_events, tail
from gaia.agents.task import AgentOutput

__all__ = [
    "ADAPTERS",
    "ClaudeAdapter",
    "CodexAdapter",
    "CommandAdapter",
    "GeminiAdapter",
    "SystemAdapter",
]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _failure(name: str, stderr: str, exit_code: int, what: str = "") -> str:
    message = f"{name} {describe_exit(exit_code)}{what}"
    detail = tail(stderr)
    return f"{message}: {detail}" if detail else message


class ClaudeAdapter:
    kind = "claude"

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]:
        argv = [*spec.command, "-p", run.prompt, "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", str(spec.options.get("permission_mode") or "acceptEdits")]
        if spec.model:
            argv += ["--model", spec.model]
        if spec.options.get("max_turns"):
            argv += ["--max-turns", str(spec.options["max_turns"])]
        return [*argv, *spec.args]

    def env(self, spec: AgentSpec, base: Mapping[str, str]) -> dict[str, str]:
        # Set inside a Claude Code shell; a child claude would think it is nested.
        return {k: v for k, v in base.items() if k != "CLAUDECODE"}

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
        result: dict[str, Any] | None = None
        session_id = None
        for event in json_events(stdout):
            session_id = event.get("session_id") or session_id
            if event.get("type") == "result":
                result = event
        if result is None:
            return AgentOutput(
                ok=False,
                error=_failure("claude", stderr, exit_code, " without a result event"),
                session_id=session_id,
            )
        usage = result.get("usage") if isinstance(result.get("usage"), dict) else {}
        assert isinstance(usage, dict)
        text = result.get("result")
        # An API error still says subtype "success": is_error and terminal_reason tell.
        is_error = bool(result.get("is_error")) or exit_code != 0
        subtype = result.get("subtype")
        reason = result.get("terminal_reason")
        error = None
        if is_error:
            kind = subtype if subtype and subtype != "success" else reason or "is_error"
            status = result.get("api_error_status")
            error = f"claude reported an error ({kind}{f', HTTP {status}' if status else ''})"
            if isinstance(text, str) and text:
                error += f": {text}"
            elif result.get("errors"):
                error += f": {result['errors']}"
        denials = result.get("permission_denials") or []
        input_tokens = sum(
            _int(usage.get(key)) or 0
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        return AgentOutput(
            ok=not is_error,
            text=text if isinstance(text, str) else "",
            error=error,
            session_id=result.get("session_id") or session_id,
            cost_usd=result.get("total_cost_usd"),
            input_tokens=input_tokens if usage else None,
            output_tokens=_int(usage.get("output_tokens")),
            num_turns=_int(result.get("num_turns")),
            duration_ms=_int(result.get("duration_ms")),
            meta={
                "subtype": subtype,
                "terminal_reason": reason,
                "usage": usage,
                # Tools the permission mode refused: the run "succeeded" without them.
                "permission_denials": [d.get("tool_name") for d in denials if isinstance(d, dict)],
            },
        )


# What the Gemini CLI's documented exit codes mean, and what to do about them. An API
# failure exits with the HTTP status modulo 256 (401 → 145, 500 → 244).
GEMINI_EXIT_CODES = {
    41: "authentication failed: set GEMINI_API_KEY or choose an auth type in ~/.gemini",
    42: "the input was rejected (invalid prompt or arguments)",
    44: "the sandbox failed to start",
    52: "the configuration file is invalid",
    53: "the session reached its turn limit",
    55: "the working directory is not trusted: set GEMINI_CLI_TRUST_WORKSPACE=true",
    145: "the API refused the credentials (HTTP 401)",
    147: "the API refused access (HTTP 403)",
    173: "the API rate limit was hit (HTTP 429)",
    244: "the API failed (HTTP 500)",
    247: "the API is unavailable (HTTP 503)",
}


class GeminiAdapter:
    kind = "gemini"

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]:
        output_format = str(spec.options.get("output_format") or "stream-json")
        argv = [*spec.command, "-p", run.prompt, "--output-format", output_format]
        argv += ["--approval-mode", str(spec.options.get("approval_mode") or "auto_edit")]
        if spec.model:
            argv += ["--model", spec.model]
        return [*argv, *spec.args]

    def env(self, spec: AgentSpec, base: Mapping[str, str]) -> dict[str, str]:
        # gaia chose the folder (often a fresh worktree): trust it without a prompt.
        return {**base, "GEMINI_CLI_TRUST_WORKSPACE": "true"}

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
        # With --output-format json an error goes to stderr as the last JSON object.
        document = _json_document(stdout) or _last_json_document(stderr)
        # A stream-json event (it has a "type") is not the json format's single document.
        is_document = document is not None and "type" not in document
        if document is not None and is_document and ("response" in document or "error" in document):
            output = self._parse_json(document)
        else:
            output = self._parse_stream(stdout)
        if exit_code != 0:
            output.ok = False
            known = GEMINI_EXIT_CODES.get(exit_code)
            reason = output.error or (f"gemini: {known}" if known else None)
            output.error = reason or _failure("gemini", stderr, exit_code)
            if known and known not in output.error:
                output.error += f" ({known})"
        elif not output.ok and output.error is None:
            output.error = _failure("gemini", stderr, exit_code, " without a result")
        return output

    @staticmethod
    def _parse_json(document: dict[str, Any]) -> AgentOutput:
        error = document.get("error")
        stats = document.get("stats") if isinstance(document.get("stats"), dict) else {}
        assert isinstance(stats, dict)
        input_tokens = output_tokens = 0
        models = stats.get("models") if isinstance(stats.get("models"), dict) else {}
        assert isinstance(models, dict)
        for model in models.values():
            tokens = model.get("tokens", {}) if isinstance(model, dict) else {}
            input_tokens += _int(tokens.get("prompt")) or _int(tokens.get("input")) or 0
            output_tokens += _int(tokens.get("candidates")) or 0
        response = document.get("response")
        message = None
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
        return AgentOutput(
            ok=not error,
            text=response if isinstance(response, str) else "",
            error=f"gemini reported an error: {message}" if error else None,
            session_id=document.get("session_id"),
            input_tokens=input_tokens if models else None,
            output_tokens=output_tokens if models else None,
            meta={"stats": stats},
        )

    @staticmethod
    def _parse_stream(stdout: str) -> AgentOutput:
        text: list[str] = []
        session_id = None
        result: dict[str, Any] | None = None
        errors: list[str] = []
        for event in json_events(stdout):
            kind = event.get("type")
            session_id = event.get("session_id") or session_id
            if kind == "message" and event.get("role") == "assistant":
                content = event.get("content")
                if isinstance(content, str):
                    text.append(content)
            elif kind == "error":
                errors.append(str(event.get("message") or event.get("error") or event))
            elif kind == "result":
                result = event
        if result is None:
            return AgentOutput(ok=False, text="".join(text), session_id=session_id)
        stats = result.get("stats") if isinstance(result.get("stats"), dict) else {}
        assert isinstance(stats, dict)
        failed = result.get("status") not in (None, "success") or (
            bool(errors) and result.get("status") != "success"
        )
        error = result.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        return AgentOutput(
            ok=not failed,
            text="".join(text),
            error=f"gemini reported an error: {message or '; '.join(errors)}" if failed else None,
            session_id=session_id,
            input_tokens=_int(stats.get("input_tokens")),
            output_tokens=_int(stats.get("output_tokens")),
            num_turns=_int(stats.get("turns")),
            duration_ms=_int(stats.get("duration_ms")),
            meta={"stats": stats, "warnings": errors} if errors else {"stats": stats},
        )


def _last_json_document(text: str) -> dict[str, Any] | None:
    """The last top-level JSON object in ``text`` (it ends a log of other lines)."""
    start = text.rfind("\n{")
    while start != -1:
        try:
            value = json.loads(text[start + 1 :])
        except json.JSONDecodeError:
            start = text.rfind("\n{", 0, start)
            continue
        return value if isinstance(value, dict) else None
    return None


def _json_document(text: str) -> dict[str, Any] | None:
    """The JSON object printed by ``--output-format json`` (possibly after log lines)."""
    start = text.find("{")
    while start != -1:
        try:
            value = json.loads(text[start:])
        except json.JSONDecodeError:
            start = text.find("\n{", start + 1)
            start = start + 1 if start != -1 else -1
            continue
        return value if isinstance(value, dict) else None
    return None


class CodexAdapter:
    kind = "codex"

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]:
        sandbox = str(spec.options.get("sandbox") or "workspace-write")
        argv = [*spec.command, "exec", "--json", "--sandbox", sandbox, "--skip-git-repo-check"]
        if spec.model:
            argv += ["--model", spec.model]
        return [*argv, *spec.args, run.prompt]

    def env(self, spec: AgentSpec, base: Mapping[str, str]) -> dict[str, str]:
        return dict(base)

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
        messages: list[str] = []
        session_id = None
        input_tokens = output_tokens = 0
        turns = 0
        failure: str | None = None
        for event in json_events(stdout):
            kind = event.get("type")
            if kind == "thread.started":
                session_id = event.get("thread_id")
            elif kind == "item.completed":
                item = event.get("item") or {}
                if item.get("type") == "agent_message" and isinstance(item.get("text"), str):
                    messages.append(item["text"])
            elif kind == "turn.completed":
                turns += 1
                usage = event.get("usage") or {}
                input_tokens += _int(usage.get("input_tokens")) or 0
                output_tokens += _int(usage.get("output_tokens")) or 0
            elif kind in ("turn.failed", "error"):
                error = event.get("error")
                detail = error.get("message") if isinstance(error, dict) else event.get("message")
                failure = str(detail or kind)
        ok = exit_code == 0 and failure is None and turns > 0
        error = None
        if failure is not None:
            error = f"codex reported an error: {failure}"
        elif not ok:
            error = _failure("codex", stderr, exit_code, "" if turns else " without a turn")
        return AgentOutput(
            ok=ok,
            text=messages[-1] if messages else "",
            error=error,
            session_id=session_id,
            input_tokens=input_tokens if turns else None,
            output_tokens=output_tokens if turns else None,
            num_turns=turns or None,
            meta={"messages": len(messages)},
        )


class CommandAdapter:
    """Any CLI: ``{prompt}``, ``{work_dir}``, ``{task_id}`` and ``{task_type}`` in its argv."""

    kind = "command"

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]:
        values = {
            "prompt": run.prompt,
            "work_dir": str(run.cwd),
            "task_id": run.task.id,
            "task_type": str(run.task.task_type),
        }
        argv = [_substitute(part, values) for part in spec.command]
        if not any("{prompt}" in part for part in spec.command):
            argv.append(run.prompt)  # a template without {prompt} takes it last
        return [*argv, *spec.args]

    def env(self, spec: AgentSpec, base: Mapping[str, str]) -> dict[str, str]:
        return dict(base)

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
        if exit_code == 0:
            return AgentOutput(ok=True, text=stdout)
        return AgentOutput(ok=False, text=stdout, error=_failure("the agent", stderr, exit_code))


def _substitute(part: str, values: Mapping[str, str]) -> str:
    # str.format would choke on other braces (JSON in arguments); replace only our names.
    for name, value in values.items():
        part = part.replace("{" + name + "}", value)
    return part


class SystemAdapter(CommandAdapter):
    """The instruction is a shell command."""

    kind = "system"

    def argv(self, spec: AgentSpec, run: AgentRun) -> list[str]:
        return [*spec.command, "-c", run.task.instruction]

    def parse(self, stdout: str, stderr: str, exit_code: int) -> AgentOutput:
        if exit_code == 0:
            return AgentOutput(ok=True, text=stdout)
        return AgentOutput(ok=False, text=stdout, error=_failure("the command", stderr, exit_code))


ADAPTERS: dict[str, type[ClaudeAdapter | GeminiAdapter | CodexAdapter | CommandAdapter]] = {
    "claude": ClaudeAdapter,
    "gemini": GeminiAdapter,
    "codex": CodexAdapter,
    "command": CommandAdapter,
    "system": SystemAdapter,
}
