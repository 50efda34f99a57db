"""Token auth and Host/Origin checks, as one ASGI middleware in front of every route.

Binding 127.0.0.1 is not enough on its own: a web page in the user's browser can reach
localhost (CSRF) and DNS rebinding can make an attacker's host name resolve to it. So
the Host header must name localhost, any Origin must be a localhost origin, and every
request except the health probe must carry the token.

The dashboard's browser signs in with a cookie instead (gaia.browser_auth). A cookie goes
with every request the browser makes to this host, whichever page asked for it, so a
cookie-authenticated request that changes something must also carry this server's own
``Origin``: a missing or foreign one is refused (403). Paths outside the API (the
dashboard's pages and assets) pass these checks to the dashboard, which signs in itself.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from gaia.api.errors import PROBLEM_JSON, problem_body
from gaia.browser_auth import COOKIE_NAME, BrowserAuth

__all__ = ["LOCAL_HOSTS", "SecurityMiddleware"]

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
PUBLIC_PATHS = frozenset(
    {("GET", "/api/orchestration/health"), ("HEAD", "/api/orchestration/health")}
)
# Swagger UI's and ReDoc's scripts and styles (gaia.api.docs): public files, as on a CDN.
PUBLIC_PREFIXES = ("/docs/static/",)
# Browsers cannot put a header on a link or an EventSource: these GETs may pass ?token=.
QUERY_TOKEN_PATHS = ("/docs", "/openapi.json", "/redoc")
# What the token guards here; every other path is the dashboard's (it signs in itself).
API_PREFIXES = ("/api/", *QUERY_TOKEN_PATHS)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_cookie(headers: dict[str, str]) -> str | None:
    """The dashboard's session id from a Cookie header, if there is one."""
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value:
            return value
    return None


def same_origin(headers: dict[str, str]) -> bool:
    """Whether the request's Origin is this server as the browser addressed it."""
    origin = headers.get("origin", "").lower()
    host = headers.get("host", "").lower()
    return bool(host) and origin in (f"http://{host}", f"https://{host}")


def _hostname(value: str) -> str | None:
    """The host of a Host header (``[v6]`` keeps its brackets), or None if malformed.

    RFC 9110: ``uri-host [ ":" port ]``, where an IPv6 host is bracketed and a port is
    digits; nothing may follow. ``[::1]evil.example`` must not pass as ``[::1]``.
    """
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[: end + 1], value[end + 1 :]
        if end < 0 or ":" not in host:
            return None
    elif value.count(":") > 1:
        return None  # an unbracketed IPv6 address, or junk
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest[0] == ":" and rest[1:].isascii() and rest[1:].isdigit()):
        return None
    return host.lower() if host and not any(c.isspace() for c in host) else None


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        token: str,
        extra_hosts: Iterable[str] = (),
        browsers: BrowserAuth | None = None,
    ) -> None:
        self.app = app
        self.token = token.encode()
        self.browsers = browsers
        self.hosts = LOCAL_HOSTS | {h.lower() for h in extra_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        hostname = _hostname(host)
        if hostname is None:
            await _deny(send, 400, "invalid_host", f"malformed Host header {host!r}", scope["path"])
            return
        if hostname not in self.hosts:
            await _deny(send, 403, "forbidden_host", f"host {host!r} is not allowed", scope["path"])
            return
        origin = headers.get("origin")
        if origin and origin != "null":
            origin_host = urlsplit(origin).hostname or ""
            if origin_host.lower() not in self.hosts and f"[{origin_host}]" not in self.hosts:
                await _deny(
                    send,
                    403,
                    "forbidden_origin",
                    f"origin {origin!r} is not allowed",
                    scope["path"],
                )
                return
        method, path = scope["method"], scope["path"]
        public = (
            (method, path) in PUBLIC_PATHS
            or (method in ("GET", "HEAD") and path.startswith(PUBLIC_PREFIXES))
            or not path.startswith(API_PREFIXES)
        )
        if public or self._authorized(scope, headers):
            await self.app(scope, receive, send)
            return
        if self.browsers is not None and self.browsers.valid(session_cookie(headers)):
            if method in SAFE_METHODS or same_origin(headers):
                await self.app(scope, receive, send)
                return
            await _deny(
                send,
                403,
                "forbidden_origin",
                "a browser signed in by cookie may change something only from gaia's own "
                f"pages: the Origin header is {headers.get('origin', 'missing')!r}",
                path,
            )
            return
        await _deny(
            send,
            401,
            "unauthorized",
            "missing or invalid API token: send 'Authorization: Bearer <token>' "
            "(the token is in $GAIA_HOME/token)",
            scope["path"],
        )

    def _authorized(self, scope: Scope, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return hmac.compare_digest(credentials.strip().encode(), self.token)
        if scope["method"] in ("GET", "HEAD") and (
            scope["path"].startswith(QUERY_TOKEN_PATHS) or scope["path"].endswith("/logs")
        ):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = query.get("token", [""])[0]
            return bool(given) and hmac.compare_digest(given.encode(), self.token)
        return False


async def _deny(send: Send, status: int, code: str, message: str, path: str) -> None:
    body = json.dumps(problem_body(status, code, message, None, path)).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
