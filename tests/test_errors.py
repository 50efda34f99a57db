"""The error tree: every class drawn in errors.py's docstring, and the failures that
raise ProcessError and NoServerError for real."""

from __future__ import annotations

import inspect
import re
import socket
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import gaia.errors
from gaia._proc import spawn
from gaia.api.errors import install_error_handlers
from gaia.cli.daemon import DaemonClient, DaemonInfo
from gaia.cli.remote import DaemonUnavailable
from gaia.errors import GaiaError, NoServerError, ProcessError
from gaia.sessions.tmux import CliDriver, check_tmux


def _error_classes() -> list[type[GaiaError]]:
    return [
        value
        for value in vars(gaia.errors).values()
        if inspect.isclass(value) and issubclass(value, GaiaError)
    ]


def test_the_docstring_draws_every_error_class() -> None:
    drawn = set(re.findall(r"^[\s│├└─]*(\w+Error)\b", gaia.errors.__doc__ or "", re.MULTILINE))
    names = {cls.__name__ for cls in _error_classes()}
    assert drawn == names
    assert names <= set(gaia.errors.__all__)


def test_error_codes_are_distinct() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))


def test_starting_a_missing_program_is_a_process_error(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="cannot start 'gaia-no-such-program'"):
        spawn(["gaia-no-such-program"], cookie="test/missing", cwd=tmp_path)


def test_starting_in_a_missing_directory_is_a_process_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    with pytest.raises(ProcessError, match=f"working directory {missing} does not exist"):
        spawn(["true"], cookie="test/missing-dir", cwd=missing)


def test_a_tmux_socket_without_a_server_is_no_server_error(tmp_path: Path) -> None:
    check_tmux()
    driver = CliDriver(f"gaia-test-noserver-{tmp_path.name}")
    with pytest.raises(NoServerError, match="is not running") as caught:
        driver.execute(["list-sessions"])
    assert caught.value.http_status == 503
    assert caught.value.details["server"] == "tmux"


def test_a_daemon_that_does_not_answer_is_no_server_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = DaemonClient(DaemonInfo(pid=1, url=f"http://127.0.0.1:{port}"), token="t")
    try:
        with pytest.raises(NoServerError, match="cannot reach the gaia daemon"):
            client.request("GET", "/workflows")
    finally:
        client.close()
    assert issubclass(DaemonUnavailable, NoServerError)


def test_the_api_answers_no_server_with_503() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/tmux")
    def tmux() -> None:
        raise NoServerError.tmux("gaia")

    response = TestClient(app).get("/tmux")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "no_server"
    assert "tmux server 'gaia' is not running" in error["message"]


def test_a_scaffold_command_in_a_missing_directory_is_a_process_error(tmp_path: Path) -> None:
    from gaia.scaffold.shell import run_shell

    with pytest.raises(ProcessError, match="cannot run 'true' in"):
        run_shell("true", tmp_path / "gone", timeout=10)
