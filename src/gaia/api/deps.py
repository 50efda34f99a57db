"""FastAPI dependencies as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from gaia.runtime import Runtime
from gaia.workflows.manager import WorkflowManager

__all__ = ["Auth", "RuntimeDep", "WorkflowsDep"]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_workflows(runtime: Annotated[Runtime, Depends(get_runtime)]) -> WorkflowManager:
    return runtime.workflows


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
WorkflowsDep = Annotated[WorkflowManager, Depends(get_workflows)]
# Checked by SecurityMiddleware; declared here so that /docs offers an Authorize button.
Auth = Depends(HTTPBearer(auto_error=False))
