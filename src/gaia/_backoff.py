"""Exponential backoff with a cap, safe for any number of failures."""

from __future__ import annotations

import math

__all__ = ["capped_exponential"]


def capped_exponential(initial: float, multiplier: float, maximum: float, failures: int) -> float:
    """``min(maximum, initial * multiplier ** (failures - 1))``, without overflowing.

    ``failures`` counts from 1 (the wait after the first failure is ``initial``).
    """
    exponent = max(failures - 1, 0)
    if initial <= 0 or maximum <= 0:
        return 0.0
    # Compare in log space: multiplier ** exponent overflows a float (2.0 ** 1025 raises
    # OverflowError) long before any sensible cap is reached, and capping the exponent
    # instead would stop growth early for multipliers close to 1.
    if multiplier > 1 and (
        math.log(initial) + exponent * math.log(multiplier) >= math.log(maximum)
    ):
        return float(maximum)
    return float(min(maximum, initial * multiplier**exponent))
