"""What a session looks like: the layout file format and the CreateSession body.

The format follows tmuxp's, so existing tmuxp files load: ``session_name``,
``start_directory``, ``environment``, ``shell_command_before`` and ``windows``, each window
with ``window_name``, ``layout``, ``panes`` and the same per-window keys, each pane a
command string, a list of commands, empty, or a mapping with ``shell_command``. The API
also accepts ``name`` and ``project_path`` as aliases.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from gaia._fields import NoNul

__all__ = [
    "NAME_PATTERN",
    "PaneSpec",
    "SessionSpec",
    "WindowSpec",
    "check_name",
]

# tmux turns '.' and ':' in session names into '_' (they separate targets); we refuse them.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_@+=-]{0,99}$")
Commands = list[NoNul]
Environment = dict[str, NoNul]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(name: str, kind: str = "session name") -> str:
    if not NAME_PATTERN.match(name):
        raise ValueError(
            f"{kind} {name!r} is not allowed: use 1-100 letters, digits, '_', '-', '@', '+' "
            "or '=', starting with a letter, digit or '_'"
        )
    return name


def _commands(value: Any) -> Any:
    """tmuxp accepts a string, a list of strings or ``{cmd: ...}`` items, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [item["cmd"] if isinstance(item, dict) and "cmd" in item else item for item in value]
    return value


def _environment(value: dict[str, Any]) -> dict[str, str]:
    for key in value:
        if not _ENV_NAME.match(str(key)):
            raise ValueError(f"environment variable name {key!r} is not valid")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("shell_command", "shell_command_before", mode="before", check_fields=False)
    @classmethod
    def _normalise_commands(cls, value: Any) -> Any:
        return _commands(value)

    @field_validator("environment", mode="before", check_fields=False)
    @classmethod
    def _check_environment(cls, value: Any) -> Any:
        return _environment(value) if isinstance(value, dict) else value


class PaneSpec(_Spec):
    shell_command: Commands = Field(default_factory=list, description="commands typed in order")
    start_directory: NoNul | None = None
    environment: Environment = Field(default_factory=dict)
    focus: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # A pane may be written as a command, a list of commands, or left empty.
        if value is None or isinstance(value, str | list):
            return {"shell_command": value}
        return value


class WindowSpec(_Spec):
    window_name: str | None = Field(
        default=None, validation_alias=AliasChoices("window_name", "name")
    )
    layout: str | None = Field(default=None, description="a tmux layout name or layout string")
    start_directory: NoNul | None = None
    environment: Environment = Field(default_factory=dict)
    shell_command_before: Commands = Field(default_factory=list)
    panes: list[PaneSpec] = Field(default_factory=lambda: [PaneSpec()])
    focus: bool = False
    options: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("panes", mode="before")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        return [None] if value in (None, []) else value

    @field_validator("window_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or not value.strip()):
            raise ValueError("a window name must be one non-blank line")
        return value


class SessionSpec(_Spec):
    session_name: Annotated[str, Field(validation_alias=AliasChoices("session_name", "name"))]
    start_directory: NoNul | None = Field(
        default=None, validation_alias=AliasChoices("start_directory", "project_path")
    )
    environment: Environment = Field(default_factory=dict)
    shell_command_before: Commands = Field(default_factory=list)
    windows: list[WindowSpec] = Field(default_factory=lambda: [WindowSpec()])
    width: int | None = Field(default=None, ge=10, le=1000)
    height: int | None = Field(default=None, ge=5, le=1000)
    options: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("session_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("windows", mode="before")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        return [{}] if value in (None, []) else value
