from __future__ import annotations

from email.utils import formatdate

import pytest
from tenacity import AsyncRetrying, Future, RetryCallState
from tenacity.wait import wait_fixed

from importer.errors import AmbiguousApiError, RetriableApiError
from importer.send.retry import RetryPolicy, parse_retry_after, stop_after_budget, wait_retry_after
from tests.fakes import WALL_START, FakeClock

NOW = WALL_START


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 60 ", 60.0),
        ("1.5", 1.5),
        # a date counts to the end of the second it names, plus a margin
        (formatdate(NOW + 90, usegmt=True), 91.1),
        (formatdate(NOW - 3600, usegmt=True), 0.0),
        ("Thu, 01 Jan 2026 00:01:00", 61.1),  # no zone: read as GMT, as RFC 9110 requires
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1e3", None),
        ("inf", None),
        ("nan", None),
        ("1_000", None),
        ("Thu, 99 Foo 2026", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("offset", [-1e9, -1.0, 0.0, 0.4, 0.999, 1.0, 59.0, 59.5, 86_400.0])
def test_an_http_date_never_ends_the_wait_before_the_instant_it_was_written_for(
    offset: float,
) -> None:
    # formatdate truncates to the second, as a server writing the date may: 0.4 s ahead is
    # written as the current second, and honouring that to the millisecond would come back early.
    seconds = parse_retry_after(formatdate(NOW + offset, usegmt=True), NOW)
    assert seconds is not None
    assert seconds >= max(0.0, offset + 0.1)
    assert seconds <= max(0.0, offset + 1.1) + 1e-6


def _state(attempt: int, error: BaseException, upcoming_sleep: float = 0.0) -> RetryCallState:
    state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    outcome = Future(attempt)
    outcome.set_exception(error)
    state.outcome = outcome
    state.upcoming_sleep = upcoming_sleep
    return state


def test_wait_uses_retry_after_seconds_when_given() -> None:
    wait = wait_retry_after(fallback=wait_fixed(7))
    assert wait(_state(1, RetriableApiError("throttled", 429, 120.0))) == 120.0


def test_wait_falls_back_when_retry_after_is_absent_or_error_has_none() -> None:
    wait = wait_retry_after(fallback=wait_fixed(7))
    assert wait(_state(1, RetriableApiError("throttled", 429, None))) == 7.0
    assert wait(_state(1, AmbiguousApiError("502", 502))) == 7.0


def test_wait_is_capped() -> None:
    wait = wait_retry_after(fallback=wait_fixed(7), cap=30.0)
    assert wait(_state(1, RetriableApiError("throttled", 429, 3600.0))) == 30.0
    assert wait_retry_after(fallback=wait_fixed(700), cap=30.0)(_state(1, ValueError())) == 30.0


def test_policy_fallback_is_jittered_exponential_backoff() -> None:
    wait = RetryPolicy(backoff_initial=0.5, backoff_max=4.0).wait()
    error = RetriableApiError("throttled", 429, None)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        waits = [wait(_state(attempt, error)) for _ in range(200)]
        assert all(0.0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # jitter spreads over the window, not a fixed value


def test_stop_after_max_attempts() -> None:
    stop = stop_after_budget(max_attempts=3, max_wait=900.0, clock=FakeClock())
    error = RetriableApiError("throttled", 429, None)
    assert [stop(_state(n, error, 1.0)) for n in (1, 2, 3)] == [False, False, True]


def test_stop_before_a_wait_that_would_pass_max_wait() -> None:
    clock = FakeClock()
    stop = stop_after_budget(max_attempts=100, max_wait=250.0, clock=clock)
    error = RetriableApiError("throttled", 429, None)
    assert not stop(_state(1, error, 100.0))
    clock.advance(200.0)
    assert not stop(_state(2, error, 50.0))
    assert stop(_state(2, error, 51.0))


def test_stop_at_once_when_retry_after_exceeds_the_whole_budget() -> None:
    stop = stop_after_budget(max_attempts=100, max_wait=900.0, clock=FakeClock())
    capped_wait = 900.0  # what wait_retry_after(cap=900) plans for a Retry-After of 3600
    assert stop(_state(1, RetriableApiError("throttled", 429, 3600.0), capped_wait))
    assert not stop(_state(1, RetriableApiError("throttled", 429, 900.0), 900.0))


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.max_wait) == (10, 900.0)
    assert (policy.backoff_initial, policy.backoff_max) == (0.5, 60.0)
    assert policy.resend_unverified is False
