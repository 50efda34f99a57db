"""One place that turns errors into problem details (RFC 9457, application/problem+json).

Each error body has the RFC members ``type``, ``title``, ``status`` and ``detail`` (and
``instance``, the request path), and keeps ``{"error": {"code", "message", "details"}}``
that clients written before it read.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from gaia.errors import GaiaError

__all__ = [
    "PROBLEM_JSON",
    "error_response",
    "install_error_handlers",
    "problem_body",
    "problem_responses",
]

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger("gaia.api")


class ErrorMember(BaseModel):
    code: str
    message: str
    details: Any = None


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 problem details plus gaia's ``error`` member."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    error: ErrorMember


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int, code: str, message: str, details: Any = None, instance: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:gaia:error:{code}",
        "title": _title(status),
        "status": status,
        "detail": message,
    }
    if instance is not None:
        body["instance"] = instance
    body["error"] = {"code": code, "message": message, "details": details}
    return body


def error_response(
    status: int, code: str, message: str, details: Any = None, instance: str | None = None
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, message, details, instance),
        status_code=status,
        media_type=PROBLEM_JSON,
    )


_MEANINGS = {
    400: "the request cannot be carried out as asked",
    401: "missing or invalid API token",
    403: "the Host or Origin header is not a local one",
    404: "no such resource",
    409: "the resource's current state forbids it",
    413: "the request body is too large",
    415: "unsupported content type",
    422: "the request is malformed; details list every problem",
    503: "the daemon is stopping, or tmux is unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring the problem+json errors a route can answer."""
    return {
        status: {
            "model": ProblemDetails,
            "description": _MEANINGS.get(status, _title(status)),
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GaiaError)
    async def gaia_error(request: Request, exc: GaiaError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, exc.message, exc.details, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "path": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in details)
        message = f"invalid request: {summary}"
        return error_response(422, "invalid_request", message, details, request.url.path)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported"}
        code = codes.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail), None, request.url.path)
        if exc.headers:
            response.headers.update(exc.headers)  # 405's Allow
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in API request")
        message = "internal error; see the gaia logs"
        return error_response(500, "internal_error", message, None, request.url.path)
