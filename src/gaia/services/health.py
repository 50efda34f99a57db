"""Health probes: HTTP, TCP and exec, each bounded by the check's timeout.

Plain-HTTP and TCP checks of an IP address are socket callbacks in the event loop
(``gaia.services.socket_probe``): a thousand services probed every second must cost
the supervisor little. A host name is resolved first (off the loop) and then read the
same way, as a stream. HTTPS endpoints go through httpx (certificates are not
verified: local dev servers use self-signed ones, and a probe only reads the status).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

from gaia._proc import ProcessError, spawn
from gaia.services.socket_probe import ProbeResult, SocketProbe, http_status, target
from gaia.services.spec import HealthCheckSpec, ServiceSpec

__all__ = ["ProbeResult", "probe"]


async def probe(spec: ServiceSpec, *, kill_grace: float = 1.0) -> ProbeResult:
    """Run the service's health check once; a service without one counts as healthy."""
    check = spec.health_check
    if check is None:
        return ProbeResult(True, 0.0, "no health check")
    found = target(spec)
    if found is not None:
        done: asyncio.Future[ProbeResult] = asyncio.get_running_loop().create_future()
        under_way = SocketProbe(found, done.set_result)
        try:
            return await done
        finally:
            under_way.cancel()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout):
            ok, detail = await _run(spec, check, kill_grace)
    except TimeoutError:
        ok, detail = False, f"timed out after {check.timeout:g}s"
    except OSError as exc:
        ok, detail = False, exc.strerror or str(exc)
    except (ProcessError, ValueError) as exc:
        ok, detail = False, str(exc) or type(exc).__name__
    return ProbeResult(ok, (time.perf_counter() - started) * 1000, detail)


async def _run(spec: ServiceSpec, check: HealthCheckSpec, kill_grace: float) -> tuple[bool, str]:
    if check.type == "http":
        url = spec.health_endpoint or ""
        status = await (_https_status(url) if url.startswith("https://") else _http_status(url))
        if check.expected_status is not None:
            return status == check.expected_status, f"HTTP {status}"
        return 200 <= status < 400, f"HTTP {status}"
    if check.type == "tcp":
        port = spec.health_port or 0
        _, writer = await asyncio.open_connection(check.host, port)
        writer.close()
        await writer.wait_closed()
        return True, f"connected to {check.host}:{port}"
    return await _exec(check.command or "", kill_grace)


async def _http_status(url: str) -> int:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: gaia-health\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
    return http_status(line)


async def _https_status(url: str) -> int:
    # Imported here: only HTTPS checks need it, and it costs every command ~45 ms.
    import httpx

    try:
        async with httpx.AsyncClient(verify=False) as client:  # noqa: S501 - see module doc
            response = await client.get(url, headers={"User-Agent": "gaia-health"})
            return response.status_code
    except httpx.HTTPError as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


async def _exec(command: str, kill_grace: float) -> tuple[bool, str]:
    handle = spawn(["/bin/sh", "-c", command], cookie=f"health/{uuid.uuid4().hex}")
    try:
        code = await handle.wait()
    except asyncio.CancelledError:  # the probe timed out: nothing it started may linger
        await asyncio.shield(handle.kill_tree(kill_grace))
        raise
    return code == 0, f"exit status {code}"
