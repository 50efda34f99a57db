"""``$NAME`` and ``~`` in start directories, expanded from a given environment.

Kept apart from the loader (and its pydantic and tmux imports): a command that hands its
layout to the daemon sends the variables the layout refers to, so that the daemon
expands them as the command's own shell would, not from the daemon's environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["expand_path", "expand_shell", "referenced_variables"]

_VARIABLE = re.compile(r"\$(\w+|\{([^}]*)\})")


def referenced_variables(text: str) -> set[str]:
    """The names a text refers to as ``$NAME`` or ``${NAME}`` (what expand_path reads)."""
    return {m.group(2) if m.group(2) is not None else m.group(1) for m in _VARIABLE.finditer(text)}


def expand_path(value: str, environ: Mapping[str, str] | None = None) -> Path:
    """``os.path.expandvars`` then ``expanduser``, reading ``environ`` when given."""
    if environ is None:
        return Path(os.path.expandvars(value)).expanduser()

    def variable(match: re.Match[str]) -> str:
        name = match.group(2) if match.group(2) is not None else match.group(1)
        return environ.get(name, match.group(0))  # unknown names stay, as expandvars does

    expanded = _VARIABLE.sub(variable, value)
    if expanded == "~" or expanded.startswith("~/"):
        home = environ.get("HOME")
        if home:
            return Path(home + expanded[1:])
    return Path(expanded).expanduser()  # ~user: the password database, the same machine


def expand_shell(value: str, environ: Mapping[str, str] | None = None) -> str:
    """tmuxp's ``expandshell``: ``~`` first, then ``$NAME``, reading ``environ`` when given
    (unknown names stay as they are, as ``os.path.expandvars`` leaves them)."""
    if environ is None:
        return os.path.expandvars(os.path.expanduser(value))  # noqa: PTH111 - str to str, as tmuxp
    if value == "~" or value.startswith("~/"):
        home = environ.get("HOME") or str(Path.home())
        value = home + value[1:]
    elif value.startswith("~"):
        value = os.path.expanduser(value)  # noqa: PTH111 - ~user: the password database

    def variable(match: re.Match[str]) -> str:
        name = match.group(2) if match.group(2) is not None else match.group(1)
        return environ.get(name, match.group(0))

    return _VARIABLE.sub(variable, value)
