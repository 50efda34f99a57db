"""The API at its edges, through a real `gaia serve` on 127.0.0.1: TCP, HTTP and headers."""

from __future__ import annotations

import http.client
import socket
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_workflows_api import (
    API,
    Server,
    serving,
)

HEALTH = f"{API}/health"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(tmp_path_factory.mktemp("edges")) as srv:
        yield srv


def raw_request(port: int, request: bytes) -> bytes:
    """Send ``request`` as is and read the whole answer (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# -- TCP -----------------------------------------------------------------------------


def test_a_reused_connection_answers_without_the_delayed_ack_stall(server: Server) -> None:
    """Keep-alive requests after the first answer in well under the ~40 ms that Nagle's
    algorithm plus the client's delayed ACK cost when TCP_NODELAY is not set."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", HEALTH)
        first = connection.getresponse()
        assert first.status == 200
        first.read()
        timings = []
        for _ in range(21):
            started = time.perf_counter()
            connection.request("GET", HEALTH)
            response = connection.getresponse()
            response.read()
            timings.append(time.perf_counter() - started)
            assert response.status == 200
            assert response.getheader("connection") != "close"
    finally:
        connection.close()
    median_ms = statistics.median(timings) * 1000
    assert median_ms < 20, f"median of reused-connection requests: {median_ms:.1f} ms"


# -- the Host header -----------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[::1]evil.example",
        "[::1]:{port}evil.example",
        "[::1",
        "::1",
        "localhost:",
        "localhost:{port}x",
        "localhost:-1",
        "local host",
        "",
    ],
)
def test_a_malformed_host_header_is_a_bad_request(server: Server, host: str) -> None:
    """A Host that is not `host[:port]` (IPv6 bracketed, nothing after) gets 400."""
    header = host.format(port=server.port)
    answer = raw_request(
        server.port,
        f"GET {HEALTH} HTTP/1.1\r\nHost: {header}\r\nConnection: close\r\n\r\n".encode(),
    )
    status = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status, answer
    assert b"Traceback" not in answer


@pytest.mark.parametrize("host", ["[::1]", "[::1]:{port}", "localhost:{port}", "127.0.0.1"])
def test_a_local_host_header_is_accepted(server: Server, host: str) -> None:
    header = host.format(port=server.port)
    answer = raw_request(
        server.port,
        f"GET {HEALTH} HTTP/1.1\r\nHost: {header}\r\nConnection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200 "), answer


# -- HEAD ----------------------------------------------------------------------------


def test_head_health_answers_like_get_without_a_body(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("HEAD", HEALTH)
        head = connection.getresponse()
        assert head.read() == b""
        connection.request("GET", HEALTH)  # the connection is still usable
        get = connection.getresponse()
        body = get.read()
    finally:
        connection.close()
    assert head.status == 200
    assert head.getheader("content-type") == get.getheader("content-type")
    assert head.getheader("content-length") == str(len(body))


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/workflows",
        f"{API}/services",
        f"{API}/agents",
        f"{API}/agents/tasks",
        f"{API}/templates",
        "/openapi.json",
    ],
)
def test_every_get_route_answers_head(server: Server, path: str) -> None:
    with server.client() as client:
        get = client.get(path)
        head = client.head(path)
    assert get.status_code == 200, get.text
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]


def test_head_of_a_followed_log_ends_after_the_headers(server: Server) -> None:
    """A streaming GET answered to HEAD must not keep running: the connection is free."""
    service = {"name": "quiet", "command": "sleep", "args": ["60"]}
    with server.client() as client:
        assert client.post(f"{API}/services", json=service).status_code == 201
        head = client.head(f"{API}/services/quiet/logs", params={"follow": "true"})
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        assert client.get(HEALTH).status_code == 200
        assert client.head(f"{API}/services/quiet").status_code == 200
        assert client.head(f"{API}/services/nope").status_code == 404
        assert client.delete(f"{API}/services/quiet").status_code == 200


# -- problem details -----------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:gaia:error:{code}"
    assert body["title"] and body["detail"]
    assert body["error"]["code"] == code and body["error"]["message"] == body["detail"]


def test_errors_are_problem_details(server: Server) -> None:
    """RFC 9457 members beside the `error` member older clients read, from every source."""
    with server.client() as client:
        missing = client.get(f"{API}/workflows/0123456789abcdef")
        assert_problem(missing, 404, "not_found")
        assert missing.json()["instance"] == f"{API}/workflows/0123456789abcdef"
        assert_problem(
            client.get(f"{API}/workflows", params={"limit": "0"}), 422, "invalid_request"
        )
        assert_problem(client.put(HEALTH), 405, "method_not_allowed")
        assert client.put(HEALTH).headers["allow"] == "GET"
    with server.client(token=None) as anonymous:
        assert_problem(anonymous.get(f"{API}/workflows"), 401, "unauthorized")
        assert_problem(
            anonymous.get(HEALTH, headers={"Host": "evil.example"}), 403, "forbidden_host"
        )


def test_openapi_declares_the_problem_responses(server: Server) -> None:
    with server.client() as client:
        schema = client.get("/openapi.json").json()
    undeclared = []
    for path, operations in schema["paths"].items():
        if not path.startswith(API) or path == HEALTH:
            continue
        for method, operation in operations.items():
            for status in ("401", "403", "404", "422"):
                content = operation["responses"].get(status, {}).get("content", {})
                if "application/problem+json" not in content:
                    undeclared.append(f"{method.upper()} {path} {status}")
    assert not undeclared, undeclared


def test_the_cli_maps_problem_statuses_to_gaia_errors(server: Server) -> None:
    """Bad input exits 2 (ValidationError), a conflict or a missing thing 1, with the message."""
    from gaia.cli.remote import error_from_response
    from gaia.errors import ConflictError, GaiaError, NotFoundError, ValidationError

    with server.client() as client:
        invalid = client.get(f"{API}/workflows", params={"limit": "0"})
        missing = client.get(f"{API}/workflows/0123456789abcdef")
    with server.client(token=None) as anonymous:
        refused = anonymous.get(f"{API}/workflows")
    error = error_from_response(invalid.status_code, invalid.content)
    assert isinstance(error, ValidationError)
    assert error.problems[0].path == "query.limit"
    assert isinstance(error_from_response(missing.status_code, missing.content), NotFoundError)
    assert isinstance(error_from_response(409, b'{"detail": "busy"}'), ConflictError)
    token = error_from_response(refused.status_code, refused.content)
    assert type(token) is GaiaError and "refused the API token" in str(token)
    stopping = error_from_response(503, b"<html>bad gateway</html>")
    assert "cannot do this now" in str(stopping) and "bad gateway" in str(stopping)
