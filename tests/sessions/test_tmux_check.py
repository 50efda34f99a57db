"""Without a usable tmux, gaia says how to install one (check_tmux and the CLI)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import GAIA_BIN

# check_tmux() is functools.cache'd: each case runs in its own interpreter.
CHECK = """
from gaia.errors import TmuxUnavailableError
from gaia.sessions.tmux import check_tmux
try:
    print("ok", check_tmux())
except TmuxUnavailableError as exc:
    print("error", exc)
"""


def bin_dir(tmp_path: Path, version: str | None) -> Path:
    """A directory to use as PATH: empty, or with a fake tmux that reports ``version``."""
    path = tmp_path / "bin"
    path.mkdir()
    if version is not None:
        fake = path / "tmux"
        fake.write_text(f"#!/bin/sh\necho '{version}'\n", encoding="utf-8")
        fake.chmod(0o755)
    return path


def check_with_path(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={"PATH": str(path), "HOME": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout.strip()


def test_missing_tmux_says_how_to_install_it(tmp_path: Path) -> None:
    """With no tmux on PATH, check_tmux raises TmuxUnavailableError with install advice."""
    out = check_with_path(bin_dir(tmp_path, None))
    assert out.startswith("error tmux is not installed")
    assert "install tmux 3.2 or newer" in out
    assert "apt install tmux" in out


def test_too_old_tmux_says_how_to_install_a_newer_one(tmp_path: Path) -> None:
    """A tmux older than 3.2 is refused with its version, location and install advice."""
    path = bin_dir(tmp_path, "tmux 2.9")
    out = check_with_path(path)
    assert out.startswith("error tmux 2.9 at ")
    assert str(path / "tmux") in out
    assert "too old" in out
    assert "install tmux 3.2 or newer" in out


@pytest.mark.parametrize("version", ["tmux 3.2", "tmux 3.4", "tmux next-3.6", "tmux master"])
def test_new_enough_tmux_is_accepted(tmp_path: Path, version: str) -> None:
    """tmux 3.2 and newer, and development builds, are accepted and their path returned."""
    path = bin_dir(tmp_path, version)
    assert check_with_path(path) == f"ok {path / 'tmux'}"


def test_unreadable_tmux_version_is_refused(tmp_path: Path) -> None:
    """A tmux whose -V output has no version number is refused rather than guessed."""
    out = check_with_path(bin_dir(tmp_path, "something odd"))
    assert out.startswith("error cannot tell the version of")


@pytest.mark.parametrize(
    ("version", "expected"), [(None, "not installed"), ("tmux 2.9", "too old")]
)
def test_cli_without_usable_tmux_exits_with_advice(
    tmp_path: Path, cli_env: dict[str, str], version: str | None, expected: str
) -> None:
    """`gaia session list` without a usable tmux exits non-zero with the advice, no traceback."""
    env = {**cli_env, "PATH": str(bin_dir(tmp_path, version))}
    done = subprocess.run(
        [str(GAIA_BIN), "session", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert expected in done.stderr
    assert "install tmux 3.2 or newer" in " ".join(done.stderr.split())
    assert done.stderr.lstrip().startswith("error:")


def test_cli_with_real_tmux_lists_sessions(cli_env: dict[str, str]) -> None:
    """The same command with the real tmux on PATH succeeds (the checks above are not vacuous)."""
    done = subprocess.run(
        [str(GAIA_BIN), "session", "list"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tmux" not in done.stderr
