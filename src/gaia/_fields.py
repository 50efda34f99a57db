"""pydantic field types shared by gaia's specs and settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from gaia._duration import parse_duration, serialize_duration

__all__ = ["Duration"]

# Accepts "90s", "10m", "1h30m" or a number; holds float seconds; dumps "90s".
Duration = Annotated[float, BeforeValidator(parse_duration), PlainSerializer(serialize_duration)]
