"""Health check results: every one in memory, in the database when it changes something.

A real service (a `sleep`) whose HTTP check asks a real server on 127.0.0.1, which the
test switches from answering 200 to answering 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import select

from gaia.runtime import Runtime
from gaia.services.spec import ServiceSpec
from gaia.storage.models import service_health_table


class Switch:
    status = "200 OK"


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, Switch]]:
    switch = Switch()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {switch.status}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with listening:
        yield listening.sockets[0].getsockname()[1], switch


async def until(predicate: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def stored_rows(runtime: Runtime) -> list[tuple[bool, str, str]]:
    runtime.services.recorder.flush()
    table = service_health_table
    with runtime.db.read() as conn:
        rows = conn.execute(
            select(table.c.ok, table.c.health, table.c.detail).order_by(table.c.id)
        ).all()
    return [tuple(row) for row in rows]


async def test_only_changes_are_stored_and_the_view_shows_every_check(
    runtime: Runtime, server: tuple[int, Switch]
) -> None:
    port, switch = server
    spec = ServiceSpec.model_validate(
        {
            "name": "api",
            "command": "sleep",
            "args": ["300"],
            "port": port,
            "start_seconds": 0,
            "health_check": {"type": "http", "interval": "20ms", "retries": 2},
        }
    )
    services = runtime.services
    services.register([spec])
    try:
        await services.start("api")
        await until(lambda: len(services.supervisor.recent_checks("api")) >= 5, "5 checks")
        # Five alike checks: one row (the first), and all five in the health view.
        assert stored_rows(runtime) == [(True, "healthy", "HTTP 200")]
        view = await asyncio.to_thread(services.health, "api")
        assert len(view.history) >= 5
        assert {(h["ok"], h["health"], h["detail"]) for h in view.history} == {
            (True, "healthy", "HTTP 200")
        }
        switch.status = "500 Oops"
        await until(lambda: services.supervisor.state("api")[1].value == "unhealthy", "unhealthy")
        # The first failure changed `ok`, the second the health; the checks after it,
        # alike, add nothing.
        await until(
            lambda: (
                len(services.supervisor.recent_checks("api")) >= 3
                and services.supervisor.recent_checks("api")[2]["health"] == "unhealthy"
            ),
            "two more checks after the service became unhealthy",
        )
        assert stored_rows(runtime) == [
            (True, "healthy", "HTTP 200"),
            (False, "healthy", "HTTP 500"),
            (False, "unhealthy", "HTTP 500"),
        ]
        newest = (await asyncio.to_thread(services.health, "api")).history[0]
        assert (newest["ok"], newest["health"]) == (False, "unhealthy")
    finally:
        await services.stop("api")
