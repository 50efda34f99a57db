"""Service routes under `/api/orchestration/services`; `{id}` is an id or name."""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from gaia.api.body import body_problem, definition_text, parse_definition
from gaia.api.deps import Auth, RuntimeDep
from gaia.api.errors import problem_responses
from gaia.api.stopping import STOPPING_EVENT
from gaia.api.streams import LineSplitter, event_stream, log_event
from gaia.services.loader import load_services
from gaia.services.manager import ServiceManager
from gaia.services.views import EventView, HealthView, ServiceView
from gaia.workflows.logs import read_log

__all__ = ["router"]

router = APIRouter(
    prefix="/api/orchestration/services",
    tags=["services"],
    dependencies=[Auth],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
)


def get_services(runtime: RuntimeDep) -> ServiceManager:
    return runtime.services


ServicesDep = Annotated[ServiceManager, Depends(get_services)]


class StopRequest(BaseModel):
    graceful: bool = True


class Transition(BaseModel):
    name: str
    state: str


@router.post("", status_code=201, response_model=list[ServiceView])
async def register_services(
    request: Request,
    services: ServicesDep,
    replace: bool = False,
    base_dir: Annotated[str | None, Query(description="absolute dir for relative paths")] = None,
) -> list[ServiceView]:
    """Register one service or a list (JSON or YAML body); all or nothing.

    A relative `cwd` is taken from `base_dir` (the CLI sends the definition file's folder;
    default the home directory of the daemon's user), a relative `env_file` from `cwd`.
    """
    text = await definition_text(request, "service")
    base = Path(base_dir) if base_dir else Path.home()
    if not base.is_absolute() or not base.is_dir():
        raise body_problem(f"base_dir {base_dir!r} must be an absolute path to a directory")
    specs = await parse_definition(
        request, load_services, text, source="<request body>", base_dir=base
    )
    records = await asyncio.to_thread(
        services.register, specs, source="<request body>", replace=replace
    )
    return [services.view(r, live=False) for r in records]


@router.get("", response_model=list[ServiceView])
def list_services(services: ServicesDep) -> list[ServiceView]:
    return services.list_views()


@router.get("/{service_id}", response_model=ServiceView)
def get_service(service_id: str, services: ServicesDep) -> ServiceView:
    return services.view(services.registry.get(service_id))


@router.delete("/{service_id}", response_model=ServiceView)
def unregister_service(service_id: str, services: ServicesDep) -> ServiceView:
    return services.view(services.unregister(service_id), live=False)


@router.post("/{service_id}/start", response_model=Transition)
async def start_service(service_id: str, services: ServicesDep) -> Transition:
    name = (await asyncio.to_thread(services.registry.get, service_id)).name
    return Transition(name=name, state=await services.start(name))


@router.post("/{service_id}/stop", response_model=Transition)
async def stop_service(
    service_id: str,
    services: ServicesDep,
    graceful: Annotated[bool | None, Query()] = None,
    body: StopRequest | None = None,
) -> Transition:
    """Stop the service's whole process tree; ``graceful=false`` kills at once."""
    name = (await asyncio.to_thread(services.registry.get, service_id)).name
    use_graceful = graceful if graceful is not None else (body.graceful if body else True)
    return Transition(name=name, state=await services.stop(name, graceful=use_graceful))


@router.post("/{service_id}/restart", response_model=Transition)
async def restart_service(service_id: str, services: ServicesDep) -> Transition:
    name = (await asyncio.to_thread(services.registry.get, service_id)).name
    return Transition(name=name, state=await services.restart(name))


@router.get("/{service_id}/health", response_model=HealthView)
def service_health(service_id: str, services: ServicesDep) -> HealthView:
    return services.health(service_id)


@router.get("/{service_id}/metrics")
def service_metrics(service_id: str, services: ServicesDep) -> dict[str, Any]:
    return services.metrics(service_id)


@router.get("/{service_id}/events", response_model=list[EventView])
def service_events(
    service_id: str, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[EventView]:
    return services.events(service_id, limit)


@router.get("/{service_id}/logs", response_class=PlainTextResponse)
async def service_logs(
    service_id: str,
    services: ServicesDep,
    runtime: RuntimeDep,
    lines: Annotated[int, Query(ge=0, le=100_000)] = 100,
    follow: bool = False,
) -> Any:
    """The last ``lines`` of output; ``follow=true`` streams new lines as Server-Sent Events.

    The stream goes on until the client leaves, or ends with an ``end`` event when the
    daemon stops.
    """
    record = await asyncio.to_thread(services.registry.get, service_id)
    path = services.supervisor.log_path(record.name)
    tail = await asyncio.to_thread(read_log, path, lines)
    if not follow:
        return PlainTextResponse(tail)
    shutdown = anyio.Event()

    async def events() -> AsyncIterator[ServerSentEvent]:
        for line in LineSplitter.whole(tail):
            yield log_event(line)
        offset = await asyncio.to_thread(_size, path)
        lines = LineSplitter()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:  # until the client goes away; the file may rotate underneath
            await asyncio.sleep(0.2)
            if runtime.stopping.is_set() or shutdown.is_set():
                yield STOPPING_EVENT
                return
            offset, data = await asyncio.to_thread(_read_from, path, offset)
            for line in lines.feed(decoder.decode(data)):
                yield log_event(line)

    return event_stream(events(), shutdown)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_from(path: Path, offset: int) -> tuple[int, bytes]:
    """What was added to ``path`` since ``offset``, and the new offset (0 if it rotated)."""
    size = _size(path)
    if size < offset:
        offset = 0
    if size == offset:
        return offset, b""
    with path.open("rb") as fh:
        fh.seek(offset)
        data = fh.read(size - offset)
    return offset + len(data), data
