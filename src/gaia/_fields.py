"""pydantic field types shared by gaia's specs and settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from gaia._duration import parse_duration, serialize_duration

__all__ = ["Duration", "EnvName", "NoNul", "StrictModel"]

# Accepts "90s", "10m", "1h30m" or a number; holds float seconds; dumps "90s".
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(serialize_duration)]


def _no_nul(value: str) -> str:
    # exec() and the environment are C strings: a NUL byte ends up as "embedded null
    # byte" when the process starts, long after the definition was accepted.
    if "\0" in value:
        raise ValueError("must not contain a NUL byte (\\0)")
    return value


def _env_name(value: str) -> str:
    if not value or "=" in value or "\0" in value:
        raise ValueError(
            f"environment variable name {value!r} is not valid: it must be non-empty, "
            "without '=' or NUL"
        )
    return value


class StrictModel(BaseModel):
    """The base of every definition a user writes (workflow, service): an unknown key is
    an error (a typo must not be ignored), and a loaded definition does not change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Text that reaches a command line, a path or an environment value.
NoNul = Annotated[str, AfterValidator(_no_nul)]
EnvName = Annotated[str, AfterValidator(_env_name)]
