"""Expanding $NAME and ~ in start directories from a given environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gaia.sessions.paths import expand_path, referenced_variables


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$P/x", "/proj/x"),
        ("${P}/x", "/proj/x"),
        ("$P$Q", "/proj/q"),
        ("$UNSET/x", "$UNSET/x"),
        ("${UNSET}", "${UNSET}"),
        ("~", "/home/u"),
        ("~/code", "/home/u/code"),
        ("relative/$P", "relative//proj"),
        ("/plain", "/plain"),
    ],
)
def test_expand_path_reads_the_given_environment(value: str, expected: str) -> None:
    """Known names expand, unknown ones stay as written (as os.path.expandvars leaves them)."""
    environ = {"P": "/proj", "Q": "/q", "HOME": "/home/u"}
    assert expand_path(value, environ) == Path(expected)


def test_without_an_environment_it_is_expandvars_then_expanduser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No mapping: the process's own environment, exactly as os.path does it."""
    monkeypatch.setenv("GAIA_TEST_DIR", "/somewhere")
    for value in ("$GAIA_TEST_DIR/a", "~/b", "${GAIA_TEST_DIR}", "$NOPE_X/c"):
        assert expand_path(value) == Path(os.path.expanduser(os.path.expandvars(value)))


def test_referenced_variables_finds_both_spellings() -> None:
    """The names a layout refers to, so a command can send just those to the daemon."""
    text = "start_directory: $A/x\nwindows:\n  - start_directory: ${B_2}/y\n    cost: 5$\n"
    assert referenced_variables(text) == {"A", "B_2"}
