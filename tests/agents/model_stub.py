"""A scripted stand-in for the Anthropic, Gemini and OpenAI model APIs on 127.0.0.1.

The real agent CLIs (Claude Code, Gemini CLI, Codex) talk to it instead of the vendors'
services, so tests can run them end to end with no network and no API key.

The script is in the agent's prompt, as directive lines (:func:`directive` builds them)::

    STUB-WRITE path="hello.txt" content="hello from claude"
    STUB-REPLY text="done"
    STUB-ERROR status=500

Values are JSON string literals, so any text (newlines too) fits on one line. For each
``STUB-WRITE`` line, in order, the stub answers the agent's main request with a call to
its file-writing tool: Claude Code ``Write`` and Gemini CLI ``write_file``, with
``file_path`` set to ``path`` joined to the agent's working directory (read from the
request; an absolute ``path`` is used as is), and Codex ``apply_patch`` with an
``*** Add File: path`` patch (Codex adds a final newline). Then it answers with the
last ``STUB-REPLY`` text (default ``"done"``). How far a session has got is read from the
conversation itself (the number of tool results in it), so the stub keeps no
per-session state and any number of sessions can run against one stub at once.
``STUB-ERROR status=N`` makes every model call of that session fail with HTTP ``N``.
With no directive the answer is :data:`DEFAULT_REPLY`. The CLIs themselves refuse to
write outside their working directory (Claude Code in ``acceptEdits`` mode, Gemini CLI).

Requests for JSON output (Gemini CLI's model router) get a JSON value that fits the
requested schema. Anything else (``HEAD /``, ``count_tokens``, ``countTokens``) gets a
harmless 200; unknown POST routes get 404.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_REPLY",
    "ModelStub",
    "Script",
    "claude_env",
    "clean_environ",
    "codex_env",
    "directive",
    "gemini_env",
    "parse_script",
]

DEFAULT_REPLY = "stub: no directive"

_JSON_STR = r'"(?:[^"\\]|\\.)*"'
_WRITE_RE = re.compile(rf"STUB-WRITE path=({_JSON_STR}) content=({_JSON_STR})")
_REPLY_RE = re.compile(rf"STUB-REPLY text=({_JSON_STR})")
_ERROR_RE = re.compile(r"STUB-ERROR status=(\d{3})")
# Claude Code 2.1: a "system" turn in `messages` says "Primary working directory: /abs";
# older versions put "Working directory: /abs" in the system prompt.
_CLAUDE_CWD_RE = re.compile(r"(?i)working directory: (/[^\n]*)")
# Gemini CLI 0.61: the first user turn (<session_context>) lists "- **Workspace
# Directories:**" then "  - /abs" lines, the working directory first; older versions
# said "I'm currently working in the directory: /abs".
_GEMINI_CWD_RE = re.compile(
    r"Workspace Directories:\**[ \t]*\n[ \t]*- (/[^\n]*)|working in the directory: (/[^\n]*)"
)
_MAX_BODY = 64 * 1024 * 1024
_USAGE_IN, _USAGE_OUT = 10, 5


def directive(path: str, content: str, reply: str = "done") -> str:
    """The prompt text that makes the stub write ``content`` to ``path``, then say ``reply``."""
    return (
        f"STUB-WRITE path={json.dumps(path)} content={json.dumps(content)}\n"
        f"STUB-REPLY text={json.dumps(reply)}\n"
    )


class Script:
    """What one session's prompt asks of the stub."""

    def __init__(self, writes: list[tuple[str, str]], reply: str, error: int | None) -> None:
        self.writes = writes
        self.reply = reply
        self.error = error


def parse_script(text: str) -> Script:
    """The ``STUB-*`` directives in ``text`` (the user turns of a conversation)."""
    writes = [(str(json.loads(p)), str(json.loads(c))) for p, c in _WRITE_RE.findall(text)]
    replies = _REPLY_RE.findall(text)  # the last one wins, so directive()s concatenate
    reply = str(json.loads(replies[-1])) if replies else ("done" if writes else DEFAULT_REPLY)
    error_match = _ERROR_RE.search(text)
    return Script(writes, reply, int(error_match.group(1)) if error_match else None)


def _resolve(cwd: str | None, path: str) -> str:
    if PurePosixPath(path).is_absolute() or not cwd:
        return path
    return str(PurePosixPath(cwd.strip()) / path)


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


# --------------------------------------------------------------------------- Anthropic


def _anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(
        str(block.get("text", ""))
        for block in (content if isinstance(content, list) else [])
        if isinstance(block, dict) and block.get("type") == "text"
    )


def _anthropic_plan(body: dict[str, Any]) -> tuple[int | None, list[dict[str, Any]], str]:
    """(error status, content blocks, stop reason) for one Messages API request."""
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    user = [m for m in messages if m.get("role") == "user"]
    script = parse_script("\n".join(_anthropic_text(m.get("content")) for m in user))
    if script.error:
        return script.error, [], "end_turn"
    tools = {t.get("name") for t in body.get("tools", []) if isinstance(t, dict)}
    blocks = [b for m in user if isinstance(m.get("content"), list) for b in m["content"]]
    done = sum(1 for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result")
    if "Write" not in tools or done >= len(script.writes):
        return None, [{"type": "text", "text": script.reply}], "end_turn"
    turns = "\n".join(_anthropic_text(m.get("content")) for m in messages)
    cwd_match = _CLAUDE_CWD_RE.search(turns) or _CLAUDE_CWD_RE.search(
        _anthropic_text(body.get("system", ""))
    )
    path, content = script.writes[done]
    tool_input = {
        "file_path": _resolve(cwd_match.group(1) if cwd_match else None, path),
        "content": content,
    }
    block = {"type": "tool_use", "id": _new_id("toolu_"), "name": "Write", "input": tool_input}
    return None, [block], "tool_use"


def _anthropic_message(
    body: dict[str, Any], blocks: list[dict[str, Any]], stop: str
) -> dict[str, Any]:
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "stub-model"),
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": _USAGE_IN, "output_tokens": _USAGE_OUT},
    }


def _anthropic_stream(message: dict[str, Any]) -> bytes:
    start = dict(message, content=[], stop_reason=None)
    start["usage"] = {"input_tokens": _USAGE_IN, "output_tokens": 1}
    out = [_sse("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            first = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            first = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        for event, data in (
            ("content_block_start", {"index": index, "content_block": first}),
            ("content_block_delta", {"index": index, "delta": delta}),
            ("content_block_stop", {"index": index}),
        ):
            out.append(_sse(event, {"type": event, **data}))
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    out.append(
        _sse(
            "message_delta",
            {"type": "message_delta", "delta": stop, "usage": {"output_tokens": _USAGE_OUT}},
        )
    )
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


def _anthropic_error(status: int) -> dict[str, Any]:
    kinds = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    kind = kinds.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": f"stub: HTTP {status}"}}


# --------------------------------------------------------------------------- Gemini


def _gemini_user_text(contents: list[dict[str, Any]]) -> str:
    return "\n".join(
        str(part["text"])
        for c in contents
        if c.get("role", "user") == "user"
        for part in c.get("parts", [])
        if isinstance(part, dict) and "text" in part
    )


def _schema_instance(schema: Any, name: str = "") -> Any:
    """A value that fits a (simple) JSON schema, as Gemini's JSON mode would return."""
    if not isinstance(schema, dict):
        return {}
    if name == "next_speaker":  # Gemini CLI's "who speaks next" check: the user, so stop.
        return "user"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _schema_instance(sub, key) for key, sub in props.items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        # The router wants complexity_score in 1..100 (low picks the flash model).
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "stub"


def _gemini_plan(body: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """(error status, generateContent response) for one Gemini request."""
    contents = [c for c in body.get("contents", []) if isinstance(c, dict)]
    user_text = _gemini_user_text(contents)
    script = parse_script(user_text)
    if script.error:
        return script.error, {}
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None or config.get("responseMimeType") == "application/json":
        return None, _gemini_response([{"text": json.dumps(_schema_instance(schema))}])
    declared = {
        decl.get("name")
        for tool in body.get("tools", [])
        if isinstance(tool, dict)
        for decl in tool.get("functionDeclarations", [])
        if isinstance(decl, dict)
    }
    done = sum(
        1
        for c in contents
        for part in c.get("parts", [])
        if isinstance(part, dict) and "functionResponse" in part
    )
    if "write_file" not in declared or done >= len(script.writes):
        return None, _gemini_response([{"text": script.reply}])
    cwd_match = _GEMINI_CWD_RE.search(user_text)
    cwd = (cwd_match.group(1) or cwd_match.group(2)) if cwd_match else None
    path, content = script.writes[done]
    args = {"file_path": _resolve(cwd, path), "content": content}
    return None, _gemini_response([{"functionCall": {"name": "write_file", "args": args}}])


def _gemini_response(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": _USAGE_IN,
            "candidatesTokenCount": _USAGE_OUT,
            "totalTokenCount": _USAGE_IN + _USAGE_OUT,
        },
        "modelVersion": "stub-model",
        "responseId": _new_id(""),
    }


def _gemini_error(status: int) -> dict[str, Any]:
    statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    message = f"stub: HTTP {status}"
    return {"error": {"code": status, "message": message, "status": statuses.get(status, "")}}


# --------------------------------------------------------------------------- OpenAI


def _openai_user_text(items: Any) -> str:
    if isinstance(items, str):
        return items
    texts: list[str] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return "\n".join(texts)


def _openai_plan(body: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """(error status, Responses API response) for one request."""
    items = body.get("input")
    script = parse_script(_openai_user_text(items))
    if script.error:
        return script.error, {}
    tools = {t.get("name") for t in body.get("tools", []) if isinstance(t, dict)}
    done = sum(
        1
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
        and item.get("type") in ("custom_tool_call_output", "function_call_output")
    )
    output: dict[str, Any]
    if "apply_patch" in tools and done < len(script.writes):
        path, content = script.writes[done]
        added = "".join(f"+{line}\n" for line in content.splitlines() or [""])
        output = {
            "type": "custom_tool_call",
            "id": _new_id("ctc_"),
            "call_id": _new_id("call_"),
            "status": "completed",
            "name": "apply_patch",
            "input": f"*** Begin Patch\n*** Add File: {path}\n{added}*** End Patch\n",
        }
    else:
        output = {
            "type": "message",
            "id": _new_id("msg_"),
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": script.reply, "annotations": []}],
        }
    return None, {
        "id": _new_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": body.get("model", "stub-model"),
        "output": [output],
        "usage": {
            "input_tokens": _USAGE_IN,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": _USAGE_OUT,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": _USAGE_IN + _USAGE_OUT,
        },
    }


def _openai_stream(response: dict[str, Any]) -> bytes:
    created = dict(response, status="in_progress", output=[], usage=None)
    out = [_sse("response.created", {"type": "response.created", "response": created})]
    for index, item in enumerate(response["output"]):
        is_message = item["type"] == "message"
        started = dict(item, status="in_progress", **({"content": []} if is_message else {}))
        added = {"type": "response.output_item.added", "output_index": index, "item": started}
        out.append(_sse("response.output_item.added", added))
        if is_message:
            delta = {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "delta": item["content"][0]["text"],
            }
            out.append(_sse("response.output_text.delta", delta))
        finished = {"type": "response.output_item.done", "output_index": index, "item": item}
        out.append(_sse("response.output_item.done", finished))
    out.append(_sse("response.completed", {"type": "response.completed", "response": response}))
    return b"".join(out)


def _openai_error(status: int) -> dict[str, Any]:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": f"stub: HTTP {status}", "type": kind, "code": None}}


# --------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle or half-sent before it is dropped
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        raw = self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        if status >= 400:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _handle(self) -> None:
        body = self._read_body()
        self.server.stub._record(self.command, self.path, body, dict(self.headers.items()))
        route = urlsplit(self.path).path
        if self.command != "POST" or not isinstance(body, dict):
            self._json(200, {"models": []} if route.endswith("/models") else {})
        elif route.endswith("/messages/count_tokens"):
            self._json(200, {"input_tokens": _USAGE_IN})
        elif route.endswith("/messages"):
            self._anthropic(body)
        elif route.endswith(":countTokens"):
            self._json(200, {"totalTokens": _USAGE_IN})
        elif route.endswith((":generateContent", ":streamGenerateContent")):
            self._gemini(body, stream=route.endswith(":streamGenerateContent"))
        elif route.endswith("/responses"):
            self._openai(body)
        else:
            self._json(404, {"error": {"message": f"stub: no route for {route}"}})

    def _anthropic(self, body: dict[str, Any]) -> None:
        error, blocks, stop = _anthropic_plan(body)
        if error:
            self._json(error, _anthropic_error(error))
            return
        message = _anthropic_message(body, blocks, stop)
        if body.get("stream"):
            self._send(200, _anthropic_stream(message), "text/event-stream")
        else:
            self._json(200, message)

    def _gemini(self, body: dict[str, Any], stream: bool) -> None:
        error, response = _gemini_plan(body)
        if error:
            self._json(error, _gemini_error(error))
        elif stream:
            self._send(200, f"data: {json.dumps(response)}\r\n\r\n".encode(), "text/event-stream")
        else:
            self._json(200, response)

    def _openai(self, body: dict[str, Any]) -> None:
        error, response = _openai_plan(body)
        if error:
            self._json(error, _openai_error(error))
        elif body.get("stream"):
            self._send(200, _openai_stream(response), "text/event-stream")
        else:
            self._json(200, response)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, stub: ModelStub) -> None:
        self.stub = stub
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing about clients that went away, timed out or were dropped by stop()."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        """Unblock every handler thread still reading from a client."""
        with self.connections_lock:
            connections = list(self.connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class ModelStub:
    """The scripted model server; a context manager, or call start() and stop()."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ModelStub:
        """Bind 127.0.0.1 on an ephemeral port and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"model-stub-{port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and drop open connections."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.drop_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> ModelStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        entry = {"method": method, "path": path, "body": body, "headers": headers}
        with self._lock:
            self.requests.append(entry)


# --------------------------------------------------------------------------- environments

# Variables of the calling environment that would redirect or reconfigure an agent CLI
# (e.g. CLAUDECODE=1 when the tests themselves run inside Claude Code).
_FOREIGN_PREFIXES = ("CLAUDE", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "OPENAI_", "CODEX_")


def clean_environ() -> dict[str, str]:
    """``os.environ`` without the variables that configure Claude Code, Gemini CLI or Codex."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}


def claude_env(stub_url: str, home: Path) -> dict[str, str]:
    """Variables that point Claude Code at the stub, with ``home`` as its HOME.

    Pass ``--permission-mode acceptEdits`` (the file tools then need no approval, also as
    root) and drop ``CLAUDECODE`` from the environment (:func:`clean_environ` does).
    """
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": stub_url,
        "ANTHROPIC_API_KEY": "sk-ant-stub",
        # No telemetry, update checks or `HEAD /api/hello` probe.
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        # An API error ends the run at once (by default 10 retries, about 3 minutes).
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }


def gemini_env(stub_url: str, home: Path) -> dict[str, str]:
    """Variables that point Gemini CLI at the stub; writes ``home/.gemini/settings.json``.

    Pass ``--approval-mode yolo`` or ``auto_edit`` (in the default mode the CLI does not
    even offer ``write_file`` to the model when run non-interactively).
    """
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        # An API error ends the main request at once (by default 10 attempts with
        # backoff); the router's own calls still retry 5 times unless --model is given.
        "general": {"maxAttempts": 1},
        # No usage statistics: no DNS lookups, no lspci/xrandr hardware probes.
        "privacy": {"usageStatisticsEnabled": False},
    }
    path = home / ".gemini" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    tmp = home / "tmp"  # error reports (gemini-client-error-*.json) go to $TMPDIR
    tmp.mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "GOOGLE_GEMINI_BASE_URL": stub_url,
        "GEMINI_API_KEY": "stub-key",
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
        # One process instead of a node parent re-running itself with a bigger heap.
        "GEMINI_CLI_NO_RELAUNCH": "true",
    }


def codex_env(stub_url: str, home: Path) -> dict[str, str]:
    """Variables that point Codex at the stub; writes ``home/.codex/config.toml``.

    Run ``codex exec --json --sandbox workspace-write --skip-git-repo-check PROMPT`` with
    stdin closed or empty (it reads extra prompt text from a non-terminal stdin).
    """
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        "\n".join(
            [
                'model = "gpt-5.5"',
                'model_provider = "stub"',
                "check_for_update_on_startup = false",
                "",
                "[model_providers.stub]",
                'name = "stub"',
                f'base_url = "{stub_url}/v1"',
                'env_key = "OPENAI_API_KEY"',
                'wire_api = "responses"',
                "supports_websockets = false",
                "request_max_retries = 0",
                "stream_max_retries = 0",
                "",
                "[features]",
                "plugins = false  # no plugin sync (a DNS lookup at start-up)",
                "",
            ]
        )
    )
    return {"HOME": str(home), "CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "sk-stub"}
