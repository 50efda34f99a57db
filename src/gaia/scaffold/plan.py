"""The plan: every directory and file a template produces for given variables, in memory.

Nothing is written here. Every output path is checked to stay inside the target: an
absolute path, a ``..`` that climbs out, or a ``source`` outside the template directory
is refused, with the template line that produced it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.loader import LoadedTemplate
from gaia.scaffold.render import Renderer, go_to_jinja, is_text
from gaia.scaffold.spec import VariableSpec

__all__ = ["Plan", "PlannedFile", "implicit_variables", "make_plan", "safe_relative"]


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
    normal = posixpath.normpath(raw.replace("\\", "/"))
    if normal in (".", "") or normal == ".." or normal.startswith("../"):
        return None
    return normal


def implicit_variables(loaded: LoadedTemplate) -> list[VariableSpec]:
    """Variables the template uses without declaring them (``{{.module_path}}`` in the
    original example): each becomes a required string variable."""
    spec = loaded.spec
    declared = {v.name for v in spec.variables}
    # Only parsed, never rendered: source files, not HTML.
    env = jinja2.Environment(autoescape=False)  # noqa: S701
    used: dict[str, str] = {}
    texts: list[tuple[str, str]] = []
    for index, item in enumerate(spec.files):
        texts.append((item.path, f"files[{index}].path"))
        if item.template is not None:
            texts.append((item.template, f"files[{index}].template"))
        if item.when:
            texts.append(("{{ " + item.when + " }}", f"files[{index}].when"))
    texts += [(d, f"directories[{i}]") for i, d in enumerate(spec.directories)]
    for stage in ("pre_generate", "post_generate"):
        hooks = getattr(spec.hooks, stage)
        texts += [(cmd, f"hooks.{stage}[{i}]") for i, cmd in enumerate(hooks)]
    texts += [(cmd, f"validate[{i}]") for i, cmd in enumerate(spec.validate_commands)]
    for text, where in texts:
        if "{" not in text:
            continue
        try:
            names = meta.find_undeclared_variables(env.parse(go_to_jinja(text)))
        except jinja2.TemplateSyntaxError:
            continue  # reported with its line when it is rendered
        for name in sorted(names - declared):
            used.setdefault(name, where)
    return [
        VariableSpec(name=name, required=True, description=f"used in {where}")
        for name, where in used.items()
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
                raw, source=f"{source}#{_dotted(where)}", line_offset=loaded.line_offset(where)
            )
        except ScaffoldValidationError as exc:
            problems.extend(exc.problems)
            return None
        relative = safe_relative(text)
        if relative is None:
            located(
                where,
                f"path {text!r} leaves the project directory",
                "paths are relative to the project and may not climb out with '..'",
            )
        return relative

    for index, raw in enumerate(spec.directories):
        relative = rendered_path(raw, ("directories", index))
        if relative is not None:
            plan.directories.append(relative)
    for index, item in enumerate(spec.files):
        where: tuple[str | int, ...] = ("files", index)
        if item.when:
            try:
                if not renderer.condition(item.when, source=f"{source}#files[{index}].when"):
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
    if problems:
        raise ScaffoldValidationError.from_problems(source, problems)
    return plan


def _content(
    loaded: LoadedTemplate, renderer: Renderer, index: int, problems: list[Problem]
) -> bytes | None:
    item = loaded.spec.files[index]
    source = str(loaded.file)
    if item.source is None:
        where = ("files", index, "template")
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
        return renderer.render(data.decode("utf-8"), source=str(path)).encode("utf-8")
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


def _dotted(where: tuple[str | int, ...]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
