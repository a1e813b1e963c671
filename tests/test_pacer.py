from __future__ import annotations

import asyncio
import math

import pytest

from importer.sandbox.limits import LIMITERS, make_limiter
from importer.send import rate_control
from importer.send.pacer import DEFAULT_START_RATE_PER_MINUTE, HEADROOM, Pacer, pacer_for
from importer.send.rate_control import HISTORY_SECONDS, History, RateConfig, RateState
from tests.fakes import FakeClock
from tests.pacing_model import Imported, import_through


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
    assert _grant_times(clock, Pacer(60, clock, headroom=0.0), 4) == [0.0, 1.0, 2.0, 3.0]


def test_burst_lets_that_many_through_back_to_back() -> None:
    clock = FakeClock()
    assert _grant_times(clock, Pacer(60, clock, burst=3, headroom=0.0), 5) == [
        0.0,
        0.0,
        0.0,
        1.0,
        2.0,
    ]


def test_unlimited_pacer_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock)
    assert _grant_times(clock, pacer, 50) == [0.0] * 50
    assert clock.sleeps == []
    assert pacer.rate_per_minute is None
    assert pacer.stats.granted == 50


def test_sequential_callers_are_spaced_from_their_last_grant() -> None:
    clock = FakeClock()
    pacer = Pacer(120, clock, headroom=0.0)
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
    pacer = Pacer(60, clock, headroom=0.0)
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
    pacer = Pacer(60, clock, headroom=0.0)
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
    pacer = Pacer(60, clock, headroom=0.0)
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


# -- a told rate ---------------------------------------------------------------------------


def test_a_told_rate_is_paced_a_little_under() -> None:
    clock = FakeClock()
    pacer = Pacer(60, clock)
    assert pacer.rate_per_minute == pytest.approx(60 * (1 - HEADROOM))
    assert _grant_times(clock, pacer, 3) == pytest.approx([0.0, 1 / 0.98, 2 / 0.98])


def test_a_429_at_a_told_pace_cuts_it_and_it_climbs_back_slowly_to_where_it_started() -> None:
    clock = FakeClock()
    pacer = Pacer(6000, clock, headroom=0.0)  # 100/s
    rates: list[float] = []

    async def main() -> None:
        pacer.throttled(sent_at=clock.now())
        pacer.throttled(sent_at=clock.now() - 0.01)  # in flight before the cut: no second cut
        rates.append(pacer.rate_per_minute or 0)
        for _ in range(200):  # the workers keep the pacer busy: about 2 s
            await pacer.acquire()
        rates.append(pacer.rate_per_minute or 0)
        for _ in range(1000):
            await pacer.acquire()
        rates.append(pacer.rate_per_minute or 0)

    clock.run(main())
    cut, later, last = rates
    assert cut == pytest.approx(6000 * 0.95)
    # 1 % of the told rate a second: about 2 % back after 2 s, never above the told rate
    assert 6000 * 0.965 < later < 6000 * 0.98
    assert last == pytest.approx(6000)
    assert (pacer.stats.throttles, pacer.stats.rate_cuts) == (2, 1)


def test_an_unlimited_pacer_ignores_throttles() -> None:
    pacer = Pacer(None, FakeClock())
    pacer.throttled(sent_at=0.0)
    assert pacer.rate_per_minute is None


# -- --rate auto ------------------------------------------------------------------------------


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


def _send_for(clock: FakeClock, pacer: Pacer, seconds: float, every: float) -> None:
    """Acquire once every ``every`` seconds for ``seconds`` (the pacer never binds)."""

    async def main() -> None:
        end = clock.now() + seconds
        while clock.now() < end - 1e-9:
            await pacer.acquire()
            await clock.sleep(every)

    clock.run(main())


def test_a_429_after_a_full_window_cuts_to_what_got_through_that_second() -> None:
    clock = FakeClock()
    pacer = Pacer(12_000, clock, adaptive=True)  # 200/s, well above the 50/s a window holds
    _send_for(clock, pacer, 2.0, every=0.005)
    refused_at = clock.now() - 0.005
    # Of the last second's 200 requests, only the first 50 of each window got through: the
    # server answered the rest 429, and the pacer hears of the last one first.
    for t in [refused_at - 0.005 * k for k in range(1, 151)]:
        pacer._history.refuse(t, clock.now())
    pacer.throttled(sent_at=refused_at)
    # 2 % fewer than counted (the requests at either end of the second may have reached the
    # server 20 ms off), and 2 % under that
    assert pacer.rate_per_minute == pytest.approx(50 * 0.98 * (1 - HEADROOM) * 60)
    # a refusal that comes later, of a request that second counted as through, lowers it a little
    pacer.throttled(sent_at=refused_at - 0.502)
    assert pacer.rate_per_minute == pytest.approx((50 * 0.98 - 1) * (1 - HEADROOM) * 60)
    # one sent after the refused one says nothing more
    pacer.throttled(sent_at=refused_at + 0.001)
    assert pacer.rate_per_minute == pytest.approx((50 * 0.98 - 1) * (1 - HEADROOM) * 60)


def test_a_429_after_a_second_all_got_through_cuts_to_the_goodput_since_the_last_cut() -> None:
    clock = FakeClock()
    pacer = Pacer(6000, clock, adaptive=True)  # 100/s
    _send_for(clock, pacer, 1.0, every=0.01)
    sent_at = clock.now() - 0.01
    clock.advance(1.0)  # the answer took a second
    pacer.throttled(sent_at=sent_at)  # all 99 before it got through
    # The limit is below 100/s, by how much one second cannot say (99 got through in the 2 s
    # since the start, counted back to the first request, so none fewer): cut to 15 % under
    # that, recover to 2 % under it.
    assert pacer.rate_per_minute == pytest.approx(0.85 * 99 * 60)
    assert pacer._state.target == pytest.approx(99 * (1 - HEADROOM))


def test_a_cut_that_went_too_deep_is_undone_within_seconds() -> None:
    clock = FakeClock()
    pacer = Pacer(6000, clock, adaptive=True)
    _send_for(clock, pacer, 1.0, every=0.01)
    sent_at = clock.now() - 0.01
    clock.advance(1.0)
    pacer.throttled(sent_at=sent_at)
    cut = pacer.rate_per_minute or 0

    async def main() -> None:
        started = clock.now()
        while clock.now() < started + 2.0:
            await pacer.acquire()

    clock.run(main())
    target = pacer._state.target * 60
    # two seconds close 96 % of the gap (80 % a second); 1 % a second would have closed 2 %
    assert pacer.rate_per_minute == pytest.approx(target - 0.04 * (target - cut), rel=0.01)


# -- against each limiter, by the model of tests/pacing_model.py --------------------------------


@pytest.mark.parametrize("kind", list(LIMITERS))
@pytest.mark.parametrize(("limit", "rows"), [(16.7, 400), (50.0, 1000), (200.0, 4000)])
def test_told_the_limit_no_limiter_refuses_and_the_run_takes_the_bound(
    kind: str, limit: float, rows: int
) -> None:
    done = import_through(
        make_limiter(kind, limit * 60, limit),
        rows=rows,
        workers=10,
        rate_per_minute=limit * 60,
        adaptive=False,
        start=0.37,
    )
    assert done.refused == 0
    assert done.elapsed <= 1.03 * rows / limit


def _auto_import(
    kind: str, limit: float, rows: int, start: float, retry_after_date: float | None = None
) -> Imported:
    """``rows`` through ``--rate auto`` and ten workers, against a limiter of ``limit`` a second."""
    return import_through(
        make_limiter(kind, limit * 60, limit),
        rows=rows,
        workers=10,
        rate_per_minute=None,
        adaptive=True,
        start=start,
        retry_after_date=retry_after_date,
    )


@pytest.mark.parametrize("kind", list(LIMITERS))
@pytest.mark.parametrize("start", [0.0, 0.25, 0.5, 0.75])
@pytest.mark.parametrize(("limit", "rows"), [(16.7, 400), (50.0, 1000), (200.0, 4000)])
def test_auto_finds_any_limiter_within_seconds(
    kind: str, start: float, limit: float, rows: int
) -> None:
    done = _auto_import(kind, limit, rows, start)
    bound = rows / limit
    assert done.inside_windows() == []
    # measured: at most 1.090 (fixed windows, sliding), 0.991 (bucket, gcra)
    assert done.elapsed <= 1.15 * bound
    # converged: the second half of the run gets through at the limit, give or take a few %
    # (a bucket lets its burst through once more after each pause; measured: at least 0.92,
    # at 16.7/s, whose windows hold 16 requests in 0.96 s, which a second's count reads as 16)
    assert 0.9 * limit <= done.admitted_per_second(bound / 2, bound * 0.95)
    assert done.refused <= 15  # measured: at most 12


# The slowest ``--rate auto`` run of scenario 1 over the window phases, per limiter: measured
# (see the test below) plus about 1 %.
_SCENARIO_1_AUTO_WORST = {"bucket": 1.01, "gcra": 1.01, "sliding": 1.06, "fixed": 1.06}


@pytest.mark.parametrize("kind", list(LIMITERS))
def test_scenario_1_meets_its_goals_against_every_limiter_whatever_the_window_phase(
    kind: str,
) -> None:
    """The pacing benchmark's first scenario, without its machine: 1,000 rows at 50/s, 10
    workers, with the server's windows starting anywhere in the first request's second."""
    rows, limit = 1000, 50.0
    bound = rows / limit
    for told in (True, False):
        ratios = []
        for phase in [i / 10 for i in range(10)]:
            done = import_through(
                make_limiter(kind, limit * 60, limit),
                rows=rows,
                workers=10,
                rate_per_minute=limit * 60 if told else None,
                adaptive=not told,
                start=phase,
            )
            assert done.inside_windows() == []
            assert done.refused <= 0.01 * len(done.sent)
            ratios.append(done.elapsed / bound)
        if told:
            assert max(ratios) <= 1.03  # measured: 1.020 against every limiter
        else:
            # Measured: a bucket and GCRA 0.991 whatever the phase, a sliding log and fixed
            # windows 1.050 (the first 429's pause, then 4 % under the limit). A fixed window
            # whose boundary falls in slow start's climb would count part of the window before
            # as the limit, which the rate held after the pause overruns: one more 429 (and
            # pause), which places the windows. The climb is short enough that no phase here
            # has one (doubling every tenth of a second: median 1.062, worst 1.084).
            assert sorted(ratios)[len(ratios) // 2] <= 1.06
            assert max(ratios) <= _SCENARIO_1_AUTO_WORST[kind]


# The ``--rate auto`` runs of scenario 1 with Retry-After as an HTTP-date over the window phases
# and where whole wall seconds fall in them, per limiter: (median, worst), measured (see the
# test below) plus about 1 %.
_SCENARIO_1_HTTP_DATE = {
    "bucket": (1.10, 1.125),
    "gcra": (1.10, 1.125),
    "sliding": (1.09, 1.11),
    "fixed": (1.09, 1.19),
}


@pytest.mark.parametrize("kind", list(LIMITERS))
def test_auto_pays_few_pauses_when_retry_after_is_an_http_date(kind: str) -> None:
    """Scenario 1 with Retry-After as an HTTP-date: each pause runs to the end of the whole second
    named plus the client's margin, 0.1 to 1.1 s longer than the second a bucket's burst takes to
    refill, so a rate held over the limit (the burst spent, refused, paused) pays every few
    seconds, and each further estimate costs more than with delay-seconds."""
    rows, limit = 1000, 50.0
    bound = rows / limit
    ratios = []
    for wall in [0.0, 0.2, 0.4, 0.6, 0.8]:
        for phase in [i / 10 for i in range(10)]:
            done = _auto_import(kind, limit, rows, phase, retry_after_date=wall)
            assert done.inside_windows() == []
            ratios.append(done.elapsed / bound)
    # Measured, median and worst: a bucket and GCRA 1.092 and 1.112 (slow start's refusal comes
    # sooner but its pause ends at the same whole second, and the burst it refills takes the
    # first estimate, a few requests over the limit, 13 s to spend, after which the next pause
    # is as long as where that falls in a whole second makes it; doubling every tenth of a
    # second, 1.068 and 1.088); a sliding log 1.080 and 1.100. Fixed windows 1.080 and 1.176,
    # 18 % of the runs over 1.10: a window that begins during slow start's climb is counted in
    # part as the limit, and the refusal after the first pause places the windows from slow
    # start's (rate_control._AGREE) rather than count them as one. The worst runs are where a
    # window began as the climb passed the limit: the first estimate a few requests over, no
    # place standing out, trimmed a step a pause. (Doubling every tenth of a second, the climb
    # passed the limit half as fast: 1.099 and 1.340, 44 % over; before placing the windows,
    # 1.531.)
    median, worst = _SCENARIO_1_HTTP_DATE[kind]
    assert sorted(ratios)[len(ratios) // 2] <= median
    assert max(ratios) <= worst


def _stray_after_a_long_pause(first_estimate: bool) -> float:
    """The target after a refusal 3 s after a 1.6 s pause ended, at a rate of 50/s held since."""
    history = History(sent=[2.0 + k / 50 for k in range(150)])
    config = RateConfig.told(None, adaptive=True, headroom=HEADROOM)
    state = RateState(
        rate=50.0,
        slow_start=False,
        target=50.0,
        last_cut=0.4,
        settled_rate=50.0,
        settled_at=2.0,
        first_estimate=first_estimate,
    )
    after = rate_control.refused(config, state, history, 4.98, 5.0, resume_at=6.6)
    assert after is not None
    return after.target


def test_the_refusal_after_the_first_pause_places_fixed_windows_from_slow_starts() -> None:
    # Windows of a second from 0, 50 requests each; slow start from 0.93 s (doubling every
    # 10 ms, as it does) counts the end of the first window too: 67 requests.
    config = RateConfig.told(None, adaptive=True, headroom=HEADROOM)
    climb: list[float] = []
    t = 0.93
    while sum(s >= 1.0 for s in climb) <= 50:
        climb.append(t)
        t += 1 / (DEFAULT_START_RATE_PER_MINUTE / 60 * 2 ** ((t - 0.93) / 0.01))
    first_at = climb[-1]
    history = History(sent=climb, refused=[first_at])
    first = rate_control.refused(
        config, RateState(rate=1000.0), history, first_at, first_at + 0.005, resume_at=2.7
    )
    assert first is not None
    counted = len(climb) - 1
    assert counted > 60
    # counted back to the first request: none fewer for one at the far end of the second
    assert first.target == pytest.approx(counted * (1 - HEADROOM))
    # From the end of the pause (at 2.7 s) at that rate: 50 requests in the next window, and the
    # one after refused; the second before it counts the end of the window before too.
    rate = first.rate
    held = [2.7 + k / rate for k in range(math.ceil(1.3 * rate))]
    refused_at = next(t for t in held if sum(3.0 <= s < t for s in held) == 50)
    sent = [*climb, *(t for t in held if t <= refused_at)]
    history = History(sent=sent, refused=[first_at, refused_at])
    assert history.through(refused_at - 1.0, refused_at) > 60
    second = rate_control.refused(
        config, first, history, refused_at, refused_at + 0.005, resume_at=refused_at + 1.6
    )
    assert second is not None
    # where both counts agree (where the window began) the limit is 50, to within a request
    assert second.target == pytest.approx(50 * (1 - HEADROOM), abs=1.0)


def test_a_stray_after_a_long_pause_may_cut_deep_only_while_the_first_estimate_holds() -> None:
    # the first estimate may have counted a bucket's burst, refilled by the long pause: aim at
    # what got through since, a burst (a second of it) less
    spent = 149 / (2.98 + 1.0)
    assert _stray_after_a_long_pause(True) == pytest.approx(spent * (1 - HEADROOM))
    # a later one is taken for a stray: a step of the headroom
    assert _stray_after_a_long_pause(False) == pytest.approx(50.0 * (1 - HEADROOM))


def test_fixed_windows_refusing_a_first_estimate_just_over_are_not_read_as_a_bucket() -> None:
    # Fixed windows of 50 a second; slow start climbs from 0.91 s, so the window from 1 s fills
    # and its first estimate counts a few requests of the one before. Resumed at 50.9/s, where
    # whole seconds fall in the windows as they did on the machine that ran the benchmark, it is
    # refused 2.08 s after the pause: a bucket of 34/s would have been refused then too, but
    # slow start's climb got more through than such a bucket holds and refills.
    done = import_through(
        make_limiter("fixed", 50 * 60, 50),
        rows=1000,
        workers=10,
        rate_per_minute=None,
        adaptive=True,
        start=0.91,
        retry_after_date=0.203,
    )
    assert done.inside_windows() == []
    # measured: 1.142, and 49.8/s at the end; read as a bucket, 1.547 and 33.7/s
    assert done.final_rate_per_second is not None
    assert done.final_rate_per_second >= 0.95 * 50 * (1 - HEADROOM)
    assert done.elapsed <= 1.16 * 1000 / 50


def test_a_burst_spent_over_longer_than_the_history_is_not_counted_whole() -> None:
    # A bucket of 50/s holding 50, full when the first pause ends at 2.1 s; the first estimate
    # held since, a few requests over the limit, spends that burst in 13 s and is refused. The
    # history holds the last 10 s of it: a tenth of the burst would have been spent before them.
    held = 50.0 + 50.0 / 13.0
    sent = [2.1 + k / held for k in range(math.ceil(13.0 * held))]
    refused_at = sent[-1]
    history = History(sent=[t for t in sent if t >= refused_at - HISTORY_SECONDS])
    config = RateConfig.told(None, adaptive=True, headroom=HEADROOM)
    state = RateState(
        rate=held,
        slow_start=False,
        target=held,
        last_cut=0.2,
        settled_rate=held,
        settled_at=2.1,
        first_estimate=True,
    )
    after = rate_control.refused(
        config, state, history, refused_at, refused_at + 0.005, resume_at=refused_at + 1.6
    )
    assert after is not None
    # the limit, not the last 10 s less a whole burst (about 48.9, and 48.0 for the target)
    assert after.target == pytest.approx(50.0 * (1 - HEADROOM), abs=0.1)


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
    assert first.rate_per_minute == pytest.approx(1000 * (1 - HEADROOM))
    later, _, _ = asyncio.run(main())
    assert later is not first  # a new event loop gets its own pacer (asyncio.Lock is loop-bound)
    assert "key-a" not in repr(vars(first))
