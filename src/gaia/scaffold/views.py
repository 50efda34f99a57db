"""What the API and CLI show of templates, generated projects and validation reports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from gaia.scaffold.generate import GenerateResult
from gaia.scaffold.plan import implicit_variables
from gaia.scaffold.registry import Template
from gaia.scaffold.validate import ValidationReport

__all__ = [
    "GenerateView",
    "TemplateView",
    "ValidationView",
    "VariableView",
    "generate_view",
    "template_view",
    "validation_view",
]


class VariableView(BaseModel):
    name: str
    type: str
    description: str | None
    required: bool
    default: str | int | bool | None
    choices: list[str] | None
    pattern: str | None


class TemplateView(BaseModel):
    name: str
    description: str | None
    version: str | None
    language: str | None
    framework: str | None
    origin: str
    path: str
    variables: list[VariableView]
    directories: list[str]
    files: list[str]
    hooks: dict[str, list[str]]
    validate_commands: list[str]


class GenerateView(BaseModel):
    template: str
    path: str
    dry_run: bool
    files: list[str]
    directories: list[str]
    skipped: list[str]
    hooks: list[str]
    variables: dict[str, Any]
    # with a dry run asked for contents: each file's rendered text (null: not UTF-8 text)
    contents: dict[str, str | None] | None = None


class ValidationView(BaseModel):
    path: str
    template: str
    ok: bool
    missing: list[str]
    changed: list[str]
    mode_changed: list[str]
    commands: list[dict[str, Any]]
    commands_skipped: str | None
    commands_not_run: list[str]
    problems: list[str]


def template_view(template: Template) -> TemplateView:
    spec = template.loaded.spec
    variables = [*spec.variables, *implicit_variables(template.loaded)]
    return TemplateView(
        name=spec.name,
        description=spec.description,
        version=spec.version,
        language=spec.language,
        framework=spec.framework,
        origin=template.origin,
        path=str(template.loaded.root),
        variables=[
            VariableView(
                name=v.name,
                type=v.type,
                description=v.description,
                required=v.required,
                default=v.default,
                choices=v.choices,
                pattern=v.pattern,
            )
            for v in variables
        ],
        directories=spec.directories,
        files=[f.path for f in spec.files],
        hooks={"pre_generate": spec.hooks.pre_generate, "post_generate": spec.hooks.post_generate},
        validate_commands=spec.validate_commands,
    )


def generate_view(result: GenerateResult, *, contents: bool = False) -> GenerateView:
    return GenerateView(
        template=result.template,
        path=str(result.path),
        dry_run=result.dry_run,
        files=result.files,
        directories=result.directories,
        skipped=result.skipped,
        hooks=result.hooks,
        variables=result.variables,
        contents=result.contents if contents and result.dry_run else None,
    )


def validation_view(report: ValidationReport) -> ValidationView:
    return ValidationView(
        path=str(report.path),
        template=report.template,
        ok=report.ok,
        missing=report.missing,
        changed=report.changed,
        mode_changed=report.mode_changed,
        commands=[
            {"command": c.command, "exit_code": c.exit_code, "output": c.output}
            for c in report.commands
        ],
        commands_skipped=report.skipped,
        commands_not_run=report.not_run,
        problems=report.problems(),
    )
