"""The dashboard's pages and sign-in: every view has its own URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gaia import __version__
from gaia.browser_auth import COOKIE_NAME, SESSION_TTL, BrowserAuth

__all__ = ["VIEWS", "install_dashboard"]

HERE = Path(__file__).parent
ASSETS = "/assets"
# (name shown in the navigation, its path): the navigation names exactly these.
VIEWS = (
    ("Overview", "/"),
    ("Workflows", "/workflows"),
    ("Services", "/services"),
    ("Sessions", "/sessions"),
    ("Agents", "/agents"),
    ("Templates", "/templates"),
)
# No script, style or font from anywhere else; no framing; no Referer to other hosts
# ("no-referrer" would also make the browser send "Origin: null" with the page's own
# forms, which the same-origin check must then refuse).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _browsers(request: Request) -> BrowserAuth:
    browsers: BrowserAuth = request.app.state.browsers
    return browsers


def _without_token(request: Request) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def _signed_in(response: Response, session: str) -> Response:
    response.set_cookie(
        COOKIE_NAME,
        session,
        max_age=int(SESSION_TTL),
        path="/",
        httponly=True,
        samesite="strict",
    )
    return response


def _with_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _same_origin(request: Request) -> bool:
    """A form posted from gaia's own page (browsers send Origin with every POST)."""
    host = request.headers.get("host", "").lower()
    return bool(host) and request.headers.get("origin", "").lower() in (
        f"http://{host}",
        f"https://{host}",
    )


def _foreign(request: Request) -> Response:
    message = "refused: this form must be sent from gaia's own page (Origin mismatch)"
    return _with_headers(Response(message, status_code=403, media_type="text/plain"))


def _sign_in_page(request: Request, error: str | None = None, status: int = 401) -> Response:
    context = {"next": _without_token(request), "error": error, "version": __version__}
    return _with_headers(
        templates.TemplateResponse(request, "signin.html", context, status_code=status)
    )


def _page(request: Request, view: str, title: str, **ids: str) -> Response:
    """A view's page, or the sign-in form (and never data) for a browser not signed in."""
    browsers = _browsers(request)
    token = request.query_params.get("token")
    if token is not None:
        session = browsers.sign_in(token)
        if session is None:
            return _sign_in_page(request, "That token or code is not valid (codes work once).")
        # The same page without the token in the URL (or the history, or a bookmark).
        return _with_headers(_signed_in(RedirectResponse(_without_token(request), 303), session))
    if not browsers.valid(request.cookies.get(COOKIE_NAME)):
        return _sign_in_page(request)
    context: dict[str, Any] = {
        "view": view,
        "title": title,
        "ids": ids,
        "views": VIEWS,
        "current": "/" + request.url.path.strip("/").split("/")[0],
        "version": __version__,
        "assets": ASSETS,
    }
    return _with_headers(templates.TemplateResponse(request, "page.html", context))


@router.post("/signin")
async def sign_in(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    """The sign-in form: the API token or a code from `gaia open`."""
    if not _same_origin(request):
        return _foreign(request)
    session = _browsers(request).sign_in(token)
    if session is None:
        return _sign_in_page(request, "That token or code is not valid (codes work once).")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return _with_headers(_signed_in(RedirectResponse(target, 303), session))


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return _foreign(request)
    _browsers(request).sign_out(request.cookies.get(COOKIE_NAME))
    response = RedirectResponse("/", 303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
    return _with_headers(response)


# Each page: (its path, its view's script, its title; "{}" is the path's one parameter,
# which the view reads from ``data-<key>`` on <main>, and its key).
PAGES: tuple[tuple[str, str, str, str | None], ...] = (
    ("/", "overview", "Overview", None),
    ("/workflows", "workflows", "Workflows", None),
    ("/workflows/{ident}", "run", "Run {}", "run"),
    ("/services", "services", "Services", None),
    ("/services/{ident}", "service", "Service {}", "service"),
    ("/sessions", "sessions", "Sessions", None),
    ("/sessions/{ident}", "session", "Session {}", "session"),
    ("/agents", "agents", "Agents", None),
    ("/agents/tasks/{ident}", "agent_task", "Agent task {}", "task"),
    ("/templates", "templates", "Templates", None),
    ("/templates/{ident}", "template", "Template {}", "template"),
)
SHORT_IDS = frozenset({"run", "task"})  # ids shown by their first 8 characters


def _add_page(path: str, view: str, title: str, key: str | None) -> None:
    if key is None:

        async def page(request: Request) -> Response:
            return _page(request, view, title)

    else:

        async def page(request: Request) -> Response:
            ident = request.path_params["ident"]
            shown = ident[:8] if key in SHORT_IDS else ident
            return _page(request, view, title.format(shown), **{key: ident})

    router.add_api_route(path, page, methods=["GET"], response_class=HTMLResponse, name=view)


for _path, _view, _title, _key in PAGES:
    _add_page(_path, _view, _title, _key)


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard from ``app`` (the daemon's API app, which signs browsers in)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=HERE / "static"), name="dashboard-assets")
