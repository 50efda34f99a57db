"""The plan: every directory and file a template produces for given variables, in memory.

Nothing is written here. Every output path is checked to stay inside the target: an
absolute path, a ``..`` that climbs out, or a ``source`` outside the template directory
is refused, with the template line that produced it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gaia._yaml import dotted
from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.loader import LoadedTemplate
from gaia.scaffold.render import Renderer, go_to_jinja, is_text
from gaia.scaffold.sandbox import ScaffoldSandbox, undeclared_names
from gaia.scaffold.spec import VariableSpec

__all__ = [
    "ImplicitUse",
    "Plan",
    "PlannedFile",
    "implicit_uses",
    "implicit_variables",
    "make_plan",
    "safe_relative",
]


@dataclass(frozen=True)
class PlannedFile:
    path: str  # relative, POSIX separators
    content: bytes
    mode: int | None


@dataclass
class Plan:
    directories: list[str] = field(default_factory=list)
    files: list[PlannedFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files whose `when` was false

    def paths(self) -> list[str]:
        return sorted({*self.directories, *(f.path for f in self.files)})


def safe_relative(raw: str) -> str | None:
    """The normalised relative path, or None when it is absolute or climbs out."""
    if not raw or raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        return None
    if "\0" in raw:
        return None  # no file system takes it, and it would cut the path short in C
    normal = posixpath.normpath(raw.replace("\\", "/"))
    if normal in (".", "") or normal == ".." or normal.startswith("../"):
        return None
    return normal


@dataclass(frozen=True)
class ImplicitUse:
    """Where a template first uses a variable it does not declare."""

    where: str  # files[0].template
    line: int | None
    column: int | None


def implicit_uses(loaded: LoadedTemplate) -> dict[str, ImplicitUse]:
    """Variables the template uses without declaring them (``{{.module_path}}`` in the
    built-in go-api template), each with the line of its first use."""
    spec = loaded.spec
    declared = {v.name for v in spec.variables}
    # Only parsed, never rendered nor folded: listing a template must not run it.
    env = ScaffoldSandbox()
    used: dict[str, ImplicitUse] = {}
    texts: list[tuple[str, tuple[str | int, ...]]] = []
    for index, item in enumerate(spec.files):
        texts.append((item.path, ("files", index, "path")))
        if item.template is not None and item.render:
            texts.append((item.template, ("files", index, "template")))
        if item.when:
            texts.append(("{{ " + item.when + " }}", ("files", index, "when")))
    texts += [(d, ("directories", i)) for i, d in enumerate(spec.directories)]
    for stage in ("pre_generate", "post_generate"):
        hooks = getattr(spec.hooks, stage)
        texts += [(cmd, ("hooks", stage, i)) for i, cmd in enumerate(hooks)]
    texts += [(cmd, ("validate", i)) for i, cmd in enumerate(spec.validate_commands)]
    for text, path in texts:
        if "{" not in text:
            continue
        try:
            names = undeclared_names(env.parse(go_to_jinja(text)))
        except Exception:  # noqa: S112 - a syntax error, a literal too long to read...
            continue  # reported with its line when it is rendered; listing goes on
        for name in sorted(names - declared):
            if name not in used:
                used[name] = _locate_use(loaded, path, text, name)
    return used


def _locate_use(
    loaded: LoadedTemplate, path: tuple[str | int, ...], text: str, name: str
) -> ImplicitUse:
    found = re.search(rf"\.?\b{re.escape(name)}\b", text)
    line, column = loaded.positions.locate(path)
    if found is not None and path[-1] == "template":
        before = text[: found.start()]
        line = loaded.line_offset(path) + before.count("\n") + 1
        column = found.start() - (before.rfind("\n") + 1) + 1
    return ImplicitUse(dotted(path), line, column)


def implicit_variables(
    loaded: LoadedTemplate, uses: dict[str, ImplicitUse] | None = None
) -> list[VariableSpec]:
    """The undeclared variables as required string variables."""
    found = implicit_uses(loaded) if uses is None else uses
    return [
        VariableSpec(name=name, required=True, description=f"used in {use.where}")
        for name, use in found.items()
    ]


def make_plan(loaded: LoadedTemplate, variables: dict[str, Any]) -> Plan:
    """Render every path and file; raise with every problem found (not just the first)."""
    spec = loaded.spec
    renderer = Renderer(variables)
    source = str(loaded.file)
    problems: list[Problem] = []
    plan = Plan()

    def located(where: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        problems.append(loaded.positions.problem(where, message, hint))

    def rendered_path(raw: str, where: tuple[str | int, ...]) -> str | None:
        try:
            text = renderer.render(
                raw, source=f"{source}#{dotted(where)}", line_offset=loaded.line_offset(where)
            )
        except ScaffoldValidationError as exc:
            problems.extend(exc.problems)
            return None
        relative = safe_relative(text)
        if "\0" in text:
            located(where, f"{dotted(where)}: path {text!r} contains a NUL character")
        elif relative is None:
            located(
                where,
                f"{dotted(where)}: path {text!r} leaves the project directory",
                "paths are relative to the project and may not climb out with '..'",
            )
        elif (too_long := _too_long(relative)) is not None:
            located(where, f"{dotted(where)}: path {text!r} is {too_long}")
            return None
        return relative

    # Which entry produces each path: two that collide are both named, before anything
    # is written (the second write would replace the first, or fail halfway through).
    claims = _Claims()
    for index, raw in enumerate(spec.directories):
        relative = rendered_path(raw, ("directories", index))
        if relative is not None:
            plan.directories.append(relative)
            claims.directory(relative, ("directories", index))
    for index, item in enumerate(spec.files):
        where: tuple[str | int, ...] = ("files", index)
        if item.when:
            try:
                if not renderer.condition(item.when, source=f"{source}#files[{index}].when"):
                    try:
                        plan.skipped.append(renderer.render(item.path, source=source))
                    except ScaffoldValidationError:
                        plan.skipped.append(item.path)
                    continue
            except ScaffoldValidationError as exc:
                problems.extend(exc.problems)
                continue
        relative = rendered_path(item.path, (*where, "path"))
        content = _content(loaded, renderer, index, problems)
        if relative is None or content is None:
            continue
        mode = int(item.mode, 8) if item.mode else None
        plan.files.append(PlannedFile(relative, content, mode))
        claims.file(relative, (*where, "path"))
    problems += [loaded.positions.problem(w, message) for w, message in claims.collisions()]
    if problems:
        raise ScaffoldValidationError.from_problems(source, problems)
    return plan


# Most file systems refuse a name over 255 bytes and a path over 4095.
_NAME_MAX = 255
_PATH_MAX = 4095


def _too_long(relative: str) -> str | None:
    if len(relative.encode("utf-8", "surrogatepass")) > _PATH_MAX:
        return f"longer than {_PATH_MAX} bytes"
    for name in relative.split("/"):
        if len(name.encode("utf-8", "surrogatepass")) > _NAME_MAX:
            return f"too long: the name {name[:40]!r}... is over {_NAME_MAX} bytes"
    return None


class _Claims:
    """The entry each planned path comes from, and the paths two entries both want."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str | int, ...]] = {}
        self.directories: dict[str, tuple[str | int, ...]] = {}
        self.found: list[tuple[tuple[str | int, ...], str]] = []

    def directory(self, relative: str, where: tuple[str | int, ...]) -> None:
        self.directories.setdefault(relative, where)

    def file(self, relative: str, where: tuple[str | int, ...]) -> None:
        first = self.files.get(relative)
        if first is not None:
            self.found.append(
                (where, f"{dotted(where)} writes {relative!r}, as {dotted(first)} does already")
            )
            return
        self.files[relative] = where

    def collisions(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each path that is a file for one entry and a directory for another."""
        found = list(self.found)
        needs_directory: dict[str, tuple[str | int, ...]] = {}
        wanted = [(d, w, True) for d, w in self.directories.items()]
        wanted += [(f, w, False) for f, w in self.files.items()]
        for relative, where, is_directory in wanted:
            parts = relative.split("/")
            for depth in range(1, len(parts) + (1 if is_directory else 0)):
                needs_directory.setdefault("/".join(parts[:depth]), where)
        for relative, where in self.files.items():
            other = needs_directory.get(relative)
            if other is not None:
                found.append(
                    (
                        where,
                        f"{dotted(where)} writes the file {relative!r}, but {dotted(other)} "
                        f"needs a directory there",
                    )
                )
        return found


def _content(
    loaded: LoadedTemplate, renderer: Renderer, index: int, problems: list[Problem]
) -> bytes | None:
    item = loaded.spec.files[index]
    source = str(loaded.file)
    if item.source is None:
        where = ("files", index, "template")
        if not item.render:
            return (item.template or "").encode("utf-8")
        try:
            return renderer.render(
                item.template or "",
                source=f"{source}#files[{index}].template",
                line_offset=loaded.line_offset(where),
            ).encode("utf-8")
        except ScaffoldValidationError as exc:
            problems.extend(exc.problems)
            return None
    relative = safe_relative(item.source)
    path = None if relative is None else (loaded.root / relative)
    if path is None or not _inside(path, loaded.root):
        problems.append(
            loaded.positions.problem(
                ("files", index, "source"),
                f"source {item.source!r} is outside the template directory",
            )
        )
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(
            loaded.positions.problem(
                ("files", index, "source"), f"cannot read source {item.source!r}: {exc.strerror}"
            )
        )
        return None
    if not item.render or not is_text(data):
        return data  # binary (or asked raw): copied as it is
    try:
        return renderer.render(data.decode("utf-8"), source=f"{path}#files[{index}].source").encode(
            "utf-8"
        )
    except ScaffoldValidationError as exc:
        problems.extend(exc.problems)
        return None


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` (after following symlinks) is inside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
