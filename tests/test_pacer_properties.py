"""Properties of the pacer against the sandbox's own limiters, on the fake clock (Hypothesis).

Whatever the limiter, its parameters, the latencies and the pacer's mode: the requests sent over
a run never outpace the limit (beyond one burst and one round of requests already in flight),
and no request leaves inside a Retry-After window the client has been told about.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.sandbox.limits import LIMITERS, make_limiter
from tests.pacing_model import Imported, import_through


@dataclass(frozen=True)
class Case:
    kind: str
    limit: float  # requests a second
    capacity: float
    rows: int
    workers: int
    told: float | None  # requests a minute; None: --rate auto
    transit: tuple[float, float]
    service: tuple[float, float]
    start: float
    seed: int


@st.composite
def _cases(draw: st.DrawFn) -> Case:
    limit = draw(st.floats(min_value=1.0, max_value=200.0))
    transit_low = draw(st.floats(min_value=0.0, max_value=0.02))
    service_low = draw(st.floats(min_value=0.0, max_value=0.5))
    told = draw(st.one_of(st.none(), st.floats(min_value=0.2, max_value=1.5)))
    return Case(
        kind=draw(st.sampled_from(sorted(LIMITERS))),
        limit=limit,
        capacity=draw(st.floats(min_value=1.0, max_value=max(1.0, 2 * limit))),
        rows=int(min(400, max(20, limit * draw(st.floats(min_value=3, max_value=10))))),
        workers=draw(st.integers(min_value=1, max_value=24)),
        told=None if told is None else told * limit * 60,
        transit=(transit_low, transit_low + draw(st.floats(min_value=0.0, max_value=0.02))),
        service=(service_low, service_low + draw(st.floats(min_value=0.0, max_value=0.5))),
        start=draw(st.floats(min_value=0.0, max_value=10.0)),
        seed=draw(st.integers(min_value=0, max_value=2**16)),
    )


def _run(case: Case) -> Imported:
    return import_through(
        make_limiter(case.kind, case.limit * 60, case.capacity),
        rows=case.rows,
        workers=case.workers,
        rate_per_minute=case.told,
        adaptive=case.told is None,
        transit=case.transit,
        service=case.service,
        seed=case.seed,
        start=case.start,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(_cases())
def test_no_limiter_is_outpaced_and_no_window_is_entered(case: Case) -> None:
    done = _run(case)
    assert done.inside_windows() == []
    # What the limiter would let through over the run, plus what was already on its way when
    # a 429 came back (at most one request per worker).
    span = done.sent[-1] - done.sent[0]
    assert len(done.sent) <= case.limit * span + case.capacity + case.workers + 1
