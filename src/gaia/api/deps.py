"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from gaia.runtime import Runtime
from gaia.workflows.manager import WorkflowManager

__all__ = ["LONG_WAITS", "Auth", "LongWaitLimiter", "RuntimeDep", "WorkflowsDep"]

# Threads for requests that wait a long time (a session run: up to 24 h). They have
# their own limiter: in the default pool's 40 tokens, 40 such waits would leave no
# thread for any other route.
LONG_WAITS = 200


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_workflows(runtime: Annotated[Runtime, Depends(get_runtime)]) -> WorkflowManager:
    return runtime.workflows


def get_long_wait_limiter(request: Request) -> anyio.CapacityLimiter:
    # Made on first use, in the event loop that serves the requests.
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "long_wait_limiter", None)
    if limiter is None:
        limiter = state.long_wait_limiter = anyio.CapacityLimiter(LONG_WAITS)
    return limiter


LongWaitLimiter = Annotated[anyio.CapacityLimiter, Depends(get_long_wait_limiter)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WorkflowsDep = Annotated[WorkflowManager, Depends(get_workflows)]
# Checked by SecurityMiddleware; declared here so that /docs offers an Authorize button.
Auth = Depends(HTTPBearer(auto_error=False))
