"""The scaffold component's entry points: templates, generation, validation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gaia.config import Settings
from gaia.scaffold.generate import GenerateOptions, GenerateResult, Output, generate_project
from gaia.scaffold.plan import implicit_variables
from gaia.scaffold.registry import Template, TemplateRegistry
from gaia.scaffold.spec import VariableSpec
from gaia.scaffold.validate import ValidationReport, validate_project

__all__ = ["ScaffoldManager", "missing_required"]


class ScaffoldManager:
    def __init__(self, settings: Settings) -> None:
        self.registry = TemplateRegistry(settings.gaia_home.templates)

    def list_templates(self) -> list[Template]:
        """ListTemplates: built-ins and registered templates, by name."""
        return self.registry.templates()

    def get_template(self, name: str) -> Template:
        """GetTemplate: a template by name (a path works too)."""
        return self.registry.resolve(name)

    def register_template(self, path: Path, *, replace: bool = False) -> Template:
        """RegisterTemplate: validate a template directory or YAML file and add it."""
        return self.registry.register(path, replace=replace)

    def generate(
        self,
        template: str,
        path: Path,
        variables: Mapping[str, Any],
        *,
        name: str | None = None,
        options: GenerateOptions | None = None,
        output: Output | None = None,
    ) -> GenerateResult:
        """GenerateProject: ``name`` is the default of a ``project_name`` variable."""
        found = self.registry.resolve(template)
        given = dict(variables)
        if name and "project_name" not in given:
            given["project_name"] = name
        return generate_project(
            found.loaded,
            path,
            given,
            trusted=found.trusted,
            source=found.source,
            options=options,
            output=output,
        )

    def validate(
        self, path: Path, *, run_commands: bool = True, trust: bool = False
    ) -> ValidationReport:
        """ValidateProject: files, modes and drift against the template, then its checks."""
        return validate_project(path, self.registry, run_commands=run_commands, trust=trust)


def missing_required(template: Template, given: Mapping[str, Any]) -> list[VariableSpec]:
    """Required variables (declared or implicit) with no value and no default."""
    spec = template.loaded.spec
    return [
        variable
        for variable in [*spec.variables, *implicit_variables(template.loaded)]
        if variable.required and variable.default is None and given.get(variable.name) in (None, "")
    ]
