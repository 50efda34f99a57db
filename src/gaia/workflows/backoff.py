"""Retry delays: exponential backoff, capped, with full jitter (AWS architecture blog)."""

from __future__ import annotations

import math
import random

from gaia.workflows.spec import BackoffSpec

__all__ = ["backoff_ceiling", "retry_delay"]


def backoff_ceiling(spec: BackoffSpec, failures: int) -> float:
    """The longest wait after the ``failures``-th failed attempt (1-based)."""
    exponent = max(failures - 1, 0)
    if spec.initial <= 0 or spec.max <= 0:
        return 0.0
    # Compare in log space: multiplier ** exponent overflows a float long before any
    # sensible cap is reached, and capping the exponent instead would stop growth early.
    if spec.multiplier > 1 and (
        math.log(spec.initial) + exponent * math.log(spec.multiplier) >= math.log(spec.max)
    ):
        return float(spec.max)
    return float(min(spec.max, spec.initial * spec.multiplier**exponent))


def retry_delay(spec: BackoffSpec, failures: int, rng: random.Random | None = None) -> float:
    """How long to wait before the next attempt: uniform(0, ceiling) with jitter."""
    ceiling = backoff_ceiling(spec, failures)
    if not spec.jitter:
        return ceiling
    return (rng or random).uniform(0.0, ceiling)
