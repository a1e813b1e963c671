"""One pacer per API key, shared by all workers: spacing, pool-wide pauses, a rate that learns.

The interface the sender relies on (``importer.send.pacing.Pacing``; the shared pacer in Redis
offers the same):

    await pacer.acquire()        wait out any pause and this request's slot, then claim it
    pacer.pause_for(seconds)     a Retry-After: no ``acquire`` returns before now + seconds
    pacer.throttled(sent_at)     a 429 (for an account's pacer, a 408) for the request that
                                 acquired at ``sent_at``: slow down
    pacer.stats                  ``PacerStats`` for the summary

The sender calls ``pause_for`` before ``throttled``. There is one pacer per API key, and one
per account of it (``pacer_for(..., account_id=...)``) for the provider's throttle.

A told rate is a ceiling, not a promise: the server's limiter may count in fixed or sliding
windows, where requests spaced exactly at the limit still put one too many in a window now and
then. So the pacer runs ``HEADROOM`` under it, and a 429 at that pace lowers the rate
(multiplicative decrease) that then climbs back slowly (additive increase) to where it started.

With ``adaptive=True`` (``--rate auto``) the limit is unknown. The rate doubles every tenth of
a second the pacer holds the workers back until the first 429; then each 429 cuts it to what
the server let through in the second before, and a cut that went deeper than the new target
(just under that estimate) is undone within seconds. An account's pacer learns from its 408s
the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import weakref
from collections import deque
from dataclasses import dataclass

from importer.clock import Clock

# StackOne's published limit per API key: where an adaptive pacer starts when not told a rate.
DEFAULT_START_RATE_PER_MINUTE = 1000.0
# How far under a told rate the pacer runs. Measured against the sandbox's limiters (bench/
# RESULTS-pacing.md, 1,000 requests at 50/s on a busy machine): exactly at the limit, fixed
# windows refused 1 and a sliding log 5, each refusal costing a pool-wide pause of a whole
# Retry-After second; 2 % under, none and 2; 3 % under, none. 2 % keeps a told run within 2 %
# of the bound; the rare refusal left costs a second and a 5 % cut.
HEADROOM = 0.02
# A 429 at a told pace: the limiter is stricter than the pace (another client on the key, or a
# window the headroom did not cover). Cut gently: one stray 429 should cost little, and each
# further one cuts again.
_TOLD_CUT = 0.95
# ... and the rate climbs back by this share of the told pace per second the pacer is binding.
_TOLD_RECOVERY_PER_SECOND = 0.01
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

    Spaces requests to ``rate_per_minute`` less ``HEADROOM`` (None: no spacing) with up to
    ``burst`` back to back, and pauses the *whole pool* until a Retry-After window has passed
    (not only the worker that got the 429/408). Waiters are served first come, first served, one
    per slot, so with a rate the end of a pause releases them spaced out rather than all at once.
    ``adaptive=True`` starts from ``rate_per_minute`` (default ``DEFAULT_START_RATE_PER_MINUTE``)
    and learns the limit; see the module docstring.
    """

    def __init__(
        self,
        rate_per_minute: float | None,
        clock: Clock,
        *,
        burst: int = 1,
        adaptive: bool = False,
        headroom: float = HEADROOM,
    ) -> None:
        if rate_per_minute is not None and not rate_per_minute > 0:
            raise ValueError(f"rate_per_minute must be positive, not {rate_per_minute!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, not {burst!r}")
        if not 0 <= headroom < 1:
            raise ValueError(f"headroom must be at least 0 and below 1, not {headroom!r}")
        self._clock = clock
        self._burst = burst
        self.adaptive = adaptive
        if adaptive:
            start = (rate_per_minute or DEFAULT_START_RATE_PER_MINUTE) / 60.0
            self._adaptive: _Adaptive | None = _Adaptive(start)
            self._ceiling = math.inf
        else:
            self._adaptive = None
            told = math.inf if rate_per_minute is None else rate_per_minute / 60.0
            self._ceiling = told * (1 - headroom)
        self._rate = self._ceiling if self._adaptive is None else self._adaptive.start
        self._tat = -math.inf  # GCRA "theoretical arrival time" of the next request
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()
        self._queued = 0
        self.stats = PacerStats()
        self._growth_from = -math.inf
        self._last_cut = -math.inf

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
        """A request granted at ``sent_at`` was refused for the rate: the rate goes down."""
        self.stats.throttles += 1
        now = self._clock.now()
        if self._adaptive is not None:
            rate = self._adaptive.refused(self._rate, sent_at, now)
            if rate is None:
                return
        # Refusals of requests sent before the last cut say nothing about the new rate.
        elif math.isinf(self._rate) or sent_at < self._last_cut:
            return
        else:
            rate = self._rate * _TOLD_CUT
        if rate < self._rate:
            self.stats.rate_cuts += 1
        self._set_rate(rate)
        self._last_cut = now

    def _set_rate(self, rate: float) -> None:
        self._rate = min(max(rate, _MIN_RATE_PER_SECOND), _MAX_RATE_PER_SECOND, self._ceiling)

    def _ready_at(self) -> float:
        if math.isinf(self._rate):
            return self._paused_until
        tolerance = (self._burst - 1) / self._rate
        return max(self._paused_until, self._tat - tolerance)

    def _grant(self, now: float, *, binding: bool, slot: float) -> None:
        self.stats.granted += 1
        if binding and now > self._growth_from:
            self._grow(now - self._growth_from)
        self._growth_from = max(now, self._growth_from)
        if self._adaptive is not None:
            self._adaptive.granted(now)
        if not math.isinf(self._rate):
            interval = 1.0 / self._rate
            # Space from the slot waited for, not from when the sleep happened to end: a timer
            # that fires 1 ms late on every 20 ms slot would otherwise cost 5 % of the rate. The
            # catch-up is bounded so that a stalled loop cannot turn into a burst.
            start = max(slot, now - interval / 2)
            self._tat = max(self._tat, start) + interval

    def _grow(self, seconds: float) -> None:
        if self._adaptive is not None:
            self._set_rate(self._adaptive.grown(self._rate, seconds))
        elif self._rate < self._ceiling:
            self._set_rate(self._rate + self._ceiling * _TOLD_RECOVERY_PER_SECOND * seconds)


# Before the first 429 the limit is unknown: double the rate every tenth of a second the pacer is
# what holds the workers back (TCP slow start, in time rather than round trips). Steep, because
# until it gets there a latency-bound import runs below what its concurrency could do, and because
# the first 429 is measured against the second before it: the steeper the climb, the fewer of
# that second's requests fell into a fixed window before the one that filled up.
_SLOW_START_DOUBLING_SECONDS = 0.1
# What got through is counted over the second before the refused request left. When that is
# clearly less than the pacer sent, a window or a log was full: what got through is the limit.
_LOOKBACK_SECONDS = 1.0
_FULL_WINDOW = 0.95
# Otherwise everything sent in that second got through (a bucket's burst was draining), which
# only says the limit is below the rate: cut to what got through since the last cut, pause
# included, but not below this share of the rate, and aim a little further under it.
_DRAINED_CUT = 0.85
_DRAINED_HEADROOM = 3 * HEADROOM
# After a cut, the rate closes this share of the gap to its target each second the pacer binds:
# a cut that went too deep is undone within seconds instead of at 1 % a second.
_CLOSE_GAP_PER_SECOND = 0.8
# What is remembered of the requests sent, to count what got through.
_HISTORY_SECONDS = 10.0


class _Adaptive:
    """How ``--rate auto`` learns: slow start, cuts to what got through, then a quick recovery.

    The rate never climbs above ``target``, set at each cut just under the estimated limit: a
    limiter whose limit is the rate it refused at gains nothing from probing above it, and each
    probe would cost a pool-wide pause.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.slow_start = True
        self.target = math.inf
        self._sent: deque[float] = deque()
        self._refused: deque[float] = deque()
        self._last_cut = -math.inf
        # Refusals that come in after a cut made from a full window, for requests sent within
        # the second it counted, lower it: it had counted them as got through.
        self._counted = (math.inf, math.inf)

    def granted(self, now: float) -> None:
        self._sent.append(now)
        while self._sent[0] < now - _HISTORY_SECONDS:
            self._sent.popleft()

    def refused(self, rate: float, sent_at: float, now: float) -> float | None:
        """The new rate after a request sent at ``sent_at`` was refused; None: no change."""
        self._refused.append(sent_at)
        while self._refused[0] < now - _HISTORY_SECONDS:
            self._refused.popleft()
        if sent_at < self._last_cut:
            start, end = self._counted
            if not start <= sent_at < end:
                return None
            self.target -= (1 - HEADROOM) / _LOOKBACK_SECONDS
            return min(rate, self.target)
        first, self.slow_start = self.slow_start, False
        began = self._sent[0] if first else max(self._last_cut, now - _HISTORY_SECONDS)
        self._last_cut = now
        window = sent_at - _LOOKBACK_SECONDS
        recent = self._through(window, sent_at) / _LOOKBACK_SECONDS
        if recent < _FULL_WINDOW * rate:
            self._counted = (window, sent_at)
            self.target = recent * (1 - HEADROOM)
            return self.target
        self._counted = (math.inf, math.inf)
        ceiling = min(rate, recent)
        since_cut = self._through(began, sent_at) / max(now - began, 1e-9)
        self.target = ceiling * (1 - _DRAINED_HEADROOM)
        return min(self.target, max(since_cut, _DRAINED_CUT * ceiling))

    def grown(self, rate: float, seconds: float) -> float:
        if self.slow_start:
            doubled: float = rate * 2.0 ** (seconds / _SLOW_START_DOUBLING_SECONDS)
            return doubled
        if rate >= self.target:
            return rate
        left: float = (1 - _CLOSE_GAP_PER_SECOND) ** seconds
        return rate + (self.target - rate) * (1 - left)

    def _through(self, start: float, end: float) -> int:
        """Requests sent in [start, end) that were not refused (so far as is known)."""
        sent = sum(start <= t < end for t in self._sent)
        return sent - sum(start <= t < end for t in self._refused)


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
