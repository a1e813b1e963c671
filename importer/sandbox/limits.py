"""Rate limiters per key (four common kinds) and the Retry-After windows announced to each key.

Every limiter allows ``per_minute`` requests a minute in the long run and ``capacity`` requests
back to back; the four kinds in ``LIMITERS`` (each with a one-line ``summary``) differ in how they
count, which is what a client's pacing has to survive.

The same classes serve the gateway (keyed by API key) and the provider (keyed by account), and
the pacer's property tests use them as their model of a server.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar


class Limiter(ABC):
    """Admits or refuses requests per key: ``take`` answers 0.0, or the seconds to wait."""

    kind: ClassVar[str]
    summary: ClassVar[str]

    def __init__(self, per_minute: float, capacity: float) -> None:
        if not per_minute > 0:
            raise ValueError(f"per_minute must be positive, got {per_minute}")
        if not capacity >= 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.per_minute = per_minute
        self.capacity = capacity
        self.rate = per_minute / 60

    @abstractmethod
    def take(self, key: str, now: float) -> float:
        """Admit one request for ``key`` at ``now``: 0.0, or the seconds until one would be."""

    @abstractmethod
    def reset(self) -> None:
        """Forget every key."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucket(Limiter):
    kind = "bucket"
    summary = "a token bucket refilled continuously, holding up to --burst requests"

    def __init__(self, per_minute: float, capacity: float) -> None:
        super().__init__(per_minute, capacity)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def reset(self) -> None:
        self._buckets.clear()


@dataclass(slots=True)
class _Window:
    index: int
    count: int


class FixedWindow(Limiter):
    kind = "fixed"
    summary = "--burst requests in each window of --burst / rate seconds, windows back to back"

    def __init__(self, per_minute: float, capacity: float) -> None:
        super().__init__(per_minute, capacity)
        self.allowance = int(capacity)
        self.length = self.allowance / self.rate
        self._windows: dict[str, _Window] = {}

    def take(self, key: str, now: float) -> float:
        index = math.floor(now / self.length)
        window = self._windows.get(key)
        if window is None or window.index != index:
            window = self._windows[key] = _Window(index, 0)
        if window.count < self.allowance:
            window.count += 1
            return 0.0
        return (index + 1) * self.length - now

    def reset(self) -> None:
        self._windows.clear()


class SlidingWindow(Limiter):
    kind = "sliding"
    summary = "--burst requests in any --burst / rate seconds (a sliding log)"

    def __init__(self, per_minute: float, capacity: float) -> None:
        super().__init__(per_minute, capacity)
        self.allowance = int(capacity)
        self.length = self.allowance / self.rate
        self._logs: dict[str, deque[float]] = {}

    def take(self, key: str, now: float) -> float:
        log = self._logs.setdefault(key, deque())
        while log and log[0] <= now - self.length:
            log.popleft()
        if len(log) < self.allowance:
            log.append(now)
            return 0.0
        return log[0] + self.length - now

    def reset(self) -> None:
        self._logs.clear()


class Gcra(Limiter):
    kind = "gcra"
    summary = "the generic cell rate algorithm: 1 / rate apart, --burst minus 1 early at most"

    def __init__(self, per_minute: float, capacity: float) -> None:
        super().__init__(per_minute, capacity)
        self.interval = 1 / self.rate
        self.tolerance = (capacity - 1) * self.interval
        self._arrivals: dict[str, float] = {}

    def take(self, key: str, now: float) -> float:
        arrival = max(self._arrivals.get(key, now), now)
        if arrival - self.tolerance > now:
            return arrival - self.tolerance - now
        self._arrivals[key] = arrival + self.interval
        return 0.0

    def reset(self) -> None:
        self._arrivals.clear()


LIMITERS: dict[str, type[Limiter]] = {
    kind.kind: kind for kind in (TokenBucket, FixedWindow, SlidingWindow, Gcra)
}


def make_limiter(kind: str, per_minute: float, capacity: float) -> Limiter:
    """A limiter of ``kind`` (a key of ``LIMITERS``)."""
    return LIMITERS[kind](per_minute, capacity)


@dataclass(slots=True)
class _KeyWindows:
    # Windows announced less than ``grace`` ago: requests already in flight may still land in
    # them. Once older than the grace they only matter through ``closes``.
    recent: deque[tuple[float, float]] = field(default_factory=deque)
    closes: float = float("-inf")


class RetryAfterWindows:
    """Remembers each ``[announced, until)`` window per key and spots requests that ignore them.

    A request is a violation when it arrives before a window closes and more than ``grace``
    seconds after that window was announced; the grace covers requests already on their way.
    """

    def __init__(self) -> None:
        self._keys: dict[str, _KeyWindows] = {}

    def announce(self, key: str, now: float, until: float) -> None:
        self._keys.setdefault(key, _KeyWindows()).recent.append((now, until))

    def violates(self, key: str, now: float, grace: float) -> bool:
        windows = self._keys.get(key)
        if windows is None:
            return False
        recent = windows.recent
        while recent and recent[0][0] < now - grace:
            windows.closes = max(windows.closes, recent.popleft()[1])
        return now < windows.closes

    def reset(self) -> None:
        self._keys.clear()
