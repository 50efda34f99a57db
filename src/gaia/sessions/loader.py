"""Load a session layout file (tmuxp's format) as tmuxp loads it; say where each problem is.

gaia.sessions.tmuxp reads the file the way tmuxp does (every key it ignores and every
directory missing here is a warning with file:line:column); what tmuxp fails on is an
error here, with all errors of the file reported at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from gaia._textfile import TextFileError, read_text_file
from gaia._yaml import Path as DataPath
from gaia._yaml import Positions, dotted, load_mapping, schema_problem
from gaia.errors import Problem, SessionValidationError
from gaia.sessions.builder import LAYOUT_NAMES, is_valid_layout
from gaia.sessions.paths import expand_path
from gaia.sessions.spec import CommandSpec, PaneSpec, SessionSpec, WindowSpec
from gaia.sessions.tmuxp import normalise

__all__ = ["Layout", "load_layout", "load_layout_file", "read_layout_file", "resolve_directories"]

_FIELDS: dict[str, list[str]] = {
    "": sorted(SessionSpec.model_fields),
    "windows": sorted(WindowSpec.model_fields),
    "panes": sorted(PaneSpec.model_fields),
    "shell_command": sorted(CommandSpec.model_fields),
}
_HINTS = {"layout": f"use a tmux layout string or one of: {', '.join(sorted(LAYOUT_NAMES))}"}
Report = Callable[[DataPath, str, str | None], None]


@dataclass
class Layout:
    """A loaded layout file: the session to build, and what was ignored on the way."""

    spec: SessionSpec
    warnings: list[Problem] = field(default_factory=list)


def read_layout_file(
    path: Path,
    *,
    source: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Layout:
    """``source`` names the file in messages (default: ``path`` as given); ``environ``
    expands ``$NAME`` and ``~`` (default: this process's); ``cwd`` is the caller's working
    directory (default: this process's)."""
    source = source or str(path)
    try:
        text = read_text_file(path, "layout file", source=source)
    except TextFileError as exc:
        raise SessionValidationError.from_problems(source, [exc.problem]) from None
    if path.suffix.lower() == ".json":
        try:  # tmuxp reads .json files as JSON: what JSON refuses (trailing commas) fails
            json.loads(text)
        except json.JSONDecodeError as exc:
            problem = Problem(
                f"invalid JSON: {exc.msg}", source=source, line=exc.lineno, column=exc.colno
            )
            raise SessionValidationError.from_problems(source, [problem]) from None
    base = (cwd or Path.cwd()) / path
    return load_layout(
        text, source=source, base_dir=base.resolve().parent, environ=environ, cwd=cwd
    )


def load_layout_file(
    path: Path, *, source: str | None = None, environ: Mapping[str, str] | None = None
) -> SessionSpec:
    """``read_layout_file`` without the warnings."""
    return read_layout_file(path, source=source, environ=environ).spec


def load_layout(
    text: str,
    *,
    source: str = "<layout>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Layout:
    """Parse and validate; relative paths start at ``base_dir`` (the file's folder)."""
    data, positions, duplicates = load_mapping(
        text,
        source,
        expected="a session layout (a mapping with 'session_name' and 'windows')",
        error=SessionValidationError,
        last_wins=True,
    )
    here = cwd or Path.cwd()
    read = normalise(data, positions, file_dir=base_dir or here, cwd=here, environ=environ)
    problems = list(read.errors)
    spec: SessionSpec | None = None
    if not problems:
        try:
            spec = SessionSpec.model_validate(read.data)
        except pydantic.ValidationError as exc:
            problems.extend(_problem(error, positions) for error in exc.errors())
    if spec is not None:
        for w, window in enumerate(spec.windows):
            if window.layout is not None and not is_valid_layout(window.layout):
                problems.append(
                    positions.problem(
                        ("windows", w, "layout"),
                        f"windows[{w}].layout: unknown layout {window.layout!r}",
                        _HINTS["layout"],
                    )
                )
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise SessionValidationError.from_problems(source, problems)
    assert spec is not None
    warnings = sorted([*duplicates, *read.warnings], key=lambda p: (p.line or 0, p.column or 0))
    return Layout(spec, warnings)


def resolve_directories(
    spec: SessionSpec,
    base_dir: Path | None,
    report: Report,
    data: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SessionSpec:
    """Expand and check the start directories and layouts of a spec that did not come
    from a file (the API's CreateSession, ``gaia session create``); problems go to
    ``report``.

    With no ``base_dir`` (a request to the daemon, whose directory means nothing to the
    caller) a relative directory is a problem.
    """
    session_key = "project_path" if data and "project_path" in data else "start_directory"

    def resolve(value: str | None, path: DataPath) -> str | None:
        if value is None:
            return None
        expanded = expand_path(value, environ)
        if base_dir is None and not expanded.is_absolute():
            report(path, f"{dotted(path)} must be an absolute path (got {value!r})", None)
            return value
        absolute = expanded if base_dir is None or expanded.is_absolute() else base_dir / expanded
        if not absolute.is_dir():
            report(
                path,
                f"{dotted(path)}: directory {str(absolute)!r} does not exist",
                "create it first or fix the path",
            )
            return value
        return str(absolute.resolve())

    spec.start_directory = resolve(spec.start_directory, (session_key,))
    for w, window in enumerate(spec.windows):
        window.start_directory = resolve(window.start_directory, ("windows", w, "start_directory"))
        if window.layout is not None and not is_valid_layout(window.layout):
            report(
                ("windows", w, "layout"),
                f"windows[{w}].layout: unknown layout {window.layout!r}",
                _HINTS["layout"],
            )
        for p, pane in enumerate(window.panes):
            pane.start_directory = resolve(
                pane.start_directory, ("windows", w, "panes", p, "start_directory")
            )
    return spec


def _problem(error: Any, positions: Positions) -> Problem:
    def known(mapping: DataPath) -> list[str] | None:
        key = "/".join(str(p) for p in mapping if isinstance(p, str))
        return _FIELDS.get(key.split("/")[-1] if key else "")

    def describe(where: DataPath) -> str:
        return dotted(where) or "the session"

    return schema_problem(error, positions, known_fields=known, describe=describe, hints=_HINTS)
