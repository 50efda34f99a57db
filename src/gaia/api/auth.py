"""Sign-in codes for the dashboard (what `gaia open` puts in the URL it prints)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from gaia.api.deps import Auth
from gaia.api.errors import problem_responses
from gaia.browser_auth import CODE_TTL, BrowserAuth

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/auth",
    tags=["auth"],
    dependencies=[Auth],
    responses=problem_responses(401, 403, 404, 422),
)


class LoginCode(BaseModel):
    code: str
    expires_in: float
    url: str


@router.post("/codes", response_model=LoginCode, status_code=201)
async def create_login_code(request: Request) -> LoginCode:
    """A single-use code that signs a browser in to the dashboard: open ``url``.

    It is valid for two minutes and for one sign-in; the browser then holds an opaque
    session id in an HttpOnly cookie, never the token or the code.
    """
    browsers: BrowserAuth = request.app.state.browsers
    code = browsers.issue_code()
    base = str(request.base_url).rstrip("/")
    return LoginCode(code=code, expires_in=CODE_TTL, url=f"{base}/?token={code}")
