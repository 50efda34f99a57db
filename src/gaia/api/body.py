"""Reading a YAML or JSON definition from a request body, with clear 4xx errors."""

from __future__ import annotations

from fastapi import Request

from gaia.errors import Problem, ValidationError

__all__ = ["MAX_DEFINITION_BYTES", "body_problem", "definition_text"]

MAX_DEFINITION_BYTES = 1_000_000
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


def body_problem(message: str) -> ValidationError:
    return ValidationError(message, [Problem(message, source="<request body>")])


async def definition_text(request: Request, what: str) -> str:
    """The body as text: a YAML/JSON content type, at most 1 MB, UTF-8, not empty."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in TEXT_TYPES:
        raise body_problem(
            f"unsupported content type {content_type!r}: send the {what} as YAML or JSON"
        )
    body = await request.body()
    if len(body) > MAX_DEFINITION_BYTES:
        raise body_problem(f"{what} definition is larger than {MAX_DEFINITION_BYTES} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise body_problem(f"{what} definition is not UTF-8 text") from None
    if not text.strip():
        raise body_problem(f"empty body: send a {what} definition (YAML or JSON)")
    return text
