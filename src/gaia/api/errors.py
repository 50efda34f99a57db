"""One place that turns errors into ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from gaia.errors import GaiaError

__all__ = ["error_response", "install_error_handlers"]

log = logging.getLogger("gaia.api")


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GaiaError)
    async def gaia_error(_request: Request, exc: GaiaError) -> JSONResponse:
        return error_response(exc.http_status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "path": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body",
                "message": err.get("msg", "invalid"),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in details)
        return error_response(422, "invalid_request", f"invalid request: {summary}", details)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported"}
        return error_response(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail)
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in API request")
        return error_response(500, "internal_error", "internal error; see the gaia logs")
