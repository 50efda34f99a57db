"""YAML loading that remembers where every value came from.

``load_located(text, source)`` returns plain Python data plus a ``Positions`` index
from a path such as ``("tasks", 2, "timeout")`` to the line and column of that key or
item, so that validation errors can say ``workflow.yaml:14:5``. Duplicate keys,
which PyYAML silently overwrites, are reported as problems.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from gaia._yaml_build import Builder, BuildError, Span, dotted
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


@dataclass
class Positions:
    """Maps data paths to source positions; unknown paths fall back to their parent."""

    source: str
    text: str
    keys: dict[Path, Span] = field(default_factory=dict)
    values: dict[Path, Span] = field(default_factory=dict)
    _line_starts: list[int] | None = field(default=None, init=False, repr=False)

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

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset into ``text``."""
        if self._line_starts is None:
            # Once per document, so that locating many values stays linear in its size.
            starts = [0]
            find = self.text.find
            index = find("\n")
            while index >= 0:
                starts.append(index + 1)
                index = find("\n", index + 1)
            self._line_starts = starts
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def locate_in_value(self, path: Path, needle: str, occurrence: int = 0) -> tuple[int, int]:
        """Line and column of the ``occurrence``-th ``needle`` in the raw text of the
        scalar at ``path`` (``$${`` escapes skipped), else of the value itself."""
        found = self.locate_each_in_value(path, [needle] * (occurrence + 1))
        return found[-1]

    def locate_each_in_value(self, path: Path, needles: Sequence[str]) -> list[tuple[int, int]]:
        """``locate_in_value`` for needles that appear in this order in the value: each
        is searched for after the previous one, so the value is read once, however many
        references it holds. One not found is given the value's own position."""
        span = self.values.get(tuple(path))
        fallback = self.locate(path)
        where = (fallback[0] or 1, fallback[1] or 1)
        found: list[tuple[int, int]] = []
        cursor = span.start if span is not None else -1
        for needle in needles:
            index = -1
            if span is not None and cursor >= 0:
                index = self.text.find(needle, cursor, span.end)
                # "$${x}" is an escape, not a reference: skip matches inside one.
                while index > span.start and needle.startswith("$") and self.text[index - 1] == "$":
                    index = self.text.find(needle, index + 1, span.end)
            if index < 0:
                # Not written out as such (escapes in a quoted string): give up searching
                # this value rather than read the rest of it again for each later needle.
                cursor = -1
                found.append(where)
                continue
            cursor = index + len(needle)
            found.append(self.line_column(index))
        return found

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
    if loc and loc[-1] == "[key]":  # pydantic's mark for a dict key: the key is the place
        loc = loc[:-1]
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


def load_located(
    text: str, source: str, *, last_wins: bool = False
) -> tuple[Any, Positions, list[Problem]]:
    """Parse one YAML document; return (data, positions, duplicate-key problems).

    Raises YamlSyntaxError, located, when the text is not valid YAML or describes data
    that cannot be built (a recursive or too large alias, an out-of-range value...).
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
    except yaml.reader.ReaderError as exc:
        line, column = positions.line_column(min(exc.position, len(text)))
        raise YamlSyntaxError(
            Problem(
                f"YAML syntax error: {exc.reason} (character {exc.character!r})",
                source=source,
                line=line,
                column=column,
                hint="remove it, or write it as an escape in a double-quoted string",
            )
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise YamlSyntaxError(
            Problem(f"YAML error: {exc}", source=source, line=1, column=1)
        ) from None
    if node is None:
        return None, positions, []
    builder = Builder(source, positions.keys, positions.values, last_wins=last_wins)
    try:
        data = builder.build(node, ())
    except BuildError as exc:
        raise YamlSyntaxError(exc.problem(source)) from None
    return data, positions, builder.problems


def load_mapping(
    text: str,
    source: str,
    *,
    expected: str,
    error: type[ValidationError],
    last_wins: bool = False,
) -> tuple[dict[str, Any], Positions, list[Problem]]:
    """``load_located`` for a document that must be a mapping (``expected`` says which
    keys it needs): YAML syntax and a wrong kind of document raise ``error``."""
    try:
        data, positions, problems = load_located(text, source, last_wins=last_wins)
    except YamlSyntaxError as exc:
        raise error.from_problems(source, [exc.problem]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        problem = Problem(
            f"expected {expected}, but the document is {kind}", source=source, line=1, column=1
        )
        raise error.from_problems(source, [problem])
    return data, positions, problems
