"""YAML loading that remembers where every value came from.

``load_located(text, source)`` returns plain Python data plus a ``Positions`` index
from a path such as ``("tasks", 2, "timeout")`` to the line and column of that key or
item, so that validation errors can say ``workflow.yaml:14:5``. Duplicate keys,
which PyYAML silently overwrites, are reported as problems.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from gaia.errors import Problem, ValidationError

__all__ = [
    "Path",
    "Positions",
    "Span",
    "YamlSyntaxError",
    "dotted",
    "load_located",
    "load_mapping",
    "schema_problem",
]

Path = tuple[str | int, ...]

# libyaml's parser is ~10x faster and keeps the same marks (line, column, index).
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Span:
    """Where a node sits: 1-based line/column of its start, and its raw text offsets."""

    line: int
    column: int
    start: int
    end: int


@dataclass
class Positions:
    """Maps data paths to source positions; unknown paths fall back to their parent."""

    source: str
    text: str
    keys: dict[Path, Span] = field(default_factory=dict)
    values: dict[Path, Span] = field(default_factory=dict)

    def locate(self, path: Path) -> tuple[int | None, int | None]:
        """Line and column of the key (or item) at ``path``, or of its nearest ancestor."""
        probe = tuple(path)
        while True:
            span = self.keys.get(probe) or self.values.get(probe)
            if span is not None:
                return span.line, span.column
            if not probe:
                return None, None
            probe = probe[:-1]

    def locate_in_value(self, path: Path, needle: str, occurrence: int = 0) -> tuple[int, int]:
        """Line and column of ``needle`` inside the raw text of the scalar at ``path``."""
        span = self.values.get(tuple(path))
        if span is not None:
            raw = self.text[span.start : span.end]
            index = -1
            for _ in range(occurrence + 1):
                index = raw.find(needle, index + 1)
                # "$${x}" is an escape, not a reference: skip matches inside one.
                while index > 0 and needle.startswith("$") and raw[index - 1] == "$":
                    index = raw.find(needle, index + 1)
                if index < 0:
                    break
            if index >= 0:
                absolute = span.start + index
                line = self.text.count("\n", 0, absolute) + 1
                column = absolute - (self.text.rfind("\n", 0, absolute) + 1) + 1
                return line, column
        found_line, found_column = self.locate(path)
        return found_line or 1, found_column or 1

    def problem(self, path: Path, message: str, hint: str | None = None) -> Problem:
        line, column = self.locate(path)
        return Problem(
            message, source=self.source, line=line, column=column, path=dotted(path), hint=hint
        )


class YamlSyntaxError(Exception):
    """The text is not YAML; ``problem`` says where."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def dotted(path: Sequence[str | int]) -> str:
    """``("tasks", 2, "timeout")`` -> ``tasks[2].timeout``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def schema_problem(
    error: Any,
    positions: Positions,
    *,
    known_fields: Callable[[Path], Sequence[str] | None],
    describe: Callable[[Path], str],
    hints: Mapping[str, str],
) -> Problem:
    """Turn one pydantic error into a located Problem a person can act on.

    ``known_fields(path_of_mapping)`` lists the fields allowed where an unknown one was
    found, ``describe(path)`` names a place for a person ("task #2", "tasks[1].timeout"),
    and ``hints``
    maps a field name to advice shown when its value is invalid.
    """
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    field = str(loc[-1]) if loc else "document"
    if kind == "extra_forbidden":
        known = known_fields(loc[:-1])
        hint = f"known fields: {', '.join(known)}" if known else None
        return positions.problem(loc, f"unknown field {field!r}", hint)
    if kind == "missing":
        where = loc[:-1]
        return positions.problem(
            where, f"{describe(where)} is missing required field {field!r}", f"add '{field}: ...'"
        )
    value = error.get("input")
    shown = json.dumps(value, default=str) if not isinstance(value, dict | list) else None
    message = f"{describe(loc)}: {error['msg'].removeprefix('Value error, ')}"
    if shown is not None and len(shown) < 60:
        message += f" (got {shown})"
    return positions.problem(loc, message, hints.get(field))


def _span(node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, start.index, end.index)


class _Builder:
    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.values.setdefault(path, _span(node))
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    key = str(key)
                child = (*path, key if isinstance(key, str | int) else str(key))
                if key in result:
                    first = self.positions.keys[child]
                    self.problems.append(
                        Problem(
                            f"duplicate key {key!r} (first defined at line {first.line})",
                            source=self.positions.source,
                            line=key_node.start_mark.line + 1,
                            column=key_node.start_mark.column + 1,
                            path=dotted(child),
                            hint="remove one of the two",
                        )
                    )
                    continue
                self.positions.keys[child] = _span(key_node)
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.positions.keys.setdefault(child, _span(item))
                items.append(self.build(item, child))
            return items
        return self.constructor.construct_object(node, deep=True)


def load_located(text: str, source: str) -> tuple[Any, Positions, list[Problem]]:
    """Parse one YAML document; return (data, positions, duplicate-key problems).

    Raises YamlSyntaxError when the text is not valid YAML.
    """
    positions = Positions(source=source, text=text)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and mark is not None and mark.index >= len(text) - 1:
            # "found unexpected end of stream" points past the text; where the unclosed
            # quote or bracket began is what the user needs to see.
            mark = exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            reason = f"{exc.problem} ({exc.context})"
        raise YamlSyntaxError(
            Problem(
                f"YAML syntax error: {reason}",
                source=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                hint="check indentation, quoting and colons around this position",
            )
        ) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(Problem(f"YAML error: {exc}", source=source)) from None
    if node is None:
        return None, positions, []
    builder = _Builder(positions)
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise YamlSyntaxError(
            Problem(
                f"YAML error: {exc.problem}",
                source=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ) from None
    return data, positions, builder.problems


def load_mapping(
    text: str, source: str, *, expected: str, error: type[ValidationError]
) -> tuple[dict[str, Any], Positions, list[Problem]]:
    """``load_located`` for a document that must be a mapping (``expected`` says which
    keys it needs): YAML syntax and a wrong kind of document raise ``error``."""
    try:
        data, positions, problems = load_located(text, source)
    except YamlSyntaxError as exc:
        raise error.from_problems(source, [exc.problem]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        problem = Problem(
            f"expected {expected}, but the document is {kind}", source=source, line=1, column=1
        )
        raise error.from_problems(source, [problem])
    return data, positions, problems
