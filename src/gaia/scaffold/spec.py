"""Template definitions (``template.yaml``): variables, files and hooks, with types,
conditions and modes.

Go-template references such as ``{{.module_path}}`` work as well as Jinja2's; every
field beyond ``name`` and the files is optional.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["FileSpec", "HooksSpec", "TemplateSpec", "VariableSpec"]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableSpec(_Spec):
    name: str
    description: str | None = None
    type: Literal["string", "int", "bool", "choice"] = "string"
    choices: list[str] | None = None
    pattern: str | None = None
    default: str | int | bool | None = None  # may refer to other variables: "{{ name }}-api"
    required: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(
                "a variable name is letters, digits and '_', not starting with a digit"
            )
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _choices(self) -> VariableSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"variable {self.name!r} has type choice but no choices")
        if self.choices and self.type != "choice":
            self.type = "choice"
        return self


# Permission bits only: no setuid, setgid or sticky bit from a template.
Mode = Annotated[str, Field(pattern=r"^0?[0-7]{3}$")]


class FileSpec(_Spec):
    path: str = Field(min_length=1)  # may be templated: cmd/{{project_name}}/main.go
    template: str | None = None  # inline content, rendered
    source: str | None = None  # a file beside template.yaml: rendered if text, copied if binary
    mode: Mode | None = None  # e.g. "0755"
    when: str | None = None  # a condition on variables: "use_docker", "db == 'postgres'"
    render: bool = True  # false: copy ``source`` as it is

    @model_validator(mode="after")
    def _one_content(self) -> FileSpec:
        if self.template is not None and self.source is not None:
            raise ValueError(f"file {self.path!r} has both template and source: keep one")
        return self


class HooksSpec(_Spec):
    pre_generate: list[str] = Field(default_factory=list)
    post_generate: list[str] = Field(default_factory=list)


class TemplateSpec(_Spec):
    name: str
    description: str | None = None
    version: str | None = None
    language: str | None = None
    framework: str | None = None
    variables: list[VariableSpec] = Field(default_factory=list)
    directories: list[str] = Field(default_factory=list)
    files: list[FileSpec] = Field(default_factory=list)
    hooks: HooksSpec = Field(default_factory=HooksSpec)
    validate_commands: list[str] = Field(default_factory=list, alias="validate")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _template_name(cls, value: str) -> str:
        if not TEMPLATE_NAME.match(value):
            raise ValueError("a template name is letters, digits, '-', '_' or '.'")
        return value

    def variable(self, name: str) -> VariableSpec | None:
        return next((v for v in self.variables if v.name == name), None)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "language": self.language,
            "framework": self.framework,
        }
