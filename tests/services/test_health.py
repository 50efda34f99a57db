"""Health probes against real sockets on 127.0.0.1 and real processes."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from gaia.services.health import probe
from gaia.services.spec import ServiceSpec
from tests.helpers import free_port, proc_gone, wait_until


def service(**check: Any) -> ServiceSpec:
    port = check.pop("service_port", None)
    return ServiceSpec.model_validate(
        {"name": "svc", "command": "true", "port": port, "health_check": check}
    )


@pytest.fixture
async def http_server() -> AsyncIterator[int]:
    """A tiny HTTP server: /ok -> 200, /missing -> 404, /broken -> 500, /hang never answers."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()
        path = request.split()[1].decode()
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        if path == "/hang":
            await asyncio.sleep(30)
        status = {"/ok": "200 OK", "/missing": "404 Not Found"}.get(path, "500 Oops")
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port
        server.close()


async def test_http_probe_reads_the_status(http_server: int) -> None:
    """2xx/3xx is healthy, an error status is not, and expected_status is matched exactly."""
    base = f"http://127.0.0.1:{http_server}"
    ok = await probe(service(type="http", endpoint=f"{base}/ok"))
    assert (ok.ok, ok.detail) == (True, "HTTP 200")
    broken = await probe(service(type="http", endpoint=f"{base}/broken"))
    assert (broken.ok, broken.detail) == (False, "HTTP 500")
    expected = await probe(service(type="http", endpoint=f"{base}/missing", expected_status=404))
    assert (expected.ok, expected.detail) == (True, "HTTP 404")


async def test_http_probe_defaults_to_the_service_port(http_server: int) -> None:
    """Without an endpoint the probe asks http://127.0.0.1:<port>/ of the service."""
    result = await probe(service(type="http", service_port=http_server))
    assert result.detail == "HTTP 500"  # "/" is not a route of the test server


async def test_http_probe_times_out_and_refused_connections_fail(http_server: int) -> None:
    """A server that never answers times out; a closed port is reported as refused."""
    hang = await probe(
        service(type="http", endpoint=f"http://127.0.0.1:{http_server}/hang", timeout="200ms")
    )
    assert (hang.ok, hang.detail) == (False, "timed out after 0.2s")
    refused = await probe(service(type="http", endpoint=f"http://127.0.0.1:{free_port()}/"))
    assert not refused.ok
    assert "refused" in refused.detail.lower() or "connect call failed" in refused.detail.lower()


@pytest.fixture
async def https_server(http_server: int, tmp_path: Path) -> AsyncIterator[int]:
    """The same tiny server behind TLS, with a self-signed certificate (openssl CLI)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    options = ["-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    made = subprocess.run(
        ["openssl", "req", "-x509", *options, "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {made.stderr[-200:]!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", http_server)
        upstream_writer.write(await reader.readuntil(b"\r\n\r\n"))
        await upstream_writer.drain()
        writer.write(await upstream_reader.read())
        await writer.drain()
        writer.close()
        upstream_writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]
        server.close()


async def test_https_probe_reads_the_status_and_reports_failures(
    https_server: int, http_server: int
) -> None:
    """An https:// check (self-signed certificates accepted) reads the status; a TLS
    failure is an unhealthy result with a reason, not an exception."""
    ok = await probe(service(type="http", endpoint=f"https://127.0.0.1:{https_server}/ok"))
    assert (ok.ok, ok.detail) == (True, "HTTP 200")
    missing = await probe(service(type="http", endpoint=f"https://127.0.0.1:{https_server}/x"))
    assert (missing.ok, missing.detail) == (False, "HTTP 500")
    # TLS spoken to a plain HTTP server: the handshake fails.
    plain = await probe(service(type="http", endpoint=f"https://127.0.0.1:{http_server}/ok"))
    assert plain.ok is False
    assert plain.detail


async def test_tcp_probe(http_server: int) -> None:
    """A listening port is healthy; a closed one is not."""
    ok = await probe(service(type="tcp", port=http_server))
    assert (ok.ok, ok.detail) == (True, f"connected to 127.0.0.1:{http_server}")
    closed = await probe(service(type="tcp", service_port=free_port()))
    assert not closed.ok


async def test_exec_probe_and_its_timeout_kills_the_command(tmp_path: Path) -> None:
    """An exec probe passes on exit 0, fails otherwise, and a hung one is killed."""
    assert (await probe(service(type="exec", command="exit 0"))).ok
    failed = await probe(service(type="exec", command="exit 3"))
    assert (failed.ok, failed.detail) == (False, "exit status 3")
    pidfile = tmp_path / "probe.pid"
    hung = await probe(
        service(type="exec", command=f"echo $$ > {pidfile}; exec sleep 30", timeout="300ms"),
        kill_grace=0.5,
    )
    assert (hung.ok, hung.detail) == (False, "timed out after 0.3s")
    pid = int(pidfile.read_text())
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return  # already gone, as it should be
    wait_until(lambda: proc_gone(proc), timeout=5, what="the timed-out probe command to die")


async def test_no_health_check_counts_as_healthy() -> None:
    """A service without a health check is healthy as long as it runs."""
    spec = ServiceSpec(name="plain", command="true")
    assert (await probe(spec)).ok


async def test_a_host_name_endpoint_is_resolved_and_probed(http_server: int) -> None:
    """`localhost` is not an IP address: it is resolved (off the loop) and probed."""
    result = await probe(service(type="http", endpoint=f"http://localhost:{http_server}/ok"))
    assert (result.ok, result.detail) == (True, "HTTP 200")
    tcp = await probe(service(type="tcp", host="localhost", port=http_server))
    assert (tcp.ok, tcp.detail) == (True, f"connected to localhost:{http_server}")


async def test_a_status_line_in_pieces_and_a_non_http_answer() -> None:
    """The status line is read however the server splits it; an answer that is not
    HTTP is a failed check that says what came back."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if b"GET /split " in request:
            pieces = (b"HTT", b"P/1.1 2", b"04 No Content\r", b"\nContent-Length: 0\r\n\r\n")
            for number, piece in enumerate(pieces):
                if number:
                    await asyncio.sleep(0.02)
                writer.write(piece)
                await writer.drain()
        else:
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        split = await probe(service(type="http", endpoint=f"http://127.0.0.1:{port}/split"))
        assert (split.ok, split.detail) == (True, "HTTP 204")
        other = await probe(service(type="http", endpoint=f"http://127.0.0.1:{port}/"))
        answer = "not an HTTP response: b'SSH-2.0-OpenSSH_9.6'"
        assert (other.ok, other.detail) == (False, answer)


async def test_a_refused_connection_says_where() -> None:
    port = free_port()
    refused = await probe(service(type="http", endpoint=f"http://127.0.0.1:{port}/"))
    assert (refused.ok, refused.detail) == (
        False,
        f"cannot connect to 127.0.0.1:{port}: Connection refused",
    )
