"""Request bodies through a real `gaia serve`: a size cap answered with 413, and bad
definitions answered with located 4xx problems, never a 5xx or a stalled daemon."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_workflows_api import Server, gaia_env, start_server, stop_server_checked

LIMIT = 65_536
WF = "/api/orchestration/workflows"
SERVICES = "/api/orchestration/services"
YAML = {"content-type": "application/yaml"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("bodies") / "gaia-home"
    home.mkdir()
    env = gaia_env(home)
    env["GAIA_MAX_REQUEST_BODY"] = str(LIMIT)
    srv = start_server(home, env)
    try:
        yield srv
    finally:
        try:
            stop_server_checked(srv)
        finally:
            srv.kill()


def too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert f"larger than {LIMIT} bytes" in error["message"]


@pytest.mark.parametrize("route", [WF, SERVICES, "/api/orchestration/scaffold/templates"])
def test_a_declared_length_over_the_cap_is_refused_at_once(server: Server, route: str) -> None:
    with server.client() as client:
        too_large(client.post(route, content=b"x" * (LIMIT + 1), headers=YAML))


def test_a_streamed_body_over_the_cap_is_refused(server: Server) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MiB unless the daemon stops reading
            sent += 65_536
            yield b"#" * 65_536

    with server.client() as client:
        too_large(client.post(WF, content=chunks(), headers=YAML))


def test_a_body_at_the_cap_is_read(server: Server) -> None:
    body = b"name: w\ntasks: [{id: a, command: 'true'}]\n"
    body += b"#" * (LIMIT - len(body))
    with server.client() as client:
        assert client.post(WF, content=body, headers=YAML).status_code == 201


@pytest.mark.parametrize(
    ("route", "body", "where", "message"),
    [
        (WF, b"name: w\ntasks: \xff\n", (2, 8), "not UTF-8 text: byte 0xff"),
        (SERVICES, b"name: s\ncommand: \x00\n", (2, 10), "control characters"),
        (WF, b"a: &a [*a]\n", (1, 4), "recursive alias"),
        (WF, b"name: w\ntasks: " + b"9" * 5000 + b"\n", (2, 8), "invalid int"),
        (SERVICES, b"1: a\n1.0: b\n", (2, 1), "duplicate key 1.0"),
    ],
)
def test_bad_definitions_are_located_4xx(
    server: Server, route: str, body: bytes, where: tuple[int, int], message: str
) -> None:
    with server.client() as client:
        response = client.post(route, content=body, headers=YAML)
    assert response.status_code == 422, response.text
    problems = response.json()["error"]["details"]
    assert any((p["line"], p["column"]) == where and message in p["message"] for p in problems), (
        problems
    )


def test_json_with_a_huge_number_is_a_4xx(server: Server) -> None:
    with server.client() as client:
        response = client.post(
            WF,
            content=b'{"name": ' + b"9" * 5000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 422, response.text


def test_an_alias_bomb_does_not_stall_the_daemon(server: Server, tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        prev, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]")
    bomb = ("\n".join(lines) + "\n").encode()
    started = time.monotonic()
    with server.client() as client:
        response = client.post(WF, content=bomb, headers=YAML)
        assert response.status_code == 422, response.text
        assert "aliases expand to more than" in response.text
        assert client.get("/api/orchestration/health").status_code == 200
    assert time.monotonic() - started < 5  # 64 s and 2.9 GB before
