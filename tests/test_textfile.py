"""Every loader reads its file through gaia._textfile: special files, huge files and
bytes that are not UTF-8 are refused at once, with a located problem."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gaia._textfile import MAX_DEFINITION_BYTES, TextFileError, read_text_file
from gaia.config import load_settings
from gaia.errors import ConfigError, GaiaError
from gaia.scaffold.loader import load_template_file
from gaia.services.loader import load_service_file
from gaia.sessions.loader import load_layout_file
from gaia.workflows.loader import load_workflow_file

LOADERS: dict[str, Callable[[Path], Any]] = {
    "workflow": load_workflow_file,
    "service": load_service_file,
    "layout": load_layout_file,
    "template": load_template_file,
}


def error_of(load: Callable[[Path], Any], path: Path) -> str:
    """What ``load(path)`` raises, from a thread: a loader that hangs fails the test."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            load(path)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=5)
    if thread.is_alive():
        # Unblock an open() waiting for a FIFO's writer, so the thread can end.
        with open(os.open(path, os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        thread.join(timeout=5)
        pytest.fail(f"loading {path} hung")
    assert outcome, f"loading {path} succeeded"
    assert isinstance(outcome[0], GaiaError), repr(outcome[0])
    return str(outcome[0])


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_fifo_is_refused_without_waiting_for_a_writer(kind: str, tmp_path: Path) -> None:
    fifo = tmp_path / "def.yaml"
    os.mkfifo(fifo)
    message = error_of(LOADERS[kind], fifo)
    assert f"{fifo}: cannot read" in message
    assert "it is a FIFO (named pipe), not a regular file" in message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_an_endless_device_is_refused(kind: str) -> None:
    message = error_of(LOADERS[kind], Path("/dev/zero"))
    assert "/dev/zero: cannot read" in message and "a character device" in message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_bytes_that_are_not_utf8_are_located(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "def.yaml"
    path.write_bytes("name: x\nvalue: é\xff\n".encode("latin-1").replace(b"\xe9", "é".encode()))
    message = error_of(LOADERS[kind], path)
    assert f"{path}:2:9: not UTF-8 text: byte 0xff cannot be decoded" in message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_file_over_the_cap_is_refused_unread(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "def.yaml"
    path.write_bytes(b"#" * (MAX_DEFINITION_BYTES + 1))
    message = error_of(LOADERS[kind], path)
    assert f"larger than {MAX_DEFINITION_BYTES} bytes" in message


def test_a_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: x\n")
    assert read_text_file(path, "file") == "name: x\n"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match="it is a directory, not a regular file"):
        read_text_file(tmp_path, "workflow file")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"port = 1\n\xfe\n", ":2:1: not UTF-8 text: byte 0xfe"),
        (b"port = 1\nhost = \n", ":2:8: invalid TOML: Invalid value"),
        (b"n = " + b"9" * 5000 + b"\n", ":1:5: invalid TOML: Exceeds the limit (4300 digits)"),
        (b"n = " + b"[" * 2000 + b"\n", ":1:5: invalid TOML: nested too deeply"),
        (b'host = "x', ":1:10: invalid TOML: Unterminated string at the end of the file"),
    ],
)
def test_config_errors_are_located(gaia_home: Path, content: bytes, expected: str) -> None:
    config = gaia_home / "config.toml"
    config.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(home=gaia_home, environ={})
    assert str(caught.value).startswith(f"{config}{expected}")


def test_config_as_a_fifo_is_refused(gaia_home: Path) -> None:
    os.mkfifo(gaia_home / "config.toml")
    message = error_of(lambda _: load_settings(home=gaia_home, environ={}), gaia_home)
    assert "config.toml: cannot read config file: it is a FIFO" in message
