"""Time as a dependency: the real monotonic clock, and a scaled one for tests and the sandbox."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What the pacer, the retry policy and the sandbox need from time."""

    def now(self) -> float:
        """Seconds on a monotonic scale."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for HTTP-date Retry-After values."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ScaledClock:
    """Time that runs ``factor`` times faster than real time.

    A sandbox and an importer sharing one ScaledClock agree on every instant, so a test can
    exercise a 30-second Retry-After window in 30/factor real seconds and still check that no
    request arrived inside it.
    """

    def __init__(self, factor: float = 100.0) -> None:
        self.factor = factor
        self._start_real = time.monotonic()
        self._start_wall = time.time()

    def now(self) -> float:
        return (time.monotonic() - self._start_real) * self.factor

    def wall(self) -> float:
        return self._start_wall + self.now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.factor)
