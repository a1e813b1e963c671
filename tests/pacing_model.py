"""An import through a ``Pacer`` against a model server, on the fake clock: no HTTP, no real time.

The server is one of the sandbox's own limiters (``importer.sandbox.limits``), so the pacer is
tested against the same counting the sandbox and the benchmarks use. Each worker does what the
sender does: acquire, send, and on a 429 pause the pool for the Retry-After, tell the pacer, wait
and send the row again. Every 429 is recorded as the window the client was told about, from the
moment its answer arrived, so a test can check that no request was sent inside one.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field

from importer.sandbox.limits import Limiter
from importer.send.pacer import Pacer
from importer.send.retry import HTTP_DATE_MARGIN, HTTP_DATE_RESOLUTION
from tests.fakes import FakeClock


@dataclass
class Imported:
    """What happened: when each request left, which were refused, and the windows announced."""

    elapsed: float
    sent: list[float] = field(default_factory=list)
    # when the requests the server admitted arrived there
    admitted: list[float] = field(default_factory=list)
    refused: int = 0
    # [answer received, received + Retry-After): no request may leave inside one
    windows: list[tuple[float, float]] = field(default_factory=list)
    final_rate_per_second: float | None = None

    def inside_windows(self) -> list[float]:
        """Send times that fell inside a window announced by an answer received before them."""
        return [t for t in self.sent if any(start < t < end for start, end in self.windows)]

    def admitted_per_second(self, start: float, end: float) -> float:
        """The server's goodput between ``start`` and ``end`` seconds into the import."""
        began = self.sent[0]
        count = sum(began + start <= t < began + end for t in self.admitted)
        return count / (end - start)

    def most_in(self, seconds: float) -> int:
        """The most requests sent within any interval of ``seconds``."""
        times = sorted(self.sent)
        most, first = 0, 0
        for last, t in enumerate(times):
            while times[first] <= t - seconds:
                first += 1
            most = max(most, last - first + 1)
        return most


def import_through(
    limiter: Limiter,
    *,
    rows: int,
    workers: int,
    rate_per_minute: float | None,
    adaptive: bool,
    transit: tuple[float, float] = (0.001, 0.006),
    service: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
    start: float = 0.0,
    retry_after_date: float | None = None,
) -> Imported:
    """Import ``rows`` through a fresh pacer.

    Each request takes ``transit`` seconds to reach the gateway's limiter (and as long back), and
    an admitted one ``service`` seconds more at the provider, both drawn uniformly per request.
    ``retry_after_date``: the server sends Retry-After as an HTTP-date, as the sandbox does with
    ``--retry-after-date``; the value is the wall clock's time when the fake clock reads 0, so
    that whole wall seconds fall anywhere in the limiter's windows, as they do on a machine.
    None: delay-seconds.
    """
    clock = FakeClock()
    clock.advance(start)  # where the server's fixed windows fall relative to the first request
    pacer = Pacer(rate_per_minute, clock, adaptive=adaptive)
    draw = random.Random(seed)
    todo = list(range(rows))
    result = Imported(elapsed=0.0)

    async def worker() -> None:
        while todo:
            todo.pop()
            while True:
                await pacer.acquire()
                sent_at = clock.now()
                result.sent.append(sent_at)
                way = draw.uniform(*transit)
                await asyncio.sleep(way)
                wait = limiter.take("key", clock.now())
                if wait == 0.0:
                    result.admitted.append(clock.now())
                    await asyncio.sleep(draw.uniform(*service) + way)
                    break
                await asyncio.sleep(way)
                retry_after = _retry_after(wait, clock.now() - way, clock.now(), retry_after_date)
                result.refused += 1
                result.windows.append((clock.now(), clock.now() + retry_after))
                pacer.pause_for(retry_after)
                pacer.throttled(sent_at)
                await clock.sleep(retry_after)

    async def main() -> float:
        began = clock.now()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return clock.now() - began

    result.elapsed = clock.run(main())
    rate = pacer.rate_per_minute
    result.final_rate_per_second = None if rate is None else rate / 60
    return result


def _retry_after(wait: float, refused_at: float, now: float, wall_at_zero: float | None) -> float:
    """What the client waits after a refusal at ``refused_at`` whose answer arrives at ``now``.

    Whole seconds, at least one, as the sandbox announces them. As an HTTP-date (the wall clock
    reading ``wall_at_zero`` at the fake clock's 0) the server drops the fraction of the second,
    as the sandbox does, and the client waits to the end of the second named plus its margin
    (``importer.send.retry.parse_retry_after``).
    """
    seconds = float(max(1, math.ceil(wait)))
    if wall_at_zero is None:
        return seconds
    named = math.floor(wall_at_zero + refused_at + seconds) - wall_at_zero
    return named + HTTP_DATE_RESOLUTION + HTTP_DATE_MARGIN - now
