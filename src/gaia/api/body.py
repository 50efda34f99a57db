"""Request bodies: one size cap for every route, and definitions read and parsed safely.

``BodyLimitMiddleware`` answers 413 to a body larger than ``max_request_body`` (1 MiB by
default): at once when its Content-Length says so, else as soon as the bytes received
pass the cap, so a 1 GB upload is never buffered. ``parse_definition`` runs a loader in
a worker thread, a few at a time: parsing a large or hostile YAML document on the
event loop froze every other request for as long as it took.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gaia._textfile import TextFileError, decode_text
from gaia.api.errors import error_response
from gaia.errors import Problem, ValidationError

__all__ = ["BodyLimitMiddleware", "body_problem", "definition_text", "parse_definition"]

T = TypeVar("T")
SOURCE = "<request body>"
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/x-yaml",
        "text/plain",
        "",
    }
)
# Parsing is CPU-bound: more threads than cores only share the GIL; 4 leaves the default
# thread pool (sync routes, DB calls) free while a burst of uploads is parsed.
PARSER_THREADS = 4


def _parsers(request: Request) -> CapacityLimiter:
    """The app's parsing limiter, made on first use (a limiter needs a running loop)."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "parsers", None)
    if limiter is None:
        limiter = request.app.state.parsers = CapacityLimiter(PARSER_THREADS)
    return limiter


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"request body is larger than {limit} bytes (max_request_body)")


class BodyLimitMiddleware:
    """413 for a request body over ``limit`` bytes, whichever route it is for."""

    def __init__(self, app: ASGIApp, limit: int | Callable[[], int]) -> None:
        self.app = app
        # A callable is asked on each request: a settings reload changes the cap live.
        self._limit = limit if callable(limit) else lambda: limit

    @property
    def limit(self) -> int:
        return self._limit()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else -1
                if declared > limit:
                    error = too_large(limit)
                    response = error_response(413, "too_large", str(error.detail))
                    await response(scope, receive, send)
                    return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body parsing unchanged and
                    # becomes the 413 answer, wherever the body is being read.
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)


def body_problem(
    message: str, line: int | None = None, column: int | None = None
) -> ValidationError:
    return ValidationError(message, [Problem(message, source=SOURCE, line=line, column=column)])


async def definition_text(request: Request, what: str) -> str:
    """The body as text: a YAML/JSON content type, UTF-8, not empty (its size is capped
    by ``BodyLimitMiddleware``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in TEXT_TYPES:
        raise body_problem(
            f"unsupported content type {content_type!r}: send the {what} as YAML or JSON"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    try:
        text = decode_text(bytes(body), SOURCE)
    except TextFileError as exc:
        raise ValidationError(f"{what} definition is not UTF-8 text", [exc.problem]) from None
    if not text.strip():
        raise body_problem(f"empty body: send a {what} definition (YAML or JSON)", 1, 1)
    if content_type == "application/json":
        # JSON is YAML too, but a YAML parser explains broken JSON in YAML's terms.
        await anyio.to_thread.run_sync(_check_json, text, what, limiter=_parsers(request))
    return text


def _check_json(text: str, what: str) -> None:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise body_problem(
            f"{what} definition is not valid JSON: {exc.msg}", exc.lineno, exc.colno
        ) from None
    except ValueError as exc:  # a number past Python's 4,300-digit limit
        raise body_problem(f"{what} definition is not valid JSON: {exc}") from None
    except RecursionError:
        raise body_problem(f"{what} definition is not valid JSON: nested too deeply") from None


async def parse_definition(
    request: Request, load: Callable[..., T], *args: Any, **kwargs: Any
) -> T:
    """``load(*args, **kwargs)`` in a worker thread, at most ``PARSER_THREADS`` at once."""
    return await anyio.to_thread.run_sync(lambda: load(*args, **kwargs), limiter=_parsers(request))
