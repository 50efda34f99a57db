"""Session routes under `/api/orchestration/sessions`.

``{id}`` is a session id, id prefix or name; ``{window_id}`` a window id, tmux id (@3),
index or name; ``{pane_id}`` a pane id, tmux id (%5) or index. tmux calls block, so
these routes are plain functions that FastAPI runs in its thread pool. The run route,
and ``up`` that may wait for shells, take a thread from their own long-wait limiter
(gaia.api.deps) instead: a run may wait up to 24 h, and 40 of them would otherwise
hold every thread of the pool that all the other routes share.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gaia._fields import EnvName, NoNul
from gaia.api.deps import Auth, LongWaitLimiter, RuntimeDep
from gaia.api.errors import problem_responses
from gaia.errors import Problem, SessionValidationError
from gaia.sessions.loader import read_layout_file, resolve_directories
from gaia.sessions.manager import SessionManager
from gaia.sessions.spec import SessionSpec
from gaia.sessions.views import (
    CaptureView,
    CleanupView,
    PaneView,
    ReconcileView,
    RunView,
    SessionView,
    WindowView,
)

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/sessions",
    tags=["sessions"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)


def get_sessions(runtime: RuntimeDep) -> SessionManager:
    return runtime.sessions


SessionsDep = Annotated[SessionManager, Depends(get_sessions)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WindowRequest(_Body):
    name: str | None = Field(default=None, pattern=r"^[^\n\r\t]*\S[^\n\r\t]*$")
    start_directory: str | None = None
    environment: dict[EnvName, NoNul] = Field(default_factory=dict)
    commands: list[NoNul] = Field(default_factory=list)


class PaneRequest(_Body):
    pane_id: str | None = Field(default=None, description="the pane to split; default active")
    direction: Literal["horizontal", "vertical"] = "horizontal"
    size: str | None = Field(default=None, pattern=r"^\d+%?$")
    start_directory: str | None = None
    environment: dict[EnvName, NoNul] = Field(default_factory=dict)
    commands: list[NoNul] = Field(default_factory=list)


class SendKeysRequest(_Body):
    window_id: str | None = None
    pane_id: str | None = None
    keys: str | list[str]
    enter: bool = True
    literal: bool = False


class RunRequest(_Body):
    command: NoNul = Field(min_length=1)
    window_id: str | None = None
    pane_id: str | None = None
    timeout: float = Field(default=60.0, gt=0, le=24 * 3600)


class UpRequest(_Body):
    path: str = Field(description="absolute path of a layout file on the daemon's machine")
    source: str | None = Field(
        default=None, description="how to name the file in error messages (default: path)"
    )
    wait: bool = Field(
        default=False, description="answer only once every pane's commands have been typed"
    )
    environ: dict[str, str] | None = Field(
        default=None,
        description="variables for $NAME and ~ in names, paths and commands (default: the "
        "daemon's)",
    )
    cwd: str | None = Field(
        default=None,
        description="the caller's working directory, absolute (default: the daemon's)",
    )


def _absolute(path: str | None, field: str) -> str | None:
    if path is not None and not Path(path).is_absolute():
        raise SessionValidationError.from_problems(
            "request body",
            [Problem(f"{field} must be an absolute path (got {path!r})", path=field)],
        )
    return path


@router.post("", status_code=201, response_model=SessionView)
def create_session(spec: SessionSpec, sessions: SessionsDep) -> SessionView:
    """CreateSession: ``{"name", "project_path", "environment", "width", "height", "windows"}``."""
    problems: list[Problem] = []

    def report(path: Any, message: str, hint: str | None) -> None:
        dotted = ".".join(str(p) for p in path)
        problems.append(Problem(message, source="request body", path=dotted, hint=hint))

    resolve_directories(spec, None, report)
    if problems:
        raise SessionValidationError.from_problems("request body", problems)
    return sessions.create(spec)


@router.get("", response_model=list[SessionView])
def list_sessions(sessions: SessionsDep) -> list[SessionView]:
    return sessions.list_views()


@router.post("/reconcile", response_model=ReconcileView)
def reconcile(sessions: SessionsDep) -> ReconcileView:
    """Match records with tmux now (the daemon also does this periodically)."""
    return sessions.reconcile()


@router.post("/cleanup", response_model=list[CleanupView])
def cleanup(sessions: SessionsDep, dry_run: bool = False) -> list[CleanupView]:
    """Destroy sessions idle longer than session_idle_timeout (``dry_run``: only list them)."""
    return sessions.cleanup(dry_run=dry_run)


@router.post("/up", status_code=201, response_model=SessionView)
async def up(body: UpRequest, sessions: SessionsDep, limiter: LongWaitLimiter) -> SessionView:
    """Build a session from a layout file (tmuxp format), as `gaia session up` does.

    Answers once tmux has the session; the panes' commands are typed as each shell
    becomes ready (``wait``: before answering, which takes a long-wait thread).
    """

    def build() -> SessionView:
        path = Path(_absolute(body.path, "path") or "")
        cwd = _absolute(body.cwd, "cwd")
        layout = read_layout_file(
            path, source=body.source, environ=body.environ, cwd=Path(cwd) if cwd else None
        )
        typing: Literal["wait", "thread"] = "wait" if body.wait else "thread"
        view = sessions.create(
            layout.spec,
            origin="layout",
            layout_file=str(path),
            typing=typing,
            environ=body.environ,
        )
        view.warnings = [str(w) for w in layout.warnings]
        return view

    return await anyio.to_thread.run_sync(build, limiter=limiter)


@router.get("/{session_id}", response_model=SessionView)
def get_session(session_id: str, sessions: SessionsDep) -> SessionView:
    return sessions.get(session_id)


@router.delete("/{session_id}", response_model=SessionView)
def destroy_session(session_id: str, sessions: SessionsDep) -> SessionView:
    return sessions.destroy(session_id)


@router.post("/{session_id}/restore", response_model=SessionView)
def restore_session(session_id: str, sessions: SessionsDep) -> SessionView:
    return sessions.restore(session_id)


@router.get("/{session_id}/layout")
def freeze_session(session_id: str, sessions: SessionsDep) -> dict[str, Any]:
    """The live session as a layout (tmuxp format), as ``gaia session freeze`` writes it."""
    return sessions.freeze(session_id)


@router.post("/{session_id}/windows", status_code=201, response_model=WindowView)
def create_window(
    session_id: str, sessions: SessionsDep, body: WindowRequest | None = None
) -> WindowView:
    body = body or WindowRequest()
    return sessions.create_window(
        session_id,
        name=body.name,
        start_directory=_absolute(body.start_directory, "start_directory"),
        environment=body.environment,
        commands=body.commands,
    )


@router.post("/{session_id}/windows/{window_id}/panes", status_code=201, response_model=PaneView)
def create_pane(
    session_id: str, window_id: str, sessions: SessionsDep, body: PaneRequest | None = None
) -> PaneView:
    body = body or PaneRequest()
    return sessions.create_pane(
        session_id,
        window=window_id,
        pane=body.pane_id,
        vertical=body.direction == "vertical",
        size=body.size,
        start_directory=_absolute(body.start_directory, "start_directory"),
        environment=body.environment,
        commands=body.commands,
    )


@router.post("/{session_id}/send-keys", response_model=PaneView)
def send_keys(session_id: str, body: SendKeysRequest, sessions: SessionsDep) -> PaneView:
    return sessions.send_keys(
        session_id,
        body.keys,
        window=body.window_id,
        pane=body.pane_id,
        enter=body.enter,
        literal=body.literal,
    )


@router.get("/{session_id}/capture", response_model=CaptureView)
def capture_active(
    session_id: str,
    sessions: SessionsDep,
    window_id: Annotated[str | None, Query(description="default: the active window")] = None,
    pane_id: Annotated[str | None, Query(description="default: the active pane")] = None,
    history: bool = False,
    start: Annotated[int | None, Query(description="first line; negative reaches history")] = None,
    end: int | None = None,
    join: bool = False,
    escapes: bool = False,
) -> CaptureView:
    """CapturePane with the window and pane optional (the active ones by default)."""
    return sessions.capture(
        session_id,
        window=window_id,
        pane=pane_id,
        history=history,
        start=start,
        end=end,
        join=join,
        escapes=escapes,
    )


@router.get("/{session_id}/capture/{window_id}/{pane_id}", response_model=CaptureView)
def capture_pane(
    session_id: str,
    window_id: str,
    pane_id: str,
    sessions: SessionsDep,
    history: bool = False,
    start: Annotated[int | None, Query(description="first line; negative reaches history")] = None,
    end: int | None = None,
    join: bool = False,
    escapes: bool = False,
) -> CaptureView:
    return capture_active(
        session_id, sessions, window_id, pane_id, history, start, end, join, escapes
    )


@router.post("/{session_id}/run", response_model=RunView)
async def run_command(
    session_id: str,
    body: RunRequest,
    sessions: SessionsDep,
    request: Request,
    limiter: LongWaitLimiter,
) -> RunView:
    """Run a command at a pane's shell prompt and wait for its exit status and output.

    A client that disconnects before the end (a Ctrl-C in `gaia session run`) stops the
    command: its pane gets Ctrl-C, and the pane is free again at once.
    """
    gone = threading.Event()
    watcher = asyncio.create_task(_watch_disconnect(request, gone))
    try:
        run = functools.partial(
            sessions.run,
            session_id,
            body.command,
            window=body.window_id,
            pane=body.pane_id,
            timeout=body.timeout,
            cancelled=gone.is_set,
        )
        return await anyio.to_thread.run_sync(run, limiter=limiter)
    finally:
        watcher.cancel()


async def _watch_disconnect(request: Request, gone: threading.Event) -> None:
    # The body is read: what the server passes on next is the client's disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set()
