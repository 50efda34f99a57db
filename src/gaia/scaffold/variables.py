"""Answers: the values of a template's variables, checked and typed, every problem at once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gaia._yaml import Positions
from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.render import Renderer
from gaia.scaffold.spec import TemplateSpec, VariableSpec

__all__ = ["resolve_variables"]

_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def _coerce(variable: VariableSpec, value: Any) -> Any:
    """The typed value, or ValueError saying what is wrong with it."""
    if variable.type == "int":
        if isinstance(value, bool):
            raise ValueError(f"must be an integer (got {value!r})")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"must be an integer (got {value!r})") from None
    if variable.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"must be true or false (got {value!r})")
    text = str(value)
    if variable.type == "choice" and variable.choices and text not in variable.choices:
        raise ValueError(f"must be one of {', '.join(variable.choices)} (got {text!r})")
    if variable.pattern is not None and not re.fullmatch(variable.pattern, text):
        raise ValueError(f"must match {variable.pattern!r} (got {text!r})")
    return text


def _lines_before(positions: Positions | None, path: tuple[str | int, ...]) -> int:
    """Lines of template.yaml above the first line of the value at ``path``."""
    span = None if positions is None else positions.values.get(path)
    if span is None or positions is None:
        return 0
    block = positions.text[span.start : span.start + 1] in ("|", ">")
    return span.line if block else span.line - 1


def resolve_variables(
    spec: TemplateSpec,
    given: Mapping[str, Any],
    *,
    source: str,
    positions: Positions | None = None,
) -> dict[str, Any]:
    """Values for every variable: given, else its default (which may use earlier ones).

    Reports every missing required variable, invalid value and unknown name at once.
    """
    problems: list[Problem] = []
    known = {v.name for v in spec.variables}

    def at(index: int) -> dict[str, Any]:
        """Where variable ``index`` is declared (implicit ones have no line)."""
        key = ("variables", index)
        if positions is None or (key not in positions.values and key not in positions.keys):
            return {}
        line, column = positions.locate(("variables", index))
        return {"line": line, "column": column}

    for name in given:
        if name not in known:
            problems.append(
                Problem(
                    f"unknown variable {name!r}",
                    source=source,
                    path=f"variables.{name}",
                    hint=f"template variables: {', '.join(sorted(known)) or 'none'}",
                )
            )
    values: dict[str, Any] = {}
    failed: set[str] = set()  # reported already: defaults built on them are not
    for index, variable in enumerate(spec.variables):
        path = f"variables.{variable.name}"
        if variable.name in given and given[variable.name] not in (None, ""):
            raw: Any = given[variable.name]
        elif variable.default is not None:
            raw = variable.default
            if isinstance(raw, str):
                if any(re.search(rf"\b{re.escape(name)}\b", raw) for name in failed):
                    failed.add(variable.name)
                    continue
                try:
                    raw = Renderer(values).render(
                        raw,
                        source=f"{source}#{path}.default",
                        line_offset=_lines_before(positions, ("variables", index, "default")),
                    )
                except ScaffoldValidationError as exc:
                    problems.extend(exc.problems)
                    failed.add(variable.name)
                    continue
        elif variable.required:
            hint = variable.description or None
            problems.append(
                Problem(
                    f"missing required variable {variable.name!r}",
                    source=source,
                    path=path,
                    **at(index),
                    hint=f"--var {variable.name}=..." + (f"; {hint}" if hint else ""),
                )
            )
            failed.add(variable.name)
            continue
        else:
            values[variable.name] = False if variable.type == "bool" else ""
            continue
        try:
            values[variable.name] = _coerce(variable, raw)
        except ValueError as exc:
            message = f"variable {variable.name!r} {exc}"
            problems.append(Problem(message, source=source, path=path, **at(index)))
            failed.add(variable.name)
    if problems:
        raise ScaffoldValidationError(
            f"variables for template {spec.name!r} are invalid: {len(problems)} "
            f"problem{'s' if len(problems) != 1 else ''}",
            problems,
        )
    return values
