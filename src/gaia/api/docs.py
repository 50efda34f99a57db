"""/docs (Swagger UI) and /redoc, with their scripts served by the daemon itself.

FastAPI's pages load Swagger UI and ReDoc from a CDN, so offline they were blank. The
scripts, styles and icon come from the ``fastapi-offline`` package instead (Swagger UI
5, which renders the OpenAPI 3.1 documents FastAPI writes; ReDoc 2), mounted under
``/docs/static``. Those files are public, as on any CDN; the pages and the OpenAPI
document need the token, which a browser passes as ``?token=``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC_PREFIX", "assets_directory", "install_docs"]

STATIC_PREFIX = "/docs/static"
TITLE = "gaia API"


def assets_directory() -> Path:
    """Where the installed fastapi-offline package keeps the Swagger UI and ReDoc files."""
    return Path(str(files("fastapi_offline") / "static"))


def _openapi_url(request: Request) -> str:
    # Quoted: the page puts this URL in a script, and the token is whatever the URL said.
    token = request.query_params.get("token", "")
    return f"/openapi.json?token={quote(token, safe='')}" if token else "/openapi.json"


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets on ``app`` (built with docs and redoc off)."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=assets_directory()), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=_openapi_url(request),
            title=TITLE,
            swagger_js_url=f"{STATIC_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_PREFIX}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=_openapi_url(request),
            title=TITLE,
            redoc_js_url=f"{STATIC_PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_PREFIX}/favicon.png",
            with_google_fonts=False,
        )
