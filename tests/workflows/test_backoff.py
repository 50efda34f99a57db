"""Retry delays: exponential ceiling, cap, full jitter."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaia.workflows.backoff import backoff_ceiling, retry_delay
from gaia.workflows.spec import BackoffSpec

MAX_FAILURES = 100  # RetrySpec.max_attempts allows up to 100 attempts


def expected_ceiling(initial: float, multiplier: float, cap: float, failures: int) -> float:
    """min(cap, initial * multiplier ** (failures - 1)), computed without overflowing."""
    exponent = max(failures - 1, 0)
    if initial == 0:
        return 0.0
    if math.log(initial) + exponent * math.log(multiplier) >= math.log(cap):
        return cap
    return initial * multiplier**exponent


class ExplodingRandom(random.Random):
    def uniform(self, a: float, b: float) -> float:
        raise AssertionError("jitter disabled: the random source must not be used")


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 32.0), (7, 60.0), (50, 60.0)],
)
def test_default_ceiling_doubles_from_one_second_up_to_a_minute(
    failures: int, ceiling: float
) -> None:
    """With the defaults the ceiling is 1s, 2s, 4s, ... capped at 60s."""
    assert backoff_ceiling(BackoffSpec(), failures) == ceiling


def test_ceiling_uses_initial_multiplier_and_max() -> None:
    """The ceiling after the n-th failure is initial * multiplier**(n-1), capped at max."""
    spec = BackoffSpec(initial="250ms", multiplier=3, max="10s")
    assert [backoff_ceiling(spec, n) for n in range(1, 6)] == [0.25, 0.75, 2.25, 6.75, 10.0]


def test_slow_growth_is_not_frozen_after_64_failures() -> None:
    """With multiplier 1.1 the ceiling after 80 failures is 1.1**79 seconds, below max."""
    spec = BackoffSpec(initial=1, multiplier=1.1, max=3600)
    assert backoff_ceiling(spec, 80) == pytest.approx(1.1**79)  # about 1862s


# Slow growth (multiplier near 1) needs many failures to reach the cap; fast growth few.
MULTIPLIERS = st.one_of(st.floats(1.0, 1.2), st.floats(1.0, 10.0))


@given(
    initial=st.floats(0.001, 100),
    multiplier=MULTIPLIERS,
    cap=st.floats(0.001, 10_000),
    failures=st.integers(1, MAX_FAILURES),
)
def test_ceiling_is_exponential_and_capped(
    initial: float, multiplier: float, cap: float, failures: int
) -> None:
    """For every attempt count a retry policy allows, the ceiling follows the capped formula."""
    spec = BackoffSpec(initial=initial, multiplier=multiplier, max=cap)
    expected = expected_ceiling(initial, multiplier, cap, failures)
    assert math.isclose(backoff_ceiling(spec, failures), expected, rel_tol=1e-9)


@given(
    initial=st.floats(0.0, 100),
    multiplier=st.floats(1.0, 10.0),
    cap=st.floats(0.0, 10_000),
    failures=st.integers(0, 10_000),
    seed=st.integers(0, 2**32),
)
def test_jittered_delay_is_within_zero_and_ceiling(
    initial: float, multiplier: float, cap: float, failures: int, seed: int
) -> None:
    """With jitter the delay is uniform in [0, ceiling]."""
    spec = BackoffSpec(initial=initial, multiplier=multiplier, max=cap, jitter=True)
    delay = retry_delay(spec, failures, random.Random(seed))
    assert 0.0 <= delay <= backoff_ceiling(spec, failures)


def test_jittered_delays_vary_and_use_the_given_rng() -> None:
    """Jittered delays are drawn from the rng: equal seeds repeat, and values spread out."""
    spec = BackoffSpec(initial=10, max=10)
    first = [retry_delay(spec, 1, random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1
    rng = random.Random(1)
    delays = [retry_delay(spec, 1, rng) for _ in range(200)]
    assert len(set(delays)) == 200
    assert min(delays) < 2.0
    assert max(delays) > 8.0


@given(failures=st.integers(0, 1_000), multiplier=st.floats(1.0, 10.0))
def test_delay_without_jitter_equals_ceiling(failures: int, multiplier: float) -> None:
    """Without jitter the delay is exactly the ceiling and no random number is drawn."""
    spec = BackoffSpec(initial=0.5, multiplier=multiplier, max=30, jitter=False)
    assert retry_delay(spec, failures, ExplodingRandom()) == backoff_ceiling(spec, failures)


def test_retry_delay_without_rng_uses_module_random() -> None:
    """retry_delay works with no rng argument and stays within the ceiling."""
    spec = BackoffSpec(initial=2, max=2)
    assert all(0.0 <= retry_delay(spec, 1) <= 2.0 for _ in range(50))


@pytest.mark.parametrize("failures", [10**3, 10**6, 10**18])
@pytest.mark.parametrize("multiplier", [1.0, 2.0, 1e3, 1e6])
def test_huge_failure_counts_do_not_overflow(failures: int, multiplier: float) -> None:
    """Any failure count with any allowed multiplier gives a finite delay capped at max."""
    spec = BackoffSpec(initial=1, multiplier=multiplier, max=60, jitter=False)
    expected = 1.0 if multiplier == 1.0 else 60.0
    assert backoff_ceiling(spec, failures) == expected
    assert retry_delay(spec, failures) == expected


def test_tiny_initial_with_many_failures_does_not_overflow() -> None:
    """Below the cap in log space, yet 7.0 ** 365 alone overflows a float (hypothesis
    found it: initial=5e-324, multiplier=7, failures=366)."""
    spec = BackoffSpec(initial=5e-324, multiplier=7.0, max=1.0)
    assert 0.0 < backoff_ceiling(spec, 366) <= 1.0
    assert 0.0 <= retry_delay(spec, 366) <= 1.0
