"""Durations written the way people write them: ``90s``, ``10m``, ``1h30m``, ``250ms``, ``5``.

Standard library only: commands the daemon answers format durations without pydantic.
The pydantic field type is ``gaia._fields.Duration``.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

__all__ = ["format_duration", "parse_duration", "serialize_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


def parse_duration(value: Any) -> float:
    """Return seconds for ``value``; raise ValueError with a message a user can act on."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '90s' or '10m', got a boolean")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int of hundreds of digits
            raise ValueError("duration is too large") from None
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not text:
            raise ValueError("expected a duration such as '90s' or '10m', got an empty string")
        try:
            seconds = float(text)
        except ValueError:
            pos = 0
            seconds = 0.0
            for match in _PART.finditer(text):
                if match.start() != pos:
                    break
                seconds += float(match.group(1)) * _UNITS[match.group(2)]
                pos = match.end()
            if pos != len(text) or pos == 0:
                raise ValueError(
                    f"invalid duration {value!r}: use a number with a unit "
                    "(ms, s, m, h, d), e.g. '90s', '10m' or '1h30m'"
                ) from None
    else:
        raise ValueError(f"expected a duration such as '90s' or '10m', got {type(value).__name__}")
    if not math.isfinite(seconds):
        raise ValueError(f"invalid duration {value!r}: must be a finite number of seconds")
    if seconds < 0:
        raise ValueError(f"invalid duration {value!r}: must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    """Short human form: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 59.95:  # would round to "60.0s"
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def serialize_duration(seconds: float) -> str:
    """``90s``: plain decimals (never ``1.2e+06s``), so that it parses back exactly."""
    text = repr(float(seconds))
    if "e" in text or "E" in text:
        text = f"{seconds:.9f}".rstrip("0").rstrip(".")
    return f"{text.removesuffix('.0')}s"
