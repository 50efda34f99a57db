"""Building plain data from composed YAML nodes, within limits.

PyYAML's composer hands back a node graph in which every alias is the anchored node
itself, so a document may describe far more data than its text holds (nine lines of
"billion laughs" expand to 10⁹ strings) or contain itself (``&a [*a]``). ``Builder``
walks that graph once, recording where every value sits, and stops with a located
``BuildError`` at the alias that makes a document recursive, too deep or too large.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from gaia.errors import Problem

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "BuildError",
    "Builder",
    "Span",
    "dotted",
    "span_of",
]

Path = tuple[str | int, ...]

# No gaia definition nests more than ~8 levels or shares more than a few hundred
# values through anchors; these bounds leave plenty of room and keep the worst case
# (a 1 MiB body of aliases) well under a second.
MAX_DEPTH = 200
MAX_ALIASES = 1_000
MAX_ALIAS_NODES = 20_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(frozen=True)
class Span:
    """Where a node sits: 1-based line/column of its start, and its raw text offsets."""

    line: int
    column: int
    start: int
    end: int


def span_of(node: yaml.Node) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, start.index, end.index)


class BuildError(Exception):
    """The node graph cannot become data: ``mark`` is where, ``message`` is why."""

    def __init__(self, message: str, mark: Any, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint

    def problem(self, source: str) -> Problem:
        mark = self.mark
        return Problem(
            self.message,
            source=source,
            line=mark.line + 1 if mark is not None else None,
            column=mark.column + 1 if mark is not None else None,
            hint=self.hint,
        )


class Builder:
    """Turns one document's node graph into dicts, lists and scalars.

    ``keys``/``values`` receive the span of every key (or list item) and value by path;
    ``problems`` collects duplicate keys, which do not stop the build.
    """

    def __init__(
        self,
        source: str,
        keys: dict[Path, Span],
        values: dict[Path, Span],
        *,
        last_wins: bool = False,
    ) -> None:
        self.source = source
        # PyYAML's own rule (what tmuxp files rely on): a repeated key replaces the first
        self.last_wins = last_wins
        self.keys = keys
        self.values = values
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")
        self._built: set[int] = set()  # ids of nodes built once: meeting one again = an alias
        self._open: set[int] = set()  # ids of the collections being built (the ancestors)
        self._aliases = 0
        self._alias_nodes = 0
        self._in_alias = 0
        self._alias_site: Any = None

    def build(self, node: yaml.Node, path: Path, site: Any = None, depth: int = 0) -> Any:
        """``site`` is where ``node`` is used (an alias's key), for errors about it."""
        ident = id(node)
        site = site or node.start_mark
        if ident in self._open:
            raise BuildError(
                "recursive alias: this value contains itself",
                site,
                "an alias cannot refer to the anchor of a collection it is part of",
            )
        if depth > MAX_DEPTH:
            raise BuildError(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)
        # Only an alias met outside any other's expansion counts as a use (and is the
        # place to report); the nodes inside an expansion count towards its size.
        alias = ident in self._built and not self._in_alias
        if alias:
            self._aliases += 1
            self._alias_site = site
            if self._aliases > MAX_ALIASES:
                raise BuildError(
                    f"too many aliases: more than {MAX_ALIASES} uses of anchors",
                    site,
                    "write the values out, or share fewer of them",
                )
            self._in_alias += 1
        try:
            if self._in_alias:
                self._alias_nodes += 1
                if self._alias_nodes > MAX_ALIAS_NODES:
                    raise BuildError(
                        f"aliases expand to more than {MAX_ALIAS_NODES} values",
                        self._alias_site,
                        "an alias copies its anchor's whole value; nested ones multiply",
                    )
            self._built.add(ident)
            self.values.setdefault(path, span_of(node))
            if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
                if node.tag not in _COLLECTION_TAGS:
                    # PyYAML's safe loader refuses these too (!!python/object/apply...)
                    raise BuildError(
                        f"could not determine a constructor for the tag {node.tag!r}",
                        node.start_mark,
                        "remove the tag",
                    )
                self._open.add(ident)
                try:
                    if isinstance(node, yaml.MappingNode):
                        return self._mapping(node, path, depth)
                    return self._sequence(node, path, depth)
                finally:
                    self._open.discard(ident)
            return self.scalar(node)
        finally:
            if alias:
                self._in_alias -= 1

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise BuildError(str(exc.problem), exc.problem_mark or node.start_mark) from None
        except (ValueError, TypeError, OverflowError) as exc:
            # int("9" * 5000) (Python's digit limit), a date such as 2020-13-45, ...
            shown = str(node.value)
            shown = shown if len(shown) <= 40 else f"{shown[:37]}..."
            raise BuildError(
                f"invalid {node.tag.rsplit(':', 1)[-1]} {shown!r}: {exc}",
                node.start_mark,
                "quote it to keep it as text",
            ) from None

    def _sequence(self, node: yaml.SequenceNode, path: Path, depth: int) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            child = (*path, index)
            # An alias item has its anchor's marks: the list itself is nearer the alias.
            shared = id(item) in self._built or id(item) in self._open
            self.keys.setdefault(child, span_of(node if shared else item))
            items.append(self.build(item, child, node.start_mark if shared else None, depth + 1))
        return items

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first: dict[Any, Span] = {}
        merged: set[Any] = set()  # keys that came from '<<' and that an own key may override
        for key_node, value_node, from_merge in self._entries(node, depth):
            key = self._key(key_node)
            child = (*path, key if isinstance(key, str | int) else str(key))
            if key in result:
                if from_merge:
                    continue  # the first mapping merged, or the mapping's own key, wins
                if key in merged:
                    merged.discard(key)
                else:
                    self.problems.append(
                        Problem(
                            f"duplicate key {key!r} (first defined at line {first[key].line})"
                            + ("; this one wins" if self.last_wins else ""),
                            source=self.source,
                            line=key_node.start_mark.line + 1,
                            column=key_node.start_mark.column + 1,
                            path=dotted(child),
                            hint="remove one of the two",
                        )
                    )
                    if not self.last_wins:
                        continue
            elif from_merge:
                merged.add(key)
            first[key] = span_of(key_node)
            self.keys[child] = first[key]
            result[key] = self.build(value_node, child, key_node.start_mark, depth + 1)
        return result

    def _key(self, key_node: yaml.Node) -> Any:
        if not isinstance(key_node, yaml.ScalarNode):
            raise BuildError(
                "a key must be a plain value, not a mapping or a list", key_node.start_mark
            )
        key = self.scalar(key_node)
        return key if isinstance(key, str | int | float | bool) else str(key)

    def _entries(
        self, node: yaml.MappingNode, depth: int
    ) -> list[tuple[yaml.Node, yaml.Node, bool]]:
        """The mapping's pairs, merged ones (``<<: *base``) first, each flagged merged."""
        merged: list[tuple[yaml.Node, yaml.Node, bool]] = []
        own: list[tuple[yaml.Node, yaml.Node, bool]] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own.append((key_node, value_node, False))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise BuildError(
                        "'<<' merges a mapping or a list of mappings", source.start_mark
                    )
                if id(source) in self._open or depth > MAX_DEPTH:
                    raise BuildError(
                        "recursive merge: a mapping merges itself", key_node.start_mark
                    )
                self._open.add(id(source))
                try:
                    pairs = self._entries(source, depth + 1)
                finally:
                    self._open.discard(id(source))
                self._alias_nodes += len(pairs)
                if self._alias_nodes > MAX_ALIAS_NODES:  # merges of merges multiply too
                    raise BuildError(
                        f"aliases expand to more than {MAX_ALIAS_NODES} values",
                        key_node.start_mark,
                    )
                merged.extend((k, v, True) for k, v, _ in pairs)
        return merged + own


def dotted(path: tuple[str | int, ...] | list[str | int]) -> str:
    """``("tasks", 2, "timeout")`` -> ``tasks[2].timeout``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
