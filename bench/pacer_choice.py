"""Why the shared pacer is a Lua script and not the ``limits`` library: one measurement.

    .venv/bin/python -m bench.pacer_choice

Starts a redis-server of its own on a free port of 127.0.0.1. ``limits`` answers "allowed or
not" for a request now; a pacer built on it has to poll until allowed, and a window's whole
allowance is let through at its start. The script reserves the next slot instead, so callers
sleep once, in order, spaced by the interval.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from importer.clock import SystemClock
from importer.send.shared_pacer import shared_pacers
from tests.servers import redis_server

CALLERS, EACH, RATE = 4, 50, 50


def busiest_tenth(grants: list[float]) -> int:
    return max(sum(start <= g < start + 0.1 for g in grants) for start in grants)


async def lua(url: str) -> tuple[float, int]:
    pacers = [await shared_pacers(url, "lua", RATE * 60, SystemClock()) for _ in range(CALLERS)]
    grants: list[float] = []

    async def caller(index: int) -> None:
        for _ in range(EACH):
            await pacers[index].key.acquire()
            grants.append(time.monotonic())

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(CALLERS)))
    wall = time.perf_counter() - started
    for shared in pacers:
        await shared.aclose()
    return wall, busiest_tenth(grants)


async def library(url: str) -> tuple[float, int]:
    from limits import parse
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    limiter = MovingWindowRateLimiter(
        RedisStorage(url.replace("redis://", "async+redis://"), implementation="redispy")
    )
    item = parse(f"{RATE}/second")
    grants: list[float] = []

    async def caller() -> None:
        for _ in range(EACH):
            while not await limiter.hit(item, "library"):
                stats = await limiter.get_window_stats(item, "library")
                await asyncio.sleep(max(0.001, stats.reset_time - time.time()))
            grants.append(time.monotonic())

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    return time.perf_counter() - started, busiest_tenth(grants)


def main() -> None:
    total = CALLERS * EACH
    with tempfile.TemporaryDirectory() as folder, redis_server(Path(folder)) as url:
        for name, measure in (("Lua reservation", lua), ("limits moving window", library)):
            wall, busiest = asyncio.run(measure(url))
            print(f"{name}: {total} grants at {RATE}/s in {wall:.2f} s; busiest 0.1 s: {busiest}")


if __name__ == "__main__":
    main()
