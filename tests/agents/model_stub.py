"""A scripted stand-in for the Anthropic, Gemini and OpenAI model APIs on 127.0.0.1.

The real agent CLIs (Claude Code, Gemini CLI, Codex) talk to it instead of the vendors'
services, so tests can run them end to end without a network or an API key.

The script lives in the agent's prompt, as directive lines (build them with
:func:`directive`)::

    STUB-WRITE path="hello.txt" content="hello from claude"
    STUB-REPLY text="done"
    STUB-ERROR status=500

Values are JSON string literals (so any text, newlines included, fits on one line).
For each ``STUB-WRITE`` line, in order, the stub answers the agent's main request with a
call to its file-writing tool (Claude Code: ``Write``; Gemini CLI: ``write_file``) whose
``file_path`` is ``path`` joined to the agent's working directory (an absolute ``path`` is
used as is), then with the ``STUB-REPLY`` text (default ``"done"``). How far the script
has got is read from the conversation itself (the number of tool results in it), so the
stub keeps no per-session state and any number of sessions can run against it at once.
``STUB-ERROR status=N`` makes every model call of that session fail with HTTP ``N``.
Without a directive the stub answers :data:`DEFAULT_REPLY`. Codex gets the reply text
only (no tool call).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_REPLY",
    "ModelStub",
    "Script",
    "claude_env",
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
# Claude Code's environment block (a "system" turn in messages): "Primary working directory:
# /abs/path"; older versions put "Working directory: /abs/path" in the system prompt.
_CLAUDE_CWD_RE = re.compile(r"(?i)working directory: (/[^\n]*)")
# Gemini CLI's first user turn (<session_context>): "- **Workspace Directories:**" then one
# "  - /abs/path" line per directory, the working directory first; older versions said
# "I'm currently working in the directory: /abs/path".
_GEMINI_CWD_RE = re.compile(
    r"Workspace Directories:\**[ \t]*\n[ \t]*- (/[^\n]*)|working in the directory: (/[^\n]*)"
)

_MAX_BODY = 64 * 1024 * 1024


def directive(path: str, content: str, reply: str = "done") -> str:
    """The prompt text that makes the stub write ``content`` to ``path`` and answer ``reply``."""
    return (
        f"STUB-WRITE path={json.dumps(path)} content={json.dumps(content)}\n"
        f"STUB-REPLY text={json.dumps(reply)}\n"
    )


class Script:
    """What a session's prompt asks the stub to do."""

    def __init__(
        self, writes: list[tuple[str, str]], reply: str, error: int | None = None
    ) -> None:
        self.writes = writes
        self.reply = reply
        self.error = error


def parse_script(text: str) -> Script:
    """Read the ``STUB-*`` directives out of ``text`` (the user's turns of a conversation)."""
    writes = [(json.loads(p), json.loads(c)) for p, c in _WRITE_RE.findall(text)]
    reply_match = _REPLY_RE.search(text)
    if reply_match:
        reply = str(json.loads(reply_match.group(1)))
    else:
        reply = "done" if writes else DEFAULT_REPLY
    error_match = _ERROR_RE.search(text)
    return Script(writes, reply, int(error_match.group(1)) if error_match else None)


def _resolve(cwd: str | None, path: str) -> str:
    if PurePosixPath(path).is_absolute() or not cwd:
        return path
    return str(PurePosixPath(cwd.strip()) / path)


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# --------------------------------------------------------------------------- Anthropic


def _anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def _anthropic_plan(body: dict[str, Any]) -> tuple[int | None, list[dict[str, Any]], str]:
    """(error status, content blocks, stop reason) for one Messages API request."""
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    user_text = "\n".join(_anthropic_text(m.get("content")) for m in messages if m["role"] == "user")
    script = parse_script(user_text)
    if script.error:
        return script.error, [], "end_turn"
    tool_names = {t.get("name") for t in body.get("tools", []) if isinstance(t, dict)}
    done = sum(
        1
        for m in messages
        if m.get("role") == "user" and isinstance(m.get("content"), list)
        for block in m["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    )
    if "Write" in tool_names and done < len(script.writes):
        system = body.get("system", "")
        system_text = system if isinstance(system, str) else _anthropic_text(system)
        other_text = "\n".join(_anthropic_text(m.get("content")) for m in messages)
        cwd_match = _CLAUDE_CWD_RE.search(other_text) or _CLAUDE_CWD_RE.search(system_text)
        path, content = script.writes[done]
        tool_input = {
            "file_path": _resolve(cwd_match.group(1) if cwd_match else None, path),
            "content": content,
        }
        block = {"type": "tool_use", "id": _new_id("toolu_"), "name": "Write", "input": tool_input}
        return None, [block], "tool_use"
    return None, [{"type": "text", "text": script.reply}], "end_turn"


def _anthropic_message(body: dict[str, Any], blocks: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "id": _new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "stub-model"),
        "content": blocks,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def _anthropic_stream(message: dict[str, Any]) -> bytes:
    start = dict(message, content=[], stop_reason=None)
    start["usage"] = {"input_tokens": 10, "output_tokens": 1}
    out = [_sse("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            first = dict(block, input={})
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            first = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        out.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": first},
            )
        )
        out.append(
            _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        )
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    out.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        )
    )
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


def _anthropic_error(status: int) -> dict[str, Any]:
    kinds = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    kind = kinds.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": f"stub: HTTP {status}"}}


# --------------------------------------------------------------------------- Gemini


def _gemini_text(contents: list[Any], role: str = "user") -> str:
    return "\n".join(
        str(part.get("text", ""))
        for c in contents
        if isinstance(c, dict) and c.get("role", "user") == role
        for part in c.get("parts", [])
        if isinstance(part, dict) and "text" in part
    )


def _schema_instance(schema: Any, name: str = "") -> Any:
    """A value that satisfies a (simple) JSON schema, as Gemini's JSON mode would return."""
    if not isinstance(schema, dict):
        return None
    if name == "next_speaker":
        return "user"
    kind = str(schema.get("type", "object")).lower()
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {key: _schema_instance(sub, key) for key, sub in props.items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        # Gemini CLI's router wants a complexity_score of 1..100 (low: the fast model).
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "stub"


def _gemini_plan(body: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    """(error status, generateContent response) for one Gemini request."""
    contents = [c for c in body.get("contents", []) if isinstance(c, dict)]
    user_text = _gemini_text(contents)
    script = parse_script(user_text)
    if script.error:
        return script.error, {}
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is not None or config.get("responseMimeType") == "application/json":
        parts: list[dict[str, Any]] = [{"text": json.dumps(_schema_instance(schema or {}))}]
        return None, _gemini_response(body, parts)
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
    if "write_file" in declared and done < len(script.writes):
        cwd_match = _GEMINI_CWD_RE.search(user_text)
        cwd = (cwd_match.group(1) or cwd_match.group(2)) if cwd_match else None
        path, content = script.writes[done]
        args = {"file_path": _resolve(cwd, path), "content": content}
        parts = [{"functionCall": {"name": "write_file", "args": args}}]
        return None, _gemini_response(body, parts)
    return None, _gemini_response(body, [{"text": script.reply}])


def _gemini_response(body: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
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
    return {
        "error": {
            "code": status,
            "message": f"stub: HTTP {status}",
            "status": statuses.get(status, "UNKNOWN"),
        }
    }


# --------------------------------------------------------------------------- server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle or half-sent before it is dropped
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(length, _MAX_BODY)) if length > 0 else b""
        if not raw:
            return raw, None
        try:
            return raw, json.loads(raw)
        except ValueError:
            return raw, None

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
        _, body = self._read_body()
        self.server.stub._record(self.command, self.path, body, dict(self.headers.items()))
        url = urlsplit(self.path)
        route = url.path
        if self.command in ("GET", "HEAD") or not isinstance(body, dict):
            if route.startswith("/v1beta/models") and ":" not in route:
                self._json(200, {"models": []})
            else:
                self._json(200, {})
            return
        if route.endswith("/v1/messages/count_tokens"):
            self._json(200, {"input_tokens": 10})
        elif route.endswith("/v1/messages"):
            self._anthropic(body)
        elif ":countTokens" in route:
            self._json(200, {"totalTokens": 10})
        elif ":generateContent" in route or ":streamGenerateContent" in route:
            self._gemini(body, stream=":streamGenerateContent" in route)
        elif route.endswith("/responses"):
            self._openai_responses(body)
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

    def _openai_responses(self, body: dict[str, Any]) -> None:
        self._json(404, {"error": {"message": "stub: responses not implemented yet"}})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, stub: ModelStub) -> None:
        self.stub = stub
        super().__init__(("127.0.0.1", 0), _Handler)


class ModelStub:
    """The scripted model server; use as a context manager or with start()/stop()."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ModelStub:
        """Bind 127.0.0.1 on an ephemeral port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="model-stub",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket (open connections are dropped)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> ModelStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        entry = {"method": method, "path": path, "body": body, "headers": headers, "time": time.time()}
        with self._lock:
            self.requests.append(entry)

    def paths(self) -> Iterator[str]:
        """``METHOD path`` of every request so far, in order."""
        with self._lock:
            entries = list(self.requests)
        for entry in entries:
            yield f"{entry['method']} {entry['path']}"


# --------------------------------------------------------------------------- environments


def claude_env(stub_url: str, home: Path) -> dict[str, str]:
    """Environment for Claude Code talking to the stub, with ``home`` as its HOME."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": stub_url,
        "ANTHROPIC_API_KEY": "sk-ant-stub",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }


def gemini_env(stub_url: str, home: Path) -> dict[str, str]:
    """Environment for Gemini CLI talking to the stub; writes ``home/.gemini/settings.json``."""
    settings = home / ".gemini" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    return {
        "HOME": str(home),
        "GOOGLE_GEMINI_BASE_URL": stub_url,
        "GEMINI_API_KEY": "stub-key",
        "GEMINI_CLI_TRUST_WORKSPACE": "true",
    }


def codex_env(stub_url: str, home: Path) -> dict[str, str]:
    """Environment for Codex talking to the stub (not implemented yet)."""
    raise NotImplementedError
