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
    if multiplier > 1:
        log_delay = math.log(initial) + exponent * math.log(multiplier)
        if log_delay >= math.log(maximum):
            return float(maximum)
        try:
            return float(min(maximum, initial * multiplier**exponent))
        except OverflowError:
            # Below the cap, yet multiplier ** exponent alone overflows when initial is
            # tiny (5e-324 * 7.0 ** 365); exp of the sum loses a few ulps, so only here.
            return min(float(maximum), math.exp(log_delay))
    return float(min(maximum, initial * multiplier**exponent))
