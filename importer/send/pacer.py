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

How fast: ``importer.send.rate_control``, the controller this pacer shares with the one in
Redis; this module keeps its state in memory and does the waiting.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import weakref
from dataclasses import dataclass

from importer.clock import Clock
from importer.send import rate_control
from importer.send.rate_control import DEFAULT_START_RATE_PER_MINUTE, HEADROOM, RateConfig

__all__ = ["DEFAULT_START_RATE_PER_MINUTE", "HEADROOM", "Pacer", "PacerStats", "pacer_for"]


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
        self._config = RateConfig.told(rate_per_minute, adaptive=adaptive, headroom=headroom)
        self._state = rate_control.initial(self._config)
        self._history = rate_control.History()
        self._tat = -math.inf  # GCRA "theoretical arrival time" of the next request
        self._paused_until = -math.inf
        self._lock = asyncio.Lock()
        self._queued = 0
        self.stats = PacerStats()

    @property
    def rate_per_minute(self) -> float | None:
        """The current spacing rate; None when unlimited."""
        rate = self._state.rate
        return None if math.isinf(rate) else round(rate * 60.0, 6)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self) -> float:
        """Wait for any pause to end and for this caller's slot (FIFO), then claim it; the time
        it was granted, as the pacer's history holds it (``throttled`` takes it back)."""
        clock = self._clock
        started = clock.now()
        if not self._queued and not self._lock.locked() and self._ready_at() <= started:
            self._grant(started, binding=False, slot=started)
            return started
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
        return now

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
        self._state = rate_control.paused(self._state, until)

    def throttled(self, sent_at: float) -> None:
        """A request granted at ``sent_at`` was refused for the rate: the rate goes down."""
        self.stats.throttles += 1
        now = self._clock.now()
        if self.adaptive:
            self._history.refuse(sent_at, now)
        state = rate_control.refused(
            self._config, self._state, self._history, sent_at, now, resume_at=self._paused_until
        )
        if state is None:
            return
        if state.rate < self._state.rate:
            self.stats.rate_cuts += 1
        self._state = state

    def _ready_at(self) -> float:
        rate = self._state.rate
        if math.isinf(rate):
            return self._paused_until
        tolerance = (self._burst - 1) / rate
        return max(self._paused_until, self._tat - tolerance)

    def _grant(self, now: float, *, binding: bool, slot: float) -> None:
        self.stats.granted += 1
        self._state = rate_control.advance(self._config, self._state, now, binding=binding)
        if self.adaptive:
            self._history.granted(now)
        rate = self._state.rate
        if not math.isinf(rate):
            interval = 1.0 / rate
            # Space from the slot waited for, not from when the sleep happened to end: a timer
            # that fires 1 ms late on every 20 ms slot would otherwise cost 5 % of the rate. The
            # catch-up is bounded so that a stalled loop cannot turn into a burst.
            start = max(slot, now - interval / 2)
            self._tat = max(self._tat, start) + interval


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
