"""Human durations: parsing, formatting and the pydantic field type."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel

from gaia._duration import format_duration, parse_duration
from gaia._fields import Duration

UNIT_HELP = "use a number with a unit (ms, s, m, h, d), e.g. '90s', '10m' or '1h30m'"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("250ms", 0.25),
        ("2d", 172800.0),
        ("1m5s", 65.0),
        ("1.5h", 5400.0),
        (" 1h 30m ", 5400.0),
        ("5", 5.0),
        ("0.5", 0.5),
        ("0s", 0.0),
        (5, 5.0),
        (1.5, 1.5),
        (0, 0.0),
        (timedelta(minutes=2), 120.0),
    ],
)
def test_parse_duration_accepts(value: object, seconds: float) -> None:
    """Numbers, unit strings and timedeltas parse to float seconds."""
    result = parse_duration(value)
    assert result == seconds
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10x", f"invalid duration '10x': {UNIT_HELP}"),
        ("s", f"invalid duration 's': {UNIT_HELP}"),
        ("5m10", f"invalid duration '5m10': {UNIT_HELP}"),
        ("m5", f"invalid duration 'm5': {UNIT_HELP}"),
        ("", "expected a duration such as '90s' or '10m', got an empty string"),
        ("   ", "expected a duration such as '90s' or '10m', got an empty string"),
        (-1, "invalid duration -1: must not be negative"),
        ("-1", "invalid duration '-1': must not be negative"),
        (True, "expected a duration such as '90s' or '10m', got a boolean"),
        (None, "expected a duration such as '90s' or '10m', got NoneType"),
        ([1], "expected a duration such as '90s' or '10m', got list"),
    ],
)
def test_parse_duration_rejects_with_actionable_message(value: object, message: str) -> None:
    """Bad durations raise ValueError with a message naming the input and the fix."""
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["nan", float("nan")], ids=["string", "float"])
def test_parse_duration_rejects_nan(value: object) -> None:
    """NaN is not a duration: it must not pass as a timeout or grace period."""
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0ms"),
        (0.85, "850ms"),
        (0.0004, "0ms"),
        (1, "1.0s"),
        (12.34, "12.3s"),
        (59.9, "59.9s"),
        (60, "1m00s"),
        (245, "4m05s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (7380, "2h03m"),
        (90061, "25h01m"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    """format_duration picks ms, seconds, m+s or h+m depending on size."""
    assert format_duration(seconds) == text


class _Model(BaseModel):
    wait: Duration


def test_duration_field_parses_and_serialises() -> None:
    """A Duration field accepts '1h30m', holds seconds and dumps back as '<seconds>s'."""
    model = _Model(wait="1h30m")
    assert model.wait == 5400.0
    assert model.model_dump() == {"wait": "5400s"}
    assert _Model(wait=0.25).model_dump_json() == '{"wait":"0.25s"}'
