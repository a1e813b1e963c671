"""When to try a request again and how long to wait: Retry-After, backoff, the per-row budget."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

from tenacity import RetryCallState
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from importer.clock import Clock
from importer.errors import RetriableApiError

_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")
# An HTTP-date names a whole second, and a server may have truncated the instant its window ends
# to that second: wait for the end of the named second, plus a margin for the two clocks.
HTTP_DATE_RESOLUTION = 1.0
HTTP_DATE_MARGIN = 0.1


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it is absent or unreadable.

    Accepts delay-seconds (``"120"``; StackOne's documented form) and an HTTP-date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``, measured from ``now_wall``). A date counts to the end
    of the second it names plus ``HTTP_DATE_MARGIN``, so a date just past still waits that much.
    Anything else, negative numbers included, is None so the caller falls back to backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp() + HTTP_DATE_RESOLUTION + HTTP_DATE_MARGIN - now_wall
    return max(0.0, seconds) if math.isfinite(seconds) else None


class wait_retry_after(wait_base):
    """Wait what the server asked for in ``Retry-After``; without one, the fallback backoff.

    Never waits more than ``cap`` seconds. Waiting less than the server asked would only earn
    another 429, so ``stop_after_budget`` gives the row up before such a wait ever happens.
    """

    def __init__(self, fallback: wait_base | None = None, cap: float = 900.0) -> None:
        self.fallback = fallback if fallback is not None else wait_random_exponential(0.5, 60.0)
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, RetriableApiError) and error.retry_after is not None:
            return min(error.retry_after, self.cap)
        return min(float(self.fallback(retry_state)), self.cap)


class stop_after_budget(stop_base):
    """Stop after ``max_attempts``, or before a wait that would end past ``max_wait`` seconds.

    The wait considered is the larger of the planned sleep and the server's Retry-After, so a
    Retry-After longer than the whole budget stops at once. Time is read from the injected clock
    (tenacity's own bookkeeping uses the real monotonic clock, which a test clock cannot move)
    and counts from the row's first attempt.
    """

    def __init__(
        self, max_attempts: int, max_wait: float, clock: Clock, started: float | None = None
    ) -> None:
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.clock = clock
        self.started = clock.now() if started is None else started

    def __call__(self, retry_state: RetryCallState) -> bool:
        if retry_state.attempt_number >= self.max_attempts:
            return True
        wait = retry_state.upcoming_sleep
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, RetriableApiError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return self.clock.now() - self.started + wait > self.max_wait


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one row is tried before it becomes ``retries-exhausted``."""

    max_attempts: int = 10
    max_wait: float = 900.0
    backoff_initial: float = 0.5
    backoff_max: float = 60.0
    resend_unverified: bool = False

    def wait(self) -> wait_retry_after:
        """Retry-After when given, else full-jitter exponential backoff (0.5 s, 1 s, 2 s … 60 s)."""
        fallback = wait_random_exponential(multiplier=self.backoff_initial, max=self.backoff_max)
        return wait_retry_after(fallback, cap=self.max_wait)

    def stop(self, clock: Clock, *, started: float | None = None) -> stop_after_budget:
        """A fresh budget, started now (or at ``clock`` time ``started``); make one per row."""
        return stop_after_budget(self.max_attempts, self.max_wait, clock, started)
