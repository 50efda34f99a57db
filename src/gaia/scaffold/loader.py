"""Load ``template.yaml``; report every problem with file:line:column."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from gaia._textfile import TextFileError, read_text_file
from gaia._yaml import Path as DataPath
from gaia._yaml import Positions, dotted, load_mapping, schema_problem
from gaia.errors import Problem, ScaffoldValidationError
from gaia.scaffold.spec import FileSpec, HooksSpec, TemplateSpec, VariableSpec

__all__ = ["LoadedTemplate", "load_template", "load_template_file"]

TEMPLATE_FILE = "template.yaml"
_FIELDS: dict[str, list[str]] = {
    "": sorted(f.alias or n for n, f in TemplateSpec.model_fields.items()),
    "variables": sorted(VariableSpec.model_fields),
    "files": sorted(FileSpec.model_fields),
    "hooks": sorted(HooksSpec.model_fields),
}


@dataclass(frozen=True)
class LoadedTemplate:
    """A valid template: its spec, the directory its ``source`` files are in, and where
    each value sits in ``template.yaml`` (so render errors can name the line)."""

    spec: TemplateSpec
    root: Path
    file: Path
    positions: Positions

    def line_offset(self, path: DataPath) -> int:
        """Lines before line 1 of the string at ``path`` (a block scalar starts below)."""
        span = self.positions.values.get(path)
        if span is None:
            return 0
        raw = self.positions.text[span.start : span.start + 1]
        return span.line if raw in ("|", ">") else span.line - 1


def load_template_file(path: Path) -> LoadedTemplate:
    """``path`` is a template directory (with template.yaml) or the YAML file itself."""
    file = path / TEMPLATE_FILE if path.is_dir() else path
    try:
        text = read_text_file(file, "template")
    except TextFileError as exc:
        raise ScaffoldValidationError.from_problems(str(file), [exc.problem]) from None
    spec, positions = load_template(text, source=str(file))
    return LoadedTemplate(spec=spec, root=file.resolve().parent, file=file, positions=positions)


def load_template(text: str, *, source: str = "<template>") -> tuple[TemplateSpec, Positions]:
    data, positions, problems = load_mapping(
        text,
        source,
        expected="a template (a mapping with 'name' and 'files')",
        error=ScaffoldValidationError,
    )
    spec: TemplateSpec | None = None
    try:
        spec = TemplateSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(_problem(error, positions) for error in exc.errors())
    if spec is not None:
        seen: set[str] = set()
        for index, variable in enumerate(spec.variables):
            if variable.name in seen:
                problems.append(
                    positions.problem(
                        ("variables", index, "name"),
                        f"variable {variable.name!r} is defined twice",
                        "rename or remove one of them",
                    )
                )
            seen.add(variable.name)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ScaffoldValidationError.from_problems(source, problems)
    assert spec is not None
    return spec, positions


def _problem(error: Any, positions: Positions) -> Problem:
    def known(mapping: DataPath) -> list[str] | None:
        names = [p for p in mapping if isinstance(p, str)]
        return _FIELDS.get(names[-1] if names else "")

    def describe(where: DataPath) -> str:
        return dotted(where) or "the template"

    hints = {"mode": 'quote it, as an octal string: mode: "0755"'}
    return schema_problem(error, positions, known_fields=known, describe=describe, hints=hints)
