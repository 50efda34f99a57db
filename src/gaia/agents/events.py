"""One line of an agent's event stream, said in a few words for a person watching."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["describe_event"]

_MAX = 160


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"


def _tool(name: str, args: Any) -> str:
    target = ""
    if isinstance(args, dict):
        target = str(args.get("file_path") or args.get("path") or args.get("command") or "")
    return f"tool {name}({_short(target)})" if target else f"tool {name}"


def describe_event(line: str) -> str | None:
    """A short description of a claude, gemini or codex JSONL event; None to skip it."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return _short(line) if line.strip() else None
    if not isinstance(event, dict):
        return None
    kind = event.get("type")
    if kind == "system" and event.get("subtype") == "init":
        return f"session {event.get('session_id')} ({event.get('model', 'model ?')})"
    if kind == "init":
        return f"session {event.get('session_id')} ({event.get('model', 'model ?')})"
    if kind == "assistant":  # claude
        parts = []
        for block in (event.get("message") or {}).get("content") or []:
            if block.get("type") == "text" and block.get("text", "").strip():
                parts.append(_short(block["text"]))
            elif block.get("type") == "tool_use":
                parts.append(_tool(str(block.get("name")), block.get("input")))
        return "; ".join(parts) or None
    if kind == "message" and event.get("role") == "assistant":  # gemini
        content = event.get("content")
        return _short(content) if isinstance(content, str) and content.strip() else None
    if kind == "tool_use":  # gemini
        return _tool(str(event.get("tool_name")), event.get("parameters"))
    if kind == "item.completed":  # codex
        item = event.get("item") or {}
        if item.get("type") == "agent_message":
            return _short(str(item.get("text", "")))
        if item.get("type") == "command_execution":
            return _tool("shell", {"command": item.get("command")})
        return None
    if kind == "result":
        status = event.get("subtype") or event.get("status") or "done"
        return f"result: {status}"
    if kind in ("error", "turn.failed"):
        return _short(f"error: {event.get('message') or event.get('error')}")
    return None
