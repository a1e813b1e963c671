from __future__ import annotations

import asyncio
import re
from email.utils import formatdate
from typing import Any

import aiohttp
import orjson
import pytest
from aioresponses import CallbackResult

from importer.errors import Code, FatalApiError
from importer.record.outcomes import RowOutcome, Status
from importer.send.client import ApiClient
from importer.send.pacer import Pacer, PacerStats
from importer.send.reach import FIRST_CONTACT_BUDGET, UnreachableError
from importer.send.retry import RetryPolicy
from importer.send.sender import Sender, SendStats, StoppedWaiting
from tests.fakes import FakeApi, FakeClock, reply

BASE = "http://127.0.0.1:9"
POST_URL = f"{BASE}/unified/ats/candidates"
GET_URL = re.compile(r"^http://127\.0\.0\.1:9/unified/ats/candidates\?.*$")
BODY = b'{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}'
EMAIL = "ada@example.com"

Answer = CallbackResult | Exception


def created(candidate_id: str = "c1") -> CallbackResult:
    return reply(201, {"statusCode": 201, "data": {"id": candidate_id, "remote_id": "r1"}})


def throttled(retry_after: str | None = None, status: int = 429) -> CallbackResult:
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return reply(status, {"statusCode": status, "message": "Too many requests"}, headers=headers)


def error(status: int, message: str = "Internal server error", **fields: Any) -> CallbackResult:
    return reply(status, {"statusCode": status, "message": message, **fields})


def found(*candidates: dict[str, Any]) -> CallbackResult:
    return reply(200, {"next": None, "data": list(candidates)})


class Server:
    """Plays scripted answers in order and logs (method, clock time) for every request."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.log: list[tuple[str, float]] = []
        self._script: list[tuple[str, Answer]] = []

    def post(self, *answers: Answer) -> None:
        self._script += [("POST", answer) for answer in answers]

    def get(self, *answers: Answer) -> None:
        self._script += [("GET", answer) for answer in answers]

    def install(self, api: FakeApi) -> None:
        for method, answer in self._script:
            url = POST_URL if method == "POST" else GET_URL
            # Exceptions go in `exception=`: raised from a callback, one would replay forever.
            failure = answer if isinstance(answer, Exception) else None
            api.add(url, method, callback=self._play(method, answer), exception=failure)

    def _play(self, method: str, answer: Answer) -> Any:
        def callback(url: Any, **kwargs: Any) -> CallbackResult | None:
            self.log.append((method, round(self.clock.now(), 6)))
            return None if isinstance(answer, Exception) else answer

        return callback

    def methods(self) -> list[str]:
        return [method for method, _ in self.log]


def run_rows(
    clock: FakeClock,
    server: Server,
    rows: list[tuple[int, str | None]],
    *,
    policy: RetryPolicy | None = None,
    rate: float | None = None,
) -> tuple[list[RowOutcome], SendStats, Pacer]:
    stats = SendStats()

    async def main() -> tuple[list[RowOutcome], Pacer]:
        pacer = Pacer(rate, clock, headroom=0.0)
        async with ApiClient(BASE, "sk_test", "acc_1", clock=clock) as client:
            sender = Sender(client, pacer, policy or RetryPolicy(), clock, stats)
            outcomes = await asyncio.gather(*(sender.send(n, BODY, email) for n, email in rows))
        return list(outcomes), pacer

    with FakeApi() as api:
        server.install(api)
        outcomes, pacer = clock.run(main())
    return outcomes, stats, pacer


def send_one(
    server: Server, email: str | None = EMAIL, **options: Any
) -> tuple[RowOutcome, SendStats]:
    [outcome], stats, _ = run_rows(server.clock, server, [(2, email)], **options)
    return outcome, stats


def reject_of(outcome: RowOutcome) -> tuple[Code, str]:
    [reject] = outcome.rejects
    assert reject.row_number == outcome.row_number
    assert reject.field is None
    assert reject.column is None
    return reject.code, reject.message


def test_201_is_created_with_its_ids() -> None:
    server = Server(FakeClock())
    server.post(created("c1"))
    outcome, stats = send_one(server)
    assert outcome == RowOutcome(2, Status.CREATED, 201, attempts=1, id="c1", remote_id="r1")
    assert stats.requests_by_status == {"201": 1}
    assert server.clock.sleeps == []


def test_429_waits_retry_after_seconds_then_resends() -> None:
    server = Server(FakeClock())
    server.post(throttled("120"), created())
    outcome, stats = send_one(server)
    assert (outcome.status, outcome.attempts, outcome.http_status) == (Status.CREATED, 2, 201)
    assert server.clock.sleeps == [120.0]
    assert server.log == [("POST", 0.0), ("POST", 120.0)]
    assert (stats.retries, stats.waited_seconds) == (1, 120.0)
    assert stats.requests_by_status == {"429": 1, "201": 1}


def test_retry_after_as_http_date_is_honoured() -> None:
    clock = FakeClock()
    server = Server(clock)
    server.post(throttled(formatdate(clock.wall() + 90, usegmt=True)), created())
    outcome, _ = send_one(server)
    assert outcome.status is Status.CREATED
    # to the end of the second the date names, plus a margin
    assert clock.sleeps == [pytest.approx(91.1)]
    assert server.log[-1] == ("POST", pytest.approx(91.1))


def test_408_waits_its_retry_after_too() -> None:
    server = Server(FakeClock())
    server.post(throttled("7", status=408), created())
    outcome, stats = send_one(server)
    assert outcome.status is Status.CREATED
    assert server.clock.sleeps == [7.0]
    assert stats.requests_by_status == {"408": 1, "201": 1}


class GrantsTold:
    """A pacer that grants after ``wait`` seconds and keeps what each refusal told it."""

    def __init__(self, clock: FakeClock, wait: float) -> None:
        self.clock, self.wait = clock, wait
        self.stats = PacerStats()
        self.paused_until = -1.0
        self.granted: list[float] = []
        self.told: list[float] = []

    async def acquire(self) -> float:
        await self.clock.sleep(self.wait)
        self.granted.append(self.clock.now())
        return self.clock.now()

    def pause_for(self, seconds: float) -> None:
        self.paused_until = self.clock.now() + seconds

    def throttled(self, sent_at: float) -> None:
        self.told.append(sent_at)


@pytest.mark.parametrize("status", [429, 408])
def test_a_refusal_tells_each_pacer_the_time_it_granted_the_request(status: int) -> None:
    # The account's pacer grants first, the key's half a second later, and the request leaves
    # after both: told the time it left, the account's pacer would count its own grant of the
    # refused request among those let through before it.
    clock = FakeClock()
    server = Server(clock)
    server.post(throttled("1", status=status), created())
    key, account = GrantsTold(clock, 0.5), GrantsTold(clock, 0.25)

    async def main() -> RowOutcome:
        async with ApiClient(BASE, "sk_test", "acc_1", clock=clock) as client:
            sender = Sender(client, key, RetryPolicy(), clock, SendStats(), account_pacer=account)
            return await sender.send(2, BODY, EMAIL)

    with FakeApi() as api:
        server.install(api)
        outcome = clock.run(main())
    assert outcome.status is Status.CREATED
    told = key if status == 429 else account
    assert told.told == [told.granted[0]]
    assert account.granted[0] < key.granted[0] == server.log[0][1]


def test_without_retry_after_backoff_grows_with_jitter() -> None:
    server = Server(FakeClock())
    server.post(throttled(), throttled(), throttled(), created())
    outcome, _ = send_one(server, policy=RetryPolicy(backoff_initial=0.5, backoff_max=60.0))
    assert (outcome.status, outcome.attempts) == (Status.CREATED, 4)
    first, second, third = server.clock.sleeps
    assert 0.0 <= first <= 0.5
    assert 0.0 <= second <= 1.0
    assert 0.0 <= third <= 2.0


def test_a_429_pauses_the_whole_pool_not_only_its_own_worker() -> None:
    clock = FakeClock()
    server = Server(clock)
    # Row 2 goes at t=0 and gets a 429 asking for 30 s; row 3's slot (t=1) falls inside it.
    server.post(throttled("30"), created("c3"), created("c2"))
    outcomes, _, pacer = run_rows(clock, server, [(2, EMAIL), (3, "bob@example.com")], rate=60)
    assert [o.status for o in outcomes] == [Status.CREATED, Status.CREATED]
    # the 429 also lowered the told rate by 5 %: 60 → 57 a minute
    assert server.log == [("POST", 0.0), ("POST", 30.0), ("POST", pytest.approx(30 + 60 / 57))]
    assert (pacer.stats.pauses, pacer.stats.paused_seconds) == (1, 30.0)
    assert [(o.row_number, o.attempts) for o in outcomes] == [(2, 2), (3, 1)]


def test_max_attempts_turns_into_retries_exhausted() -> None:
    server = Server(FakeClock())
    server.post(*[throttled("1")] * 3)
    outcome, stats = send_one(server, policy=RetryPolicy(max_attempts=3))
    assert (outcome.status, outcome.attempts, outcome.http_status) == (Status.REJECTED, 3, 429)
    code, message = reject_of(outcome)
    assert code is Code.RETRIES_EXHAUSTED
    assert "3 attempts" in message
    assert "HTTP 429" in message
    assert stats.retries == 2


def test_max_wait_stops_before_a_wait_that_would_pass_it() -> None:
    server = Server(FakeClock())
    server.post(*[throttled("100")] * 3)
    outcome, _ = send_one(server, policy=RetryPolicy(max_wait=250.0))
    assert reject_of(outcome)[0] is Code.RETRIES_EXHAUSTED
    assert outcome.attempts == 3
    assert server.clock.sleeps == [100.0, 100.0]  # a third wait would end at 300 s > 250 s


def test_a_retry_after_longer_than_the_budget_gives_up_at_once_and_says_so() -> None:
    server = Server(FakeClock())
    server.post(throttled("3600"))
    outcome, _ = send_one(server, policy=RetryPolicy(max_wait=900.0))
    code, message = reject_of(outcome)
    assert (code, outcome.attempts) == (Code.RETRIES_EXHAUSTED, 1)
    assert "3600 s" in message
    assert "900 s" in message
    assert server.clock.sleeps == []


def test_duplicate_guard_finds_the_candidate_a_5xx_created() -> None:
    server = Server(FakeClock())
    server.post(error(502, "Bad gateway"))
    server.get(found({"id": "c9", "remote_id": "r9", "email": "ADA@example.com"}))
    outcome, stats = send_one(server)
    assert outcome == RowOutcome(
        2, Status.CREATED, 200, attempts=1, id="c9", remote_id="r9", note="recovered"
    )
    assert server.methods() == ["POST", "GET"]
    assert (stats.recovered, stats.lookups) == (1, 1)
    assert stats.requests_by_status == {"502": 1, "200": 1}


def test_duplicate_guard_resends_when_the_candidate_is_not_there() -> None:
    server = Server(FakeClock())
    server.post(error(503), created("c2"))
    server.get(found())
    outcome, stats = send_one(server)
    assert (outcome.status, outcome.attempts, outcome.id) == (Status.CREATED, 2, "c2")
    assert outcome.note is None
    assert server.methods() == ["POST", "GET", "POST"]
    assert (stats.retries, stats.lookups, stats.recovered) == (1, 1, 0)


def test_a_dropped_connection_goes_through_the_duplicate_guard() -> None:
    server = Server(FakeClock())
    server.post(aiohttp.ServerDisconnectedError())
    server.get(found({"id": "c4", "emails": [{"type": "work", "value": EMAIL}]}))
    outcome, stats = send_one(server)
    assert (outcome.status, outcome.id, outcome.note) == (Status.CREATED, "c4", "recovered")
    assert stats.requests_by_status["disconnected"] == 1


def test_a_failing_lookup_is_retried_within_the_policy() -> None:
    server = Server(FakeClock())
    server.post(error(500))
    server.get(error(503), throttled("5"), found({"id": "c5", "email": EMAIL}))
    outcome, stats = send_one(server)
    assert (outcome.status, outcome.note) == (Status.CREATED, "recovered")
    assert server.methods() == ["POST", "GET", "GET", "GET"]
    assert stats.lookups == 3
    assert server.clock.sleeps[-1] == 5.0


def test_no_email_after_a_5xx_is_outcome_unknown_and_never_resent() -> None:
    server = Server(FakeClock())
    server.post(error(500))
    outcome, _ = send_one(server, email=None)
    code, message = reject_of(outcome)
    assert (outcome.status, code, outcome.http_status) == (
        Status.REJECTED,
        Code.OUTCOME_UNKNOWN,
        500,
    )
    assert "check the ATS" in message
    assert "--resend-unverified" in message
    assert server.methods() == ["POST"]


def test_resend_unverified_resends_a_row_without_email() -> None:
    server = Server(FakeClock())
    server.post(error(500), created("c6"))
    outcome, stats = send_one(server, email="  ", policy=RetryPolicy(resend_unverified=True))
    assert (outcome.status, outcome.attempts, outcome.id) == (Status.CREATED, 2, "c6")
    assert server.methods() == ["POST", "POST"]
    assert stats.lookups == 0


def test_a_lookup_the_provider_refuses_leaves_the_row_unknown() -> None:
    server = Server(FakeClock())
    server.post(error(502))
    server.get(error(400, "filter[email] is not supported by this provider"))
    outcome, _ = send_one(server)
    code, message = reject_of(outcome)
    assert code is Code.OUTCOME_UNKNOWN
    assert "not supported" in message
    assert EMAIL in message


def test_giving_up_while_the_last_create_is_unverified_is_outcome_unknown() -> None:
    server = Server(FakeClock())
    server.post(error(503), error(503))
    server.get(found())
    outcome, _ = send_one(server, policy=RetryPolicy(max_attempts=2))
    code, message = reject_of(outcome)
    assert (code, outcome.attempts) == (Code.OUTCOME_UNKNOWN, 2)
    assert "may exist" in message
    assert server.methods() == ["POST", "GET", "POST"]


def test_connection_refused_is_resent_without_a_lookup() -> None:
    from aiohttp.client_reqrep import ConnectionKey

    refused = aiohttp.ClientConnectorError(
        ConnectionKey("127.0.0.1", 9, False, True, None, None, None),
        ConnectionRefusedError(111, "Connection refused"),
    )
    server = Server(FakeClock())
    server.post(refused, created())
    outcome, stats = send_one(server)
    assert (outcome.status, outcome.attempts) == (Status.CREATED, 2)
    assert server.methods() == ["POST", "POST"]
    assert stats.requests_by_status == {"refused": 1, "201": 1}
    assert stats.lookups == 0


def test_401_stops_the_run() -> None:
    server = Server(FakeClock())
    server.post(error(401, "Unauthorized"))
    with pytest.raises(FatalApiError) as caught:
        send_one(server)
    assert caught.value.status == 401
    assert "STACKONE_API_KEY" in caught.value.message


def test_409_is_already_exists() -> None:
    server = Server(FakeClock())
    server.post(error(409, "Candidate with this email already exists"))
    outcome, _ = send_one(server)
    code, message = reject_of(outcome)
    assert (outcome.status, code, outcome.http_status) == (
        Status.REJECTED,
        Code.ALREADY_EXISTS,
        409,
    )
    assert "already exists" in message


def test_409_after_a_lost_answer_says_the_earlier_attempt_may_have_made_it() -> None:
    server = Server(FakeClock())
    server.post(error(504), error(409, "Conflict"))
    server.get(found())  # the provider's search has not caught up yet
    outcome, _ = send_one(server)
    code, message = reject_of(outcome)
    assert code is Code.ALREADY_EXISTS
    assert "earlier attempt" in message


def test_422_is_api_rejected_with_the_providers_words() -> None:
    server = Server(FakeClock())
    server.post(
        error(
            422,
            "Unprocessable Entity",
            provider_errors=[{"status": 422, "raw": {"error": "Phone number is not valid"}}],
        )
    )
    outcome, _ = send_one(server)
    code, message = reject_of(outcome)
    assert (outcome.status, code, outcome.http_status) == (Status.REJECTED, Code.API_REJECTED, 422)
    assert "Unprocessable Entity" in message
    assert "Phone number is not valid" in message
    assert outcome.attempts == 1


def test_heartbeat_body_decides_the_outcome() -> None:
    server = Server(FakeClock())
    body = b"\n\n\n" + orjson.dumps({"statusCode": 409, "message": "Conflict"})
    server.post(reply(200, body=body, headers={"Preference-Applied": "heartbeat"}))
    outcome, stats = send_one(server)
    assert reject_of(outcome)[0] is Code.ALREADY_EXISTS
    assert outcome.http_status == 409
    assert stats.requests_by_status == {"409": 1}


def refused() -> aiohttp.ClientConnectorError:
    from aiohttp.client_reqrep import ConnectionKey

    return aiohttp.ClientConnectorError(
        ConnectionKey("127.0.0.1", 9, False, True, None, None, None),
        ConnectionRefusedError(111, "Connection refused"),
    )


def test_an_unreachable_api_stops_the_run_when_its_10_seconds_are_up() -> None:
    """The README's 10 s: a row waiting to try again tries when the budget runs out, not a
    backoff later (runs stopped after 10.4 to 11.8 s, and rows went on waiting)."""
    server = Server(FakeClock())
    server.post(*(refused() for _ in range(9)))
    with pytest.raises(UnreachableError, match="no request got through for 10 s"):
        send_one(server)
    assert server.log[-1] == ("POST", pytest.approx(FIRST_CONTACT_BUDGET))


def stop_while_resending(server: Server, stop_at: float) -> tuple[RowOutcome | int, float]:
    """One row sent while the run stops at ``stop_at``: its outcome, or the attempts it made
    when it ended without one (``StoppedWaiting``); and the time it ended."""
    clock = server.clock

    async def main() -> tuple[RowOutcome | int, float]:
        stopping = asyncio.Event()
        async with ApiClient(BASE, "sk_test", "acc_1", clock=clock) as client:
            pacer = Pacer(None, clock, headroom=0.0)
            sender = Sender(client, pacer, RetryPolicy(), clock, SendStats(), stopping=stopping)
            sending = asyncio.ensure_future(sender.send(2, BODY, EMAIL))
            await asyncio.sleep(stop_at)
            stopping.set()
            try:
                return await sending, clock.now()
            except StoppedWaiting as stopped:
                return stopped.attempts, clock.now()

    with FakeApi() as api:
        server.install(api)
        return clock.run(main())


@pytest.mark.parametrize("failure", [refused, lambda: throttled("60")], ids=["refused", "429"])
def test_a_row_nothing_created_stops_waiting_to_be_resent_when_the_run_stops(
    failure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No new request after the stop, and no wait that would hold the end of the run."""
    # the refused row's backoff is full jitter, 0 to 0.5 s: at its longest, so that the stop
    # at 0.2 s always comes while it waits
    monkeypatch.setattr("tenacity.wait.random.uniform", lambda low, high: high)
    server = Server(FakeClock())
    server.post(failure(), created())
    assert stop_while_resending(server, 0.2) == (1, pytest.approx(0.2))
    assert server.methods() == ["POST"]


def test_a_row_that_may_have_been_created_goes_on_when_the_run_stops() -> None:
    """Its answer was lost: ending it now would leave it outcome-unknown; it is looked up."""
    server = Server(FakeClock())
    server.post(error(502, "Bad gateway"), created("c2"))
    server.get(found())
    outcome, _ = stop_while_resending(server, 0.01)
    assert isinstance(outcome, RowOutcome)
    assert (outcome.status, outcome.id) == (Status.CREATED, "c2")
    assert server.methods() == ["POST", "GET", "POST"]
