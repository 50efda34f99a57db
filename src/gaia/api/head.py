"""``HEAD`` for every ``GET`` route: the GET's status and headers, without its body.

FastAPI routes a method only where it is declared, so ``HEAD /health`` answered 405.
This middleware runs a HEAD request as a GET and sends only the response's start; a
streaming GET (a followed log) is stopped there rather than left running unseen.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadMiddleware"]


class _ResponseSent(Exception):
    """Raised into the app once the head of its response is out: nothing more is sent."""


class HeadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_head(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                await send(message)
            elif message["type"] == "http.response.body" and started:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _ResponseSent
            else:
                await send(message)

        # A streaming response runs its generator in a task group, which wraps what it
        # raises in an ExceptionGroup.
        try:
            await self.app({**scope, "method": "GET"}, receive, send_head)
        except _ResponseSent:
            pass
        except BaseExceptionGroup as group:
            rest = group.subgroup(lambda exc: not isinstance(exc, _ResponseSent))
            if rest is not None:
                raise rest from None
