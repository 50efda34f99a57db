"""What a session looks like: the layout file format and the CreateSession body.

The format is tmuxp's, so that tmuxp files load as tmuxp loads them (gaia.sessions.tmuxp
turns such a file into this shape first, the way tmuxp's own ``expand`` and ``trickle``
do): ``session_name``, ``start_directory``, ``environment``, ``options``,
``global_options``, ``suppress_history``, ``shell_command_before`` and ``windows``; each
window with ``window_name``, ``window_index``, ``layout``, ``options``, ``options_after``,
``window_shell``, ``focus`` and ``panes``; each pane a command string, a list of commands,
empty, or a mapping with ``shell_command``, ``shell``, ``enter``, ``sleep_before``,
``sleep_after``, ``focus``, ``environment`` and ``start_directory``. A command is a string
or ``{cmd, enter, sleep_before, sleep_after}``. The API also accepts ``name`` and
``project_path`` as aliases.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from gaia._fields import NoNul

__all__ = [
    "CommandSpec",
    "PaneSpec",
    "SessionSpec",
    "WindowSpec",
    "check_name",
]

Environment = dict[str, NoNul]
OptionValue = str | int | float | bool
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_name(name: str, kind: str = "session name") -> str:
    """tmux takes any name but turns '.' and ':' (which separate a target's parts) into
    '_', so that tmuxp, which checks the name it gets back, fails on them: refuse them."""
    if not name.strip() or "\n" in name or len(name) > 200:
        raise ValueError(f"{kind} {name!r} is not allowed: use one non-blank line")
    if "." in name or ":" in name:
        raise ValueError(f"{kind} {name!r} is not allowed: tmux does not take '.' or ':' in it")
    return name


def _commands(value: Any) -> Any:
    """tmuxp accepts a string, a list of strings or ``{cmd: ...}`` items, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("shell_command", "shell_command_before", mode="before", check_fields=False)
    @classmethod
    def _normalise_commands(cls, value: Any) -> Any:
        return _commands(value)

    @field_validator("environment", mode="before", check_fields=False)
    @classmethod
    def _check_environment(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in value:
                if not _ENV_NAME.match(str(key)):
                    raise ValueError(f"environment variable name {key!r} is not valid")
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value


class CommandSpec(_Spec):
    """One command typed into a pane; ``enter: false`` types it without pressing Enter."""

    cmd: NoNul
    enter: bool | None = None
    sleep_before: float | None = Field(default=None, ge=0)
    sleep_after: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"cmd": value} if isinstance(value, str) else value


Commands = list[CommandSpec]


class PaneSpec(_Spec):
    shell_command: Commands = Field(default_factory=list, description="commands typed in order")
    shell_command_before: Commands = Field(default_factory=list)
    start_directory: NoNul | None = None
    environment: Environment | None = Field(
        default=None, description="replaces the window's environment for this pane"
    )
    focus: bool = False
    enter: bool = True
    sleep_before: float | None = Field(default=None, ge=0)
    sleep_after: float | None = Field(default=None, ge=0)
    suppress_history: bool | None = None
    shell: NoNul | None = Field(default=None, description="run this instead of a shell")

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
    window_index: int | None = Field(default=None, ge=0)
    layout: str | None = Field(default=None, description="a tmux layout name or layout string")
    start_directory: NoNul | None = None
    environment: Environment = Field(default_factory=dict)
    shell_command_before: Commands = Field(default_factory=list)
    panes: list[PaneSpec] = Field(default_factory=lambda: [PaneSpec()])
    focus: bool = False
    options: dict[str, OptionValue] = Field(default_factory=dict)
    options_after: dict[str, OptionValue] = Field(default_factory=dict)
    suppress_history: bool | None = None
    window_shell: NoNul | None = None

    @field_validator("panes", mode="before")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        return [None] if value in (None, []) else value

    @field_validator("window_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and ("\n" in value or (value and not value.strip())):
            raise ValueError("a window name must be one non-blank line")
        return value or None  # empty (tmuxp allows it): tmux names it after its program


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
    options: dict[str, OptionValue] = Field(default_factory=dict)
    global_options: dict[str, OptionValue] = Field(default_factory=dict)
    suppress_history: bool | None = None
    before_script: NoNul | None = Field(
        default=None, description="run (not in tmux) before the session is built"
    )

    @field_validator("session_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("windows", mode="before")
    @classmethod
    def _at_least_one(cls, value: Any) -> Any:
        return [{}] if value in (None, []) else value
