"""How fast to send: the rate controller of the local pacer and of the one shared through Redis.

The controller is pure: a small ``RateState`` goes in with an event, a new one comes out. The
local ``Pacer`` keeps its state in memory; the ``SharedPacer`` keeps it in a Redis hash and
replaces it only if nobody changed it meanwhile, so every process sharing a key runs this same
code on the same state and the two pacers cannot drift apart in how they learn.

A told rate is a ceiling, not a promise: the server's limiter may count in fixed or sliding
windows, where requests spaced exactly at the limit still put one too many in a window now and
then. So the pacer runs ``HEADROOM`` under it, and a 429 at that pace lowers the rate
(multiplicative decrease) that then climbs back slowly (additive increase) to where it started.

With ``adaptive`` (``--rate auto``) the limit is unknown. The rate doubles every 10 ms the
pacer holds the workers back until the first 429; then each 429 cuts it to what the server let
through in the second before, and a cut that went deeper than the new target (just
under that estimate) is undone within seconds. An account's pacer learns from its 408s the same
way.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields, replace

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
MAX_RATE_PER_SECOND = 10_000.0
ACCOUNT_START_RATE_PER_MINUTE = MAX_RATE_PER_SECOND * 60
"""Where an account's adaptive pacer starts: as fast as a pacer goes. The key's pacer probes for
the key's limit; an account's learns the provider's from its first 408. Slow-starting beside
the key's, it held the second request back a whole slot of the start rate (60 ms), and the
key's pacer, not having held it, did not grow and held the third as long: the first requests
trickled out for 120 ms, long enough for a fixed window to end among them, and the first 429
then counted the window before's requests with its own."""
MIN_RATE_PER_SECOND = 1.0 / 60.0

# Before the first 429 the limit is unknown: double the rate every 10 ms the pacer is what holds
# the workers back (TCP slow start, in time rather than round trips). Steep, because until it
# gets there a latency-bound import runs below what its concurrency could do, and because the
# first 429 is measured against the second before it: the longer the climb, the likelier a fixed
# window began during it, whose count then holds what the window before let through as well.
# Doubling every tenth of a second, the climb from 16.7/s to a limit of 50 took half a second,
# and where a window began during it the rate was trimmed a step a pause (the sandbox's fixed
# windows with HTTP-date Retry-After: up to 1.3 x the bound). Every 10 ms, the climb is over
# within the first request's slot at the start rate (60 ms) and the burst it then lets out
# (30 ms against the sandbox): a window begins during it in about one import in eleven. The
# model of an import (tests/pacing_model.py, 320 imports against fixed windows with HTTP-date
# Retry-After) took 1.057 x the bound on average and 1.18 at worst, against 1.068 and 1.27 when
# doubling every 30 ms. The cost: against a bucket, the first pause starts sooner, with fewer
# requests through before it.
_SLOW_START_DOUBLING_SECONDS = 0.01
# What got through is counted over the second before the refused request left. When that is
# clearly less than the pacer sent, a window or a log was full: what got through is the limit.
_LOOKBACK_SECONDS = 1.0
_FULL_WINDOW = 0.95
# The requests at either end of that second may have reached the server this much later or
# earlier than they left here (the event loop, the network): count that many fewer.
_MISCOUNT_SECONDS = 0.02
# Otherwise everything sent in that second got through (a bucket's burst was draining), which
# only says the limit is below the rate: cut to what got through since the last cut, pause
# included, but not below this share of the rate, and aim just under it.
# Fixed windows land here too, when the first 429's second straddled the window that filled and
# the tail of the one before, which also got through: the estimate runs over by that tail, and
# the rate held at it is refused a window or two after the pause. At a steady rate any second
# holds as many requests as the rate, and where the window that filled began is not seen, so
# this refusal cannot say how far over the rate is: it is trimmed a step at a time. (Placing
# the windows from both refusals' counts was tried: a few milliseconds' jitter in when requests
# reach the limiter, or between the clocks of processes sharing a pacer, moved them enough to
# aim too low about as often as it helped, and without another 429 a target stays put. The
# first refusal after slow start's pause is the exception: see ``_AGREE``.)
_DRAINED_CUT = 0.85
# With an HTTP-date Retry-After the first pause ends anywhere in a window, so the refusal of the
# first estimate's rate after it usually counts the end of the window before as well, and
# trimming a step a pause took 4 to 6 pauses of 1.1 to 2.1 s each. But that refusal and slow
# start's were counted by windows of a second falling at the same place: where the count back
# to slow start's refusal and the count back to this one agree, a window began, and the count
# is the limit. Slow start's count falls steeply with where the window began and the held
# rate's slowly, so a few milliseconds of jitter move where they agree by under a request at
# the held rate (two refusals at held rates fall alike, and jitter moves it far). Where slow
# start was near the held rate when the window began, the counts agree within ``_AGREE`` over
# a stretch: its middle, which may be a few requests off either way. Below ``_AGREE`` over the
# margin an estimate runs under (``HEADROOM`` and the miscount: 25 requests), one request more
# or less is more than the margin, and windows not a second long (the sandbox counts 16.7/s
# in windows of 16 requests) drift off the place: such a refusal is trimmed as before. So is one
# where places apart from that stretch agree too: slow start's first estimate was then already
# near the limit, its count and the held rate's fall alike, and no place is pinned (against the
# sandbox such a place cut 51.9/s to 39.2 for a limit of 50, and the run took 1.3 × the bound).
_AGREE = 1
# A rate over a window's limit is refused within two windows of sending at it; a refusal after
# the rate was held that long, with everything before it let through, is a stray (requests that
# reached the server closer together than they left, another client's burst): step down by
# the headroom rather than cut again as if the estimate were wrong.
_STRAY_AFTER_SECONDS = 2.0
# ... held: not risen by more than this factor since it settled (a cut, or the last rise).
_SETTLED = 1.01
# The premise fails for a token bucket: a pause refills its burst, which then lets a rate over
# the limit through for burst / (rate - limit) seconds, and the refusal looks like a stray. While
# the pause is no longer than the burst takes to refill, running over costs nothing (the burst
# is spent, then refilled by the pause). A longer pause (an HTTP-date Retry-After names a whole
# second and is waited out to that second's end: 0.1 to 1.1 s more) is time the limit goes unused
# every few seconds, so such a refusal aims at what got through since the pause ended, less a
# burst of this many seconds of it (the usual burst: the sandbox's, and a second's worth of a
# window's limit).
_BURST_SECONDS = 1.0
# That reading and slow start's refusal must tell of the same bucket, to within this share.
# Fixed windows whose first estimate ran a request or two over the limit refuse it a little
# over 2 s after the pause, where taking a burst from what got through since cut too deep (the
# model: 50.9/s to 33.7 for a limit of 50, the import 1.55 x the bound); such a refusal reads as
# a bucket well under what slow start's climb got through (there, 34 against 44), and is taken
# for a stray. A bucket full when slow start began reads the same both ways (when it was not,
# slow start's reading is lower, and the burst is taken off as before).
_BUCKET_AGREES = 0.9
# After a cut, the rate closes this share of the gap to its target each second the pacer binds:
# a cut that went too deep is undone within seconds instead of at 1 % a second.
_CLOSE_GAP_PER_SECOND = 0.8
# What is remembered of the requests sent, to count what got through.
HISTORY_SECONDS = 10.0


@dataclass(frozen=True)
class RateConfig:
    """What one pacer was told: a ceiling (requests/s, inf: none) or to learn from ``start``."""

    adaptive: bool
    ceiling: float
    start: float

    @classmethod
    def told(cls, rate_per_minute: float | None, *, adaptive: bool, headroom: float) -> RateConfig:
        """``--rate N`` (paced ``headroom`` under it), None (no rate), or auto (from N)."""
        if adaptive:
            start = (rate_per_minute or DEFAULT_START_RATE_PER_MINUTE) / 60.0
            return cls(adaptive=True, ceiling=math.inf, start=start)
        told = math.inf if rate_per_minute is None else rate_per_minute / 60.0
        ceiling = told * (1 - headroom)
        return cls(adaptive=False, ceiling=ceiling, start=ceiling)


@dataclass(frozen=True)
class RateState:
    """Everything the controller remembers between events, in plain numbers (Redis keeps them).

    ``grown_to``: the time up to which growth has been counted, so that two callers reporting
    overlapping stretches of waiting grow the rate once. ``settled_*``: the rate last held and
    since when (after a cut, from the end of the pause). ``counted_*``: the second a cut from a
    full window counted as got through; refusals that come in later for requests sent in it
    lower the target, since it had counted them as admitted. ``first_estimate``: the target is
    still the one the first 429 gave, nothing sent since that pause having been refused.
    """

    rate: float
    slow_start: bool = True
    target: float = math.inf
    last_cut: float = -math.inf
    counted_from: float = math.inf
    counted_to: float = math.inf
    grown_to: float = -math.inf
    settled_rate: float = 0.0
    settled_at: float = -math.inf
    first_estimate: bool = False

    def to_fields(self) -> dict[str, str]:
        return {name: repr(float(value)) for name, value in asdict(self).items()}

    @classmethod
    def from_fields(cls, found: dict[str, str]) -> RateState | None:
        """The state from ``to_fields``'s strings; None when any is missing."""
        try:
            values = {f.name: float(found[f.name]) for f in fields(cls)}
        except (KeyError, ValueError):
            return None
        flags = {name: bool(values[name]) for name in ("slow_start", "first_estimate")}
        return cls(**{**values, **flags})  # type: ignore[arg-type]


def initial(config: RateConfig) -> RateState:
    return RateState(rate=config.start)


class History:
    """When requests were granted and which of them were refused, over ``HISTORY_SECONDS``."""

    def __init__(self, sent: Iterable[float] = (), refused: Iterable[float] = ()) -> None:
        self._sent = deque(sorted(sent))
        self._refused = deque(sorted(refused))

    def granted(self, now: float) -> None:
        self._sent.append(now)
        while self._sent[0] < now - HISTORY_SECONDS:
            self._sent.popleft()

    def refuse(self, sent_at: float, now: float) -> None:
        self._refused.append(sent_at)
        while self._refused[0] < now - HISTORY_SECONDS:
            self._refused.popleft()

    def first_sent(self) -> float:
        return self._sent[0] if self._sent else math.inf

    def first_from(self, start: float) -> float:
        """When the first request granted at or after ``start`` was sent (inf: none)."""
        return next((t for t in self._sent if t >= start), math.inf)

    def through(self, start: float, end: float) -> int:
        """Requests sent in [start, end) that were not refused (so far as is known)."""
        sent = sum(start <= t < end for t in self._sent)
        return sent - sum(start <= t < end for t in self._refused)

    def sent_between(self, start: float, end: float) -> list[float]:
        """When the requests granted in [start, end) were sent, in order."""
        return [t for t in self._sent if start <= t < end]

    def counter(self) -> Callable[[float, float], int]:
        """``through`` for many intervals: sorted once, then a binary search per count."""
        sent, refused = list(self._sent), sorted(self._refused)

        def through(start: float, end: float) -> int:
            granted = bisect_left(sent, end) - bisect_left(sent, start)
            return granted - (bisect_left(refused, end) - bisect_left(refused, start))

        return through


def clamp(config: RateConfig, rate: float) -> float:
    return min(max(rate, MIN_RATE_PER_SECOND), MAX_RATE_PER_SECOND, config.ceiling)


def advance(
    config: RateConfig, state: RateState, now: float, *, binding: bool, since: float = -math.inf
) -> RateState:
    """A grant at ``now``; ``binding``: the pacer held it back since ``since``, so it may grow."""
    start = max(state.grown_to, since)
    rate = state.rate
    if binding and now > start and not math.isinf(rate):
        rate = clamp(config, _grown(config, state, now - start))
    grown_to = max(state.grown_to, now)
    # One new state, not two: every request sent makes one for each of its two pacers.
    if rate > state.settled_rate * _SETTLED:
        return replace(state, rate=rate, grown_to=grown_to, settled_rate=rate, settled_at=now)
    return replace(state, rate=rate, grown_to=grown_to)


def paused(state: RateState, until: float) -> RateState:
    """Waiting out a pause is not the rate holding the workers back: no growth before ``until``."""
    return replace(state, grown_to=max(state.grown_to, until))


def refused(
    config: RateConfig,
    state: RateState,
    history: History,
    sent_at: float,
    now: float,
    *,
    resume_at: float,
) -> RateState | None:
    """The state after the request granted at ``sent_at`` was refused (already in ``history``).

    ``resume_at``: when the pause this refusal announced ends. None when it changes nothing: no
    rate, or a request sent before the last cut, which says nothing about the rate since.
    """
    changed = _refused(config, state, history, sent_at, now, pause=resume_at - now)
    if changed is None or changed.last_cut != now:
        return changed
    return replace(changed, settled_rate=changed.rate, settled_at=max(now, resume_at))


def _refused(
    config: RateConfig,
    state: RateState,
    history: History,
    sent_at: float,
    now: float,
    *,
    pause: float,
) -> RateState | None:
    if math.isinf(state.rate):
        return None
    if not config.adaptive:
        if sent_at < state.last_cut:
            return None
        return replace(state, rate=clamp(config, state.rate * _TOLD_CUT), last_cut=now)
    if sent_at < state.last_cut:
        if not state.counted_from <= sent_at < state.counted_to:
            return None
        target = state.target - (1 - HEADROOM) / _LOOKBACK_SECONDS
        return replace(state, target=target, rate=clamp(config, min(state.rate, target)))
    began = history.first_sent() if state.slow_start else max(state.last_cut, now - HISTORY_SECONDS)
    # Refusals of requests sent before the first pause ended belong to the first estimate.
    first = state.slow_start or (state.first_estimate and sent_at < state.settled_at)
    cut = replace(state, slow_start=False, last_cut=now, first_estimate=first)
    window = sent_at - _LOOKBACK_SECONDS
    recent = history.through(window, sent_at) / _LOOKBACK_SECONDS
    # Counted back to the run's first request, nothing sent earlier can have been miscounted:
    # a request sent just before the refused one and refused after it lowers the target later.
    miscount = 0.0 if state.slow_start and history.first_sent() >= window else _MISCOUNT_SECONDS
    counted = recent * (1 - miscount / _LOOKBACK_SECONDS)
    limit = None
    # The first refusal of the first estimate's rate, sent soon enough to be no stray.
    if state.first_estimate and not first and sent_at - state.settled_at <= _STRAY_AFTER_SECONDS:
        limit = _window_limit(history, state.counted_to, sent_at)
    if limit is not None and limit < recent:
        target = limit * (1 - HEADROOM)
        return replace(
            cut, counted_from=window, counted_to=sent_at, target=target, rate=clamp(config, target)
        )
    if recent < _FULL_WINDOW * state.rate:
        target = counted * (1 - HEADROOM)
        return replace(
            cut, counted_from=window, counted_to=sent_at, target=target, rate=clamp(config, target)
        )
    cut = replace(cut, counted_from=math.inf, counted_to=math.inf)
    if not state.slow_start and sent_at - state.settled_at > _STRAY_AFTER_SECONDS:
        target = _stray_target(state, history, sent_at, pause)
        return replace(cut, target=target, rate=clamp(config, target))
    ceiling = min(state.rate, counted)
    since_cut = history.through(began, sent_at) / max(now - began, 1e-9)
    target = ceiling * (1 - HEADROOM)
    rate = min(target, max(since_cut, _DRAINED_CUT * ceiling))
    return replace(cut, target=target, rate=clamp(config, rate))


def _stray_target(state: RateState, history: History, sent_at: float, pause: float) -> float:
    """The target after a refusal long after the rate settled, everything before it let through."""
    stepped = min(state.rate, state.target) * (1 - HEADROOM)
    # A stray after a later estimate is taken for one: only the first estimate can have counted
    # a burst, so a genuine stray soon after a long pause costs a deep cut at most once a run.
    if not state.first_estimate or pause <= _BURST_SECONDS * _SETTLED:
        return stepped
    # From the first request after the pause: a pause extended after the cut (a later refusal
    # with a later date) ends after ``settled_at``.
    resumed = min(history.first_from(state.settled_at), sent_at)
    burst = _BURST_SECONDS
    if history.first_sent() > state.settled_at:
        # Held longer than the history reaches back: the burst was spent over the whole time
        # held, of which only this end is counted (a first estimate a few requests over a
        # bucket's limit takes over 10 s to spend it, and a whole burst less cut 2 % too deep).
        burst *= (sent_at - resumed) / (sent_at - state.settled_at)
    spent = history.through(resumed, sent_at) / (sent_at - resumed + burst)
    if spent < _BUCKET_AGREES * _slow_start_bucket(state, history):
        return stepped
    return min(stepped, spent * (1 - HEADROOM))


def _slow_start_bucket(state: RateState, history: History) -> float:
    """The limit of a bucket holding ``_BURST_SECONDS`` of it, full when slow start began, that
    refused slow start's request at ``counted_to``: slow start got the burst through and what
    refilled until then. 0 when that refusal is not known."""
    first, began = state.counted_to, history.first_sent()
    if math.isinf(first) or began >= first:
        return 0.0
    return history.through(began, first) / (first - began + _BURST_SECONDS)


def _window_limit(history: History, first_at: float, sent_at: float) -> float | None:
    """The limit of windows of a second that refused the requests sent at ``first_at`` (slow
    start's, counted in full) and at ``sent_at`` (after the pause), a second's worth; None when
    no place for the windows agrees with both (see ``_AGREE``)."""
    if math.isinf(first_at):
        return None
    span = _LOOKBACK_SECONDS
    through = history.counter()
    # Per place a window may begin (at a request sent in the second before the first refusal,
    # latest first): what got through from there to the first refusal, and from the same place
    # a whole number of seconds later to this one. Neither window before the refused ones was
    # refused: a place where one held more than the count is none (inf, never agreeing).
    counts = []
    for start in reversed(history.sent_between(first_at - span, first_at)):
        later = start + math.floor((sent_at - start) / span) * span
        one, two = through(start, first_at), through(later, sent_at)
        before = max(through(start - span, start) - one, through(later - span, later) - two)
        counts.append((one, two) if before <= _AGREE else (math.inf, -math.inf))
    agree = next((i for i, (one, two) in enumerate(counts) if two <= one < math.inf), None)
    if agree is None or counts[agree][0] - counts[agree][1] > _AGREE:
        return None
    if counts[agree][1] < _AGREE / (HEADROOM + _MISCOUNT_SECONDS / span):
        return None

    def agrees(i: int) -> bool:
        return 0 <= i < len(counts) and abs(counts[i][0] - counts[i][1]) <= _AGREE

    low = high = agree
    while agrees(low - 1):
        low -= 1
    while agrees(high + 1):
        high += 1
    # Where the first estimate was already near the limit, slow start's count and the held
    # rate's fall alike, and places apart from this stretch agree too: no place is pinned.
    if any(agrees(i) for i in range(len(counts)) if not low <= i <= high):
        return None
    return (counts[low][1] + counts[high][1]) / (2 * span)


def _grown(config: RateConfig, state: RateState, seconds: float) -> float:
    rate = state.rate
    if not config.adaptive:
        return rate + config.ceiling * _TOLD_RECOVERY_PER_SECOND * seconds
    if state.slow_start:
        doubled: float = rate * 2.0 ** (seconds / _SLOW_START_DOUBLING_SECONDS)
        return doubled
    if rate >= state.target:
        return rate
    left: float = (1 - _CLOSE_GAP_PER_SECOND) ** seconds
    return rate + (state.target - rate) * (1 - left)
