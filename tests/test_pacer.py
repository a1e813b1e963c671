from __future__ import annotations

import asyncio
import math

import pytest

from importer.send.pacer import DEFAULT_START_RATE_PER_MINUTE, Pacer, pacer_for
from tests.fakes import FakeClock


def _grant_times(clock: FakeClock, pacer: Pacer, callers: int) -> list[float]:
    """Start ``callers`` acquires at once; when each was let through, in call order."""
    times: list[float] = [math.nan] * callers

    async def one(index: int) -> None:
        await pacer.acquire()
        times[index] = clock.now()

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(callers)))

    clock.run(main())
    return times


def test_spaces_requests_to_the_rate() -> None:
    clock = FakeClock()
    assert _grant_times(clock, Pacer(60, clock), 4) == [0.0, 1.0, 2.0, 3.0]


def test_burst_lets_that_many_through_back_to_back() -> None:
    clock = FakeClock()
    assert _grant_times(clock, Pacer(60, clock, burst=3), 5) == [0.0, 0.0, 0.0, 1.0, 2.0]


def test_unlimited_pacer_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock)
    assert _grant_times(clock, pacer, 50) == [0.0] * 50
    assert clock.sleeps == []
    assert pacer.rate_per_minute is None
    assert pacer.stats.granted == 50


def test_sequential_callers_are_spaced_from_their_last_grant() -> None:
    clock = FakeClock()
    pacer = Pacer(120, clock)
    times = []

    async def main() -> None:
        for pause in (0.0, 0.1, 2.0, 0.0):
            await clock.sleep(pause)
            await pacer.acquire()
            times.append(clock.now())

    clock.run(main())
    assert times == pytest.approx([0.0, 0.5, 2.5, 3.0])


def test_pause_holds_the_whole_pool_and_releases_it_spaced_in_call_order() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock)
    order: list[tuple[int, float]] = []

    async def worker(index: int) -> None:
        await clock.sleep(index * 0.001)  # arrive in index order
        await pacer.acquire()
        order.append((index, round(clock.now(), 3)))

    async def main() -> None:
        pacer.pause_for(10.0)
        await asyncio.gather(*(worker(i) for i in range(5)))

    clock.run(main())
    assert order == [(0, 10.0), (1, 11.0), (2, 12.0), (3, 13.0), (4, 14.0)]
    assert (pacer.stats.pauses, pacer.stats.paused_seconds) == (1, 10.0)


def test_pause_that_starts_while_a_caller_waits_for_its_slot_delays_it() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock)
    times: list[float] = []

    async def caller() -> None:
        await pacer.acquire()  # t=0
        await pacer.acquire()  # its slot is t=1, but a 429 at t=0.5 pauses the pool until 5.5
        times.append(clock.now())

    async def throttled_elsewhere() -> None:
        await clock.sleep(0.5)
        pacer.pause_for(5.0)

    async def main() -> None:
        await asyncio.gather(caller(), throttled_elsewhere())

    clock.run(main())
    assert times == [5.5]


def test_pause_extends_but_never_shortens() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock)

    async def main() -> float:
        pacer.pause_for(30.0)
        pacer.pause_for(5.0)  # a shorter Retry-After from another worker must not cut it
        await clock.sleep(10.0)
        pacer.pause_for(30.0)  # now ends at 40
        await pacer.acquire()
        return clock.now()

    assert clock.run(main()) == 40.0
    assert pacer.paused_until == 40.0
    assert (pacer.stats.pauses, pacer.stats.paused_seconds) == (1, 40.0)


def test_separate_pauses_are_counted_separately() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock)

    async def main() -> None:
        pacer.pause_for(2.0)
        await pacer.acquire()
        await clock.sleep(5.0)
        pacer.pause_for(3.0)
        await pacer.acquire()

    clock.run(main())
    assert (pacer.stats.pauses, pacer.stats.paused_seconds) == (2, 5.0)
    assert pacer.stats.waited_seconds == 5.0


def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock)
    times: list[float] = []

    async def main() -> None:
        await pacer.acquire()  # t=0, next slot t=1
        waiting = asyncio.create_task(pacer.acquire())
        queued = asyncio.create_task(pacer.acquire())
        await clock.sleep(0.5)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await queued
        times.append(clock.now())
        await pacer.acquire()
        times.append(clock.now())

    clock.run(main())
    assert times == [1.0, 2.0]


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0, FakeClock())
    with pytest.raises(ValueError, match="burst"):
        Pacer(60, FakeClock(), burst=0)


# -- adaptive ---------------------------------------------------------------------------------


def test_a_fixed_pacer_ignores_throttles() -> None:
    clock = FakeClock()
    pacer = Pacer(600, clock)
    pacer.throttled(sent_at=0.0)
    assert pacer.rate_per_minute == 600
    assert (pacer.stats.throttles, pacer.stats.rate_cuts) == (1, 0)


def test_adaptive_starts_at_stackones_limit_and_doubles_while_it_holds_workers_back() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock, adaptive=True)
    assert pacer.rate_per_minute == DEFAULT_START_RATE_PER_MINUTE

    async def main() -> None:
        await asyncio.gather(*(pacer.acquire() for _ in range(40)))

    clock.run(main())
    # slow start: 40 back-to-back requests starting at 16.7/s took far less than 40 / 16.7 s
    assert clock.now() < 1.0
    assert pacer.rate_per_minute is not None
    assert pacer.rate_per_minute > 4 * DEFAULT_START_RATE_PER_MINUTE


def test_adaptive_does_not_grow_while_the_workers_are_the_bottleneck() -> None:
    clock = FakeClock()
    pacer = Pacer(600, clock, adaptive=True)

    async def main() -> None:
        for _ in range(20):
            await pacer.acquire()
            await clock.sleep(1.0)  # one slow request at a time: 1/s, far below 10/s

    clock.run(main())
    assert pacer.rate_per_minute == 600


def test_first_throttle_halves_later_ones_cut_to_what_got_through() -> None:
    clock = FakeClock()
    pacer = Pacer(6000, clock, adaptive=True)  # 100/s

    async def main() -> None:
        pacer.throttled(sent_at=clock.now())
        assert pacer.rate_per_minute == pytest.approx(3000)
        stale = clock.now()
        await clock.sleep(0.1)
        pacer.throttled(sent_at=stale - 0.01)  # in flight before the cut: already accounted for
        assert pacer.rate_per_minute == pytest.approx(3000)
        # 41 requests get through over the next two seconds, then a 429
        for _ in range(41):
            await pacer.acquire()
        await clock.sleep(2.1 - (clock.now() - stale))
        pacer.throttled(sent_at=clock.now() - 0.001)

    clock.run(main())
    assert pacer.rate_per_minute == pytest.approx(40 / 2.1 * 60)
    assert (pacer.stats.throttles, pacer.stats.rate_cuts) == (3, 2)


class _TokenBucketServer:
    """A StackOne-like limit: ``rate``/s, a one-second burst, 429 with Retry-After in whole seconds.

    Counts requests that arrive inside an announced Retry-After window. ``grace`` forgives the ones
    that were already on their way when the window was announced (as the sandbox does).
    """

    def __init__(self, clock: FakeClock, rate: float, grace: float = 0.5) -> None:
        self.clock = clock
        self.rate = rate
        self.tokens = rate
        self.updated = 0.0
        self.grace = grace
        self.window: tuple[float, float] = (-math.inf, -math.inf)
        self.answered: list[int] = []
        self.violations = 0

    def answer(self) -> float | None:
        now = self.clock.now()
        announced, closes = self.window
        if announced + self.grace < now < closes:
            self.violations += 1
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.answered.append(201)
            return None
        retry_after = max(1, math.ceil((1 - self.tokens) / self.rate))
        self.window = (now, max(closes, now + retry_after))
        self.answered.append(429)
        return float(retry_after)


def _import_through(
    server_rate: float, rows: int, workers: int, latency: float
) -> tuple[float, _TokenBucketServer, Pacer]:
    """What the sender does, minus HTTP: acquire, send, and on a 429 pause the pool and retry."""
    clock = FakeClock()
    server = _TokenBucketServer(clock, server_rate)
    pacer = Pacer(None, clock, adaptive=True)
    todo = list(range(rows))

    async def worker() -> None:
        while todo:
            todo.pop()
            while True:
                await pacer.acquire()
                sent_at = clock.now()
                await asyncio.sleep(latency / 2)
                retry_after = server.answer()
                await asyncio.sleep(latency / 2)
                if retry_after is None:
                    break
                pacer.pause_for(retry_after)
                pacer.throttled(sent_at)
                await clock.sleep(retry_after)

    async def main() -> float:
        await asyncio.gather(*(worker() for _ in range(workers)))
        return clock.now()

    return clock.run(main()), server, pacer


@pytest.mark.parametrize("workers", [4, 16, 64])
def test_adaptive_pacer_finds_an_unknown_limit(workers: int) -> None:
    # The benchmark's scenario: 1000 rows, a server allowing 50/s (bound 20 s), rate not given.
    elapsed, server, pacer = _import_through(50.0, 1000, workers, latency=0.002)
    assert elapsed <= 1.15 * 20.0
    assert server.violations == 0
    assert server.answered.count(429) <= 10
    assert pacer.rate_per_minute is not None
    assert 0.9 * 50 <= pacer.rate_per_minute / 60 <= 1.3 * 50


@pytest.mark.parametrize(("server_rate", "rows"), [(16.7, 600), (200.0, 4000)])
def test_adaptive_pacer_converges_on_other_limits(server_rate: float, rows: int) -> None:
    elapsed, server, pacer = _import_through(server_rate, rows, 16, latency=0.002)
    assert elapsed <= 1.15 * rows / server_rate
    assert server.violations == 0
    assert pacer.rate_per_minute is not None
    assert 0.9 * server_rate <= pacer.rate_per_minute / 60 <= 1.3 * server_rate


# -- registry ---------------------------------------------------------------------------------


def test_one_pacer_per_api_key_per_event_loop() -> None:
    clock = FakeClock()

    async def main() -> tuple[Pacer, Pacer, Pacer]:
        first = pacer_for("key-a", 1000, clock)
        again = pacer_for("key-a", 60, clock)  # the first caller's settings win
        other = pacer_for("key-b", 1000, clock)
        return first, again, other

    first, again, other = asyncio.run(main())
    assert first is again
    assert first is not other
    assert first.rate_per_minute == 1000
    later, _, _ = asyncio.run(main())
    assert later is not first  # a new event loop gets its own pacer (asyncio.Lock is loop-bound)
    assert "key-a" not in repr(vars(first))
