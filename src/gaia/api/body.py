"""Reading a YAML or JSON definition from a request body, with clear 4xx errors."""

from __future__ import annotations

import json

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
    """The body as text: a YAML/JSON content type, at most 1 MB, UTF-8, not empty, and
    well-formed JSON when it says it is JSON."""
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
    if content_type == "application/json":
        # JSON is YAML too, but a YAML parser explains broken JSON in YAML's terms.
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"{what} definition is not valid JSON: {exc.msg}"
            problem = Problem(message, source="<request body>", line=exc.lineno, column=exc.colno)
            raise ValidationError(message, [problem]) from None
    return text
