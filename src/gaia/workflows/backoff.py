"""Retry delays: exponential backoff, capped, with full jitter (AWS architecture blog)."""

from __future__ import annotations

import random

from gaia._backoff import capped_exponential
from gaia.workflows.spec import BackoffSpec

__all__ = ["backoff_ceiling", "retry_delay"]


def backoff_ceiling(spec: BackoffSpec, failures: int) -> float:
    """The longest wait after the ``failures``-th failed attempt (1-based)."""
    return capped_exponential(spec.initial, spec.multiplier, spec.max, failures)


def retry_delay(spec: BackoffSpec, failures: int, rng: random.Random | None = None) -> float:
    """How long to wait before the next attempt: uniform(0, ceiling) with jitter."""
    ceiling = backoff_ceiling(spec, failures)
    if not spec.jitter:
        return ceiling
    return (rng or random).uniform(0.0, ceiling)
