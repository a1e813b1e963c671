"""The sandbox's four rate limiters, by the rules each one promises."""

import itertools
import random

import pytest

from importer.sandbox.limits import (
    LIMITERS,
    FixedWindow,
    Gcra,
    Limiter,
    SlidingWindow,
    TokenBucket,
    make_limiter,
)


def admitted(limiter: Limiter, times: list[float], key: str = "k") -> list[float]:
    return [t for t in times if limiter.take(key, t) == 0.0]


@pytest.mark.parametrize("kind", list(LIMITERS))
def test_every_kind_lets_the_burst_through_then_holds_the_long_run_rate(kind: str) -> None:
    limiter = make_limiter(kind, 600, 5)  # 10/s, 5 back to back
    flood = [i / 1000 for i in range(20_000)]  # 1,000 requests a second for 20 s
    passed = admitted(limiter, flood)
    assert admitted(make_limiter(kind, 600, 5), [0.0] * 8) == [0.0] * 5
    # 20 s at 10/s, plus at most one burst's (or one window's) worth
    assert 200 <= len(passed) <= 200 + 5


@pytest.mark.parametrize("kind", list(LIMITERS))
def test_a_refusal_says_how_long_until_a_request_would_pass(kind: str) -> None:
    limiter = make_limiter(kind, 600, 5)
    t = 0.123
    while (wait := limiter.take("k", t)) == 0.0:
        pass
    assert wait > 0
    assert limiter.take("k", t + wait * 0.99) > 0
    assert limiter.take("k", t + wait + 1e-9) == 0.0


@pytest.mark.parametrize("kind", list(LIMITERS))
def test_keys_are_counted_apart_and_reset_forgets_them(kind: str) -> None:
    limiter = make_limiter(kind, 60, 1)
    assert limiter.take("a", 0.0) == 0.0
    assert limiter.take("a", 0.0) > 0
    assert limiter.take("b", 0.0) == 0.0
    limiter.reset()
    assert limiter.take("a", 0.0) == 0.0


def test_fixed_windows_admit_twice_the_allowance_across_a_boundary() -> None:
    # The weakness that makes pacing exactly at the limit unsafe: the end of one window and the
    # start of the next are counted apart.
    limiter = FixedWindow(3000, 50)  # 1 s windows of 50
    assert limiter.length == 1.0
    late = [0.99 + i / 10_000 for i in range(50)]
    early = [1.0 + i / 10_000 for i in range(50)]
    assert len(admitted(limiter, late + early)) == 100
    assert limiter.take("k", 1.5) == pytest.approx(0.5)  # until the window ends


def test_a_sliding_log_never_admits_more_than_the_allowance_in_any_window() -> None:
    limiter = SlidingWindow(3000, 50)
    times = sorted({round(i * 0.0137 % 5, 4) for i in range(2000)})
    passed = admitted(limiter, times)
    for start in passed:
        assert sum(start <= t < start + 1.0 for t in passed) <= 50


def test_gcra_admits_what_a_token_bucket_of_the_same_size_admits() -> None:
    draw = random.Random(7)
    times = sorted(draw.uniform(0, 10) for _ in range(3000))
    for per_minute, burst in itertools.product((60, 600, 3000), (1, 3, 50)):
        bucket = admitted(TokenBucket(per_minute, burst), times)
        gcra = admitted(Gcra(per_minute, burst), times)
        assert gcra == bucket, (per_minute, burst)


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="capacity"):
        SlidingWindow(60, 0.5)
