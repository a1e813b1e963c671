"""One pacer per API key, shared by all workers: spacing, pool-wide pauses, an adaptive rate."""

from __future__ import annotations

import asyncio
import hashlib
import math
import weakref
from dataclasses import dataclass

from importer.clock import Clock

# StackOne's published limit per API key: where an adaptive pacer starts when not told a rate.
DEFAULT_START_RATE_PER_MINUTE = 1000.0

# Before the first 429 the limit is unknown: double the rate every quarter second the pacer is what
# holds the workers back (TCP slow start, in time rather than round trips). Fast, because until it
# gets there a latency-bound import runs below what its concurrency could do; the overshoot costs
# a pause and a cut or two (1000 rows into the sandbox limited to 50/s: 20.2 s, bound 20 s).
_SLOW_START_DOUBLING_SECONDS = 0.25
# After a 429 the limit is roughly known and each 429 costs a pool-wide pause, so probe upwards
# gently: a token bucket allowing R/s with a burst of one second of tokens is drained by a rate
# of R × (1 + 1%/s × t) only after ~14 s.
_PROBE_GROWTH_PER_SECOND = 0.01
# The first 429 arrives well above the limit: a bucket's burst hides the overshoot for a while.
_FIRST_CUT = 0.5
# Goodput is measured over at least this long, so one burst does not pass for the steady rate;
# a 429 sooner than that after a cut means the cut was not deep enough.
_MIN_MEASURE_SECONDS = 1.0
_QUICK_CUT = 0.7
_MAX_RATE_PER_SECOND = 10_000.0
_MIN_RATE_PER_SECOND = 1.0 / 60.0


@dataclass
class PacerStats:
    """What the pacer did, for the summary."""

    granted: int = 0
    pauses: int = 0
    paused_seconds: float = 0.0  # wall time under a pause, overlapping pauses counted once
    waited_seconds: float = 0.0  # time callers spent in acquire, summed over callers
    throttles: int = 0
    rate_cuts: int = 0


class Pacer:
    """One per API key, shared by every worker.

    Spaces requests to ``rate_per_minute`` (None: no spacing) with up to ``burst`` back to back,
    and pauses the *whole pool* until a Retry-After window has passed (not only the worker that
    got the 429/408). Waiters are served first come, first served, one per slot, so with a rate
    the end of a pause releases them spaced out rather than all at once.

    ``adaptive=True`` is for when the real limit is unknown: starting from ``rate_per_minute``
    (default ``DEFAULT_START_RATE_PER_MINUTE``), the rate doubles every quarter second the pacer
    is the bottleneck until the first 429 (``throttled``). The first 429 halves the rate (a
    bucket's burst hides how far above the limit it was); each later 429 for a request sent after
    the last cut brings it down to what got through since that cut, which for a token bucket is
    the limit itself. In between, the rate grows by 1 % a second to find headroom again.
    """

    def __init__(
        self,
        rate_per_minute: float | None,
        clock: Clock,
        *,
        burst: int = 1,
        adaptive: bool = False,
    ) -> None:
        if rate_per_minute is not None and not rate_per_minute > 0:
            raise ValueError(f"rate_per_minute must be positive, not {rate_per_minute!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        self._clock = clock
        self._burst = burst
        self.adaptive = adaptive
        if rate_per_minute is None and adaptive:
            rate_per_minute = DEFAULT_START_RATE_PER_MINUTE
        self._rate = math.inf if rate_per_minute is None else rate_per_minute / 60.0
        self._tat = -math.inf  # GCRA "theoretical arrival time" of the next request
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()
        self._queued = 0
        self.stats = PacerStats()
        # Adaptive state: the phase, and what got through since the last cut.
        self._slow_start = True
        self._growth_from = -math.inf
        self._last_cut = -math.inf
        self._granted_since_cut = 0

    @property
    def rate_per_minute(self) -> float | None:
        """The current spacing rate; None when unlimited."""
        return None if math.isinf(self._rate) else round(self._rate * 60.0, 6)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self) -> None:
        """Wait for any pause to end and for this caller's slot (FIFO), then claim it."""
        clock = self._clock
        started = clock.now()
        if not self._queued and not self._lock.locked() and self._ready_at() <= started:
            self._grant(started, binding=False, slot=started)
            return
        self._queued += 1
        try:
            await self._lock.acquire()
        finally:
            self._queued -= 1
        try:
            binding = False
            slot: float | None = None
            while True:
                now = clock.now()
                ready_at = self._ready_at()
                if ready_at <= now:
                    break
                # Waiting for spacing (not a pause) means the rate is what limits the pool.
                binding = binding or ready_at > self._paused_until
                slot = ready_at
                await clock.sleep(ready_at - now)
            self._grant(
                now, binding=binding or self._queued > 0, slot=now if slot is None else slot
            )
        finally:
            self._lock.release()
        self.stats.waited_seconds += clock.now() - started

    def pause_for(self, seconds: float) -> None:
        """Pool-wide: no ``acquire`` returns before now + ``seconds`` (extends, never shortens)."""
        now = self._clock.now()
        until = now + max(0.0, seconds)
        if until <= self._paused_until:
            return
        if now >= self._paused_until:
            self.stats.pauses += 1
            self.stats.paused_seconds += until - now
        else:
            self.stats.paused_seconds += until - self._paused_until
        self._paused_until = until
        self._growth_from = max(self._growth_from, until)

    def throttled(self, sent_at: float) -> None:
        """A request granted at ``sent_at`` got a 429: the adaptive pacer lowers its rate."""
        self.stats.throttles += 1
        if not self.adaptive:
            return
        # 429s for requests sent before the last cut say nothing about the new rate.
        if sent_at < self._last_cut:
            return
        now = self._clock.now()
        measured = now - self._last_cut
        if self._slow_start:
            new_rate = self._rate * _FIRST_CUT
            self._slow_start = False
        elif measured >= _MIN_MEASURE_SECONDS:
            # Between two 429s the bucket went from empty, through the refill of the pause, to
            # empty again: what got through meanwhile is the limit itself.
            new_rate = min(self._rate, (self._granted_since_cut - 1) / measured)
        else:
            new_rate = self._rate * _QUICK_CUT
        self._set_rate(new_rate)
        self._last_cut = now
        self._granted_since_cut = 0
        self.stats.rate_cuts += 1

    def _set_rate(self, rate: float) -> None:
        self._rate = min(max(rate, _MIN_RATE_PER_SECOND), _MAX_RATE_PER_SECOND)

    def _ready_at(self) -> float:
        if math.isinf(self._rate):
            return self._paused_until
        tolerance = (self._burst - 1) / self._rate
        return max(self._paused_until, self._tat - tolerance)

    def _grant(self, now: float, *, binding: bool, slot: float) -> None:
        self.stats.granted += 1
        if self.adaptive:
            if binding and now > self._growth_from:
                self._grow(now - self._growth_from)
            self._growth_from = max(now, self._growth_from)
            self._granted_since_cut += 1
        if not math.isinf(self._rate):
            interval = 1.0 / self._rate
            # Space from the slot waited for, not from when the sleep happened to end: a timer
            # that fires 1 ms late on every 20 ms slot would otherwise cost 5 % of the rate. The
            # catch-up is bounded so that a stalled loop cannot turn into a burst.
            start = max(slot, now - interval / 2)
            self._tat = max(self._tat, start) + interval

    def _grow(self, seconds: float) -> None:
        if self._slow_start:
            factor = 2.0 ** (seconds / _SLOW_START_DOUBLING_SECONDS)
        else:
            factor = 1.0 + _PROBE_GROWTH_PER_SECOND * seconds
        self._set_rate(self._rate * factor)


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Pacer]] = (
    weakref.WeakKeyDictionary()
)


def pacer_for(
    api_key: str,
    rate_per_minute: float | None,
    clock: Clock,
    *,
    burst: int = 1,
    adaptive: bool = False,
    account_id: str | None = None,
) -> Pacer:
    """The one ``Pacer`` for ``api_key`` (or for one account of it) in the running event loop.

    StackOne's limit is per key, so two imports sharing a key in one process share a pacer;
    a provider's throttle is per account, so they share the account's one too. The first
    caller's settings win. Keys are held only as SHA-256 digests.
    """
    loop = asyncio.get_running_loop()
    pacers = _registry.setdefault(loop, {})
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    if account_id is not None:
        digest += ":" + hashlib.sha256(account_id.encode()).hexdigest()
    pacer = pacers.get(digest)
    if pacer is None:
        pacer = pacers[digest] = Pacer(rate_per_minute, clock, burst=burst, adaptive=adaptive)
    return pacer
