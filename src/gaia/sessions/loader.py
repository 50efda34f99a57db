"""Load a session layout file (tmuxp-style YAML); report every problem with file:line:column.

Start directories may use ``~`` and ``$VARIABLES`` and are relative to the layout file;
each must exist, so that a typo is an error here rather than a pane quietly opened in $HOME.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pydantic

from gaia._textfile import TextFileError, read_text_file
from gaia._yaml import Path as DataPath
from gaia._yaml import Positions, dotted, load_mapping, schema_problem
from gaia.errors import Problem, SessionValidationError
from gaia.sessions.builder import LAYOUT_NAMES, is_valid_layout
from gaia.sessions.paths import expand_path
from gaia.sessions.spec import PaneSpec, SessionSpec, WindowSpec

__all__ = ["load_layout", "load_layout_file", "resolve_directories"]

_FIELDS: dict[str, list[str]] = {
    "": sorted(SessionSpec.model_fields),
    "windows": sorted(WindowSpec.model_fields),
    "panes": sorted(PaneSpec.model_fields),
}
_HINTS = {"layout": f"use a tmux layout string or one of: {', '.join(sorted(LAYOUT_NAMES))}"}
Report = Callable[[DataPath, str, str | None], None]


def load_layout_file(
    path: Path, *, source: str | None = None, environ: Mapping[str, str] | None = None
) -> SessionSpec:
    """``source`` names the file in messages (default: ``path`` as given); ``environ``
    expands ``$NAME`` and ``~`` in start directories (default: this process's)."""
    source = source or str(path)
    try:
        text = read_text_file(path, "layout file", source=source)
    except TextFileError as exc:
        raise SessionValidationError.from_problems(source, [exc.problem]) from None
    return load_layout(text, source=source, base_dir=path.resolve().parent, environ=environ)


def load_layout(
    text: str,
    *,
    source: str = "<layout>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> SessionSpec:
    """Parse and validate; directories are made absolute against ``base_dir``."""
    data, positions, problems = load_mapping(
        text,
        source,
        expected="a session layout (a mapping with 'session_name' and 'windows')",
        error=SessionValidationError,
    )
    spec: SessionSpec | None = None
    try:
        spec = SessionSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(_problem(error, positions) for error in exc.errors())
    if spec is not None:

        def report(path: DataPath, message: str, hint: str | None) -> None:
            problems.append(positions.problem(path, message, hint))

        spec = resolve_directories(spec, base_dir or Path.cwd(), report, data, environ)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise SessionValidationError.from_problems(source, problems)
    assert spec is not None
    return spec


def resolve_directories(
    spec: SessionSpec,
    base_dir: Path | None,
    report: Report,
    data: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> SessionSpec:
    """Expand and check every start directory and layout; problems go to ``report``.

    With no ``base_dir`` (a request to the daemon, whose directory means nothing to the
    caller) a relative directory is a problem. ``$NAME`` and ``~`` expand from
    ``environ`` (a command's own variables, when the daemon loads its layout) or from
    this process's environment.
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
