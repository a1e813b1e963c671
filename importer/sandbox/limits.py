"""Rate limiting per API key (token buckets) and the Retry-After windows announced to each key."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per API key: ``per_minute / 60`` tokens a second, up to ``capacity``."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float, per_minute: float, capacity: float) -> float:
        """Take a token: 0.0 when admitted, else the seconds until one is available."""
        rate = per_minute / 60
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, now)
        else:
            bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / rate

    def reset(self) -> None:
        self._buckets.clear()


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
