"""Send one row: pacing, retries honouring Retry-After, the duplicate guard → one RowOutcome."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from importer.clock import Clock
from importer.errors import (
    AmbiguousApiError,
    ApiError,
    Code,
    Reject,
    RejectedApiError,
    RetriableApiError,
)
from importer.record.outcomes import RowOutcome, Status
from importer.send.client import ApiClient, Created, NoAnswerError, NotSentError
from importer.send.pacing import Pacing
from importer.send.reach import Reachability
from importer.send.retry import RetryPolicy

_RETRIED = (RetriableApiError, AmbiguousApiError, NotSentError)


class StoppedWaiting(Exception):
    """The run stopped while a row waited to be resent, and none of its requests can have
    created it (refused, throttled, never connected): it ends not sent, without another one.
    Its backoff could have held the end of the run for half a minute (an unreachable API)."""

    def __init__(self, attempts: int) -> None:
        super().__init__(attempts)
        self.attempts = attempts


@dataclass
class SendStats:
    """Counters for the summary, shared by every worker."""

    # "201", "429", … per HTTP answer; transport failures by kind ("disconnected", "timeout", …)
    requests_by_status: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    waited_seconds: float = 0.0
    recovered: int = 0
    lookups: int = 0

    def count(self, answer: int | ApiError) -> None:
        """Count one request by its HTTP status, or by the kind of failure that replaced it."""
        if type(answer) is int:
            key = str(answer)
        elif isinstance(answer, NotSentError | NoAnswerError):
            key = answer.kind
        elif isinstance(answer, ApiError):
            key = "error" if answer.status is None else str(answer.status)
        else:
            key = str(answer)
        self.requests_by_status[key] += 1


@dataclass(slots=True)
class _Row:
    number: int
    email: str | None
    attempts: int = 0
    # The last create may have happened: look the e-mail up before sending it again.
    unverified: bool = False
    had_ambiguous: bool = False


class Sender:
    """Turns one row's request body into a ``RowOutcome``; one Sender serves every worker.

    Every request waits for its account's pacer, then for the key's. A 429 pauses every account
    on the key for its Retry-After, a 408 (the provider's throttle) only the account's; both are
    resent; a connection that never opened is resent after backoff. After a 5xx, a read
    timeout or a dropped connection the create may have happened, so a row with an e-mail is
    looked up first (found: created, note "recovered"; not found: resent) and a row without one
    ends ``outcome-unknown`` unless ``policy.resend_unverified``. ``FatalApiError`` propagates.
    """

    def __init__(
        self,
        client: ApiClient,
        pacer: Pacing,
        policy: RetryPolicy,
        clock: Clock,
        stats: SendStats,
        account_pacer: Pacing | None = None,
        stopping: asyncio.Event | None = None,
    ) -> None:
        self._client = client
        self._stopping = stopping
        self._pacer = pacer
        self._account_pacer = account_pacer
        self._policy = policy
        self._clock = clock
        self.stats = stats
        self._reach = Reachability(clock)

    async def send(self, row_number: int, body: bytes, email: str | None) -> RowOutcome:
        return await self._send(_Row(row_number, _address(email)), body)

    async def verify_then_send(self, row_number: int, body: bytes, email: str | None) -> RowOutcome:
        """Send a row that was in flight when an earlier run stopped: it may exist already.

        The e-mail is looked up first (found: created, note "recovered"; not found: sent as
        usual). A row without one cannot be verified, so it ends ``outcome-unknown`` without a
        request, unless ``policy.resend_unverified``.
        """
        address = _address(email)
        row = _Row(row_number, address, unverified=address is not None, had_ambiguous=True)
        if address is None and not self._policy.resend_unverified:
            return self._outcome(
                row,
                Code.OUTCOME_UNKNOWN,
                "it was being sent when an earlier run stopped, and it has no e-mail to look it "
                "up by; check the ATS before re-importing this row (or re-run with "
                "--resend-unverified)",
                None,
            )
        return await self._send(row, body)

    async def _send(self, row: _Row, body: bytes) -> RowOutcome:
        started = self._clock.now()
        # Most rows need one attempt, and tenacity's machinery costs ~35 µs of CPU a row: about
        # what the request itself costs on a fast server. So the first attempt runs on its own;
        # a retriable failure is replayed to tenacity as its first attempt, and the waits, the
        # budget (started before it) and the counts are what they always were.
        try:
            return await self._attempt(row, body)
        except _RETRIED as error:
            failed: ApiError | None = error

        async def attempt(row: _Row, body: bytes) -> RowOutcome:
            nonlocal failed
            if failed is not None:
                replayed, failed = failed, None
                raise replayed
            return await self._attempt(row, body)

        async def pause(seconds: float) -> None:
            await self._pause(row, seconds)

        backoff = self._policy.wait()

        def wait(retry_state: RetryCallState) -> float:
            planned = backoff(retry_state)
            outcome = retry_state.outcome
            if outcome is not None and isinstance(outcome.exception(), NotSentError):
                return min(planned, self._reach.time_left())
            return planned

        retrying = AsyncRetrying(
            sleep=pause,
            stop=self._policy.stop(self._clock, started=started),
            wait=wait,
            retry=retry_if_exception_type(_RETRIED),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            outcome: RowOutcome = await retrying(attempt, row, body)
        except _RETRIED as error:
            return self._gave_up(row, error)
        return outcome

    async def _pause(self, row: _Row, seconds: float) -> None:
        """Wait to resend ``row``; a row nothing can have created stops waiting, and ends,
        when the run stops."""
        stopping = self._stopping
        if stopping is None or row.had_ambiguous:
            await self._clock.sleep(seconds)
            return
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait((sleeping, stopped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            stopped.cancel()
        if stopping.is_set():
            raise StoppedWaiting(row.attempts)

    async def _attempt(self, row: _Row, body: bytes) -> RowOutcome:
        # The lookup runs on the attempt after the ambiguous one, so after a backoff: a provider
        # still finishing a slow create, or a lagging search, would answer "not found" at once.
        if row.unverified:
            found = await self._lookup(row)
            if isinstance(found, RowOutcome):
                return found
            row.unverified = False
        granted = await self._acquire()
        row.attempts += 1
        try:
            created = await self._client.create_candidate(body)
        except NotSentError as error:
            self.stats.count(error)
            self._reach.not_connected(error.message)
            raise
        except RetriableApiError as error:
            self._throttled(error, granted)
            raise
        except AmbiguousApiError as error:
            self.stats.count(error)
            if error.status is not None:
                self._reach.answered()
            row.had_ambiguous = True
            if row.email is not None:
                row.unverified = True
                raise
            if self._policy.resend_unverified:
                raise
            return self._unknown(
                row,
                error,
                "the row has no e-mail to look it up by; check the ATS before re-importing this "
                "row (or re-run with --resend-unverified)",
            )
        except RejectedApiError as error:
            self.stats.count(error)
            return self._rejected(row, error)
        except ApiError as error:  # FatalApiError
            self.stats.count(error)
            raise
        self._reach.answered()
        self.stats.count(created.status)
        return RowOutcome(
            row.number,
            Status.CREATED,
            http_status=created.status,
            attempts=row.attempts,
            id=created.id,
            remote_id=created.remote_id,
        )

    async def _lookup(self, row: _Row) -> Created | RowOutcome | None:
        """The duplicate guard: the candidate a lost create made, an outcome, or None to resend."""
        assert row.email is not None
        granted = await self._acquire()
        self.stats.lookups += 1
        try:
            found = await self._client.find_candidate_by_email(row.email)
        except RetriableApiError as error:
            self._throttled(error, granted)
            raise
        except RejectedApiError as error:
            # The provider cannot search by e-mail: the create stays unverified.
            self.stats.count(error)
            if self._policy.resend_unverified:
                return None
            return self._unknown(
                row,
                error,
                f"looking the e-mail up failed ({error.message}); check the ATS for "
                f"{row.email} before re-importing this row",
            )
        except ApiError as error:
            self.stats.count(error)
            if isinstance(error, NotSentError):
                self._reach.not_connected(error.message)
            raise
        self._reach.answered()
        self.stats.count(200)
        if found is None:
            return None
        self.stats.recovered += 1
        return RowOutcome(
            row.number,
            Status.CREATED,
            http_status=found.status,
            attempts=row.attempts,
            id=found.id,
            remote_id=found.remote_id,
            note="recovered",
        )

    async def _acquire(self) -> tuple[float, float]:
        """When the key's pacer and the account's granted the request its slots (the key's
        twice without an account pacer): a refusal tells the pacer its own grant, or the pacer
        would count the refused request among those let through before it."""
        # The account's slot first: a row of a paused account holds none of the key's slots.
        account = self._account_pacer
        if account is None:
            granted = await self._pacer.acquire()
            return granted, granted
        while True:
            account_granted = await account.acquire()
            granted = await self._pacer.acquire()
            # A 408 for the account while this row queued for the key's slot: the slot is given
            # up rather than sent into the account's new Retry-After window.
            if account.paused_until <= self._clock.now():
                return granted, account_granted

    def _throttled(self, error: RetriableApiError, granted: tuple[float, float]) -> None:
        self._reach.answered()
        self.stats.count(error)
        # A 429 is the key's limit: hold every worker on the key. A 408 is the provider's
        # throttle for this account: hold its rows only.
        pacer, sent_at = self._pacer, granted[0]
        if error.status == 408 and self._account_pacer is not None:
            pacer, sent_at = self._account_pacer, granted[1]
        if error.retry_after is not None:
            pacer.pause_for(min(error.retry_after, self._policy.max_wait))
        if error.status == 429 or pacer is self._account_pacer:
            pacer.throttled(sent_at)

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        self.stats.retries += 1
        self.stats.waited_seconds += retry_state.upcoming_sleep

    def _rejected(self, row: _Row, error: RejectedApiError) -> RowOutcome:
        self._reach.answered()
        message = error.message
        if error.code is Code.ALREADY_EXISTS and row.had_ambiguous:
            message += "; an earlier attempt of this row got no clear answer and may have made it"
        return self._outcome(row, error.code, message, error.status)

    def _unknown(self, row: _Row, error: ApiError, advice: str) -> RowOutcome:
        return self._outcome(row, Code.OUTCOME_UNKNOWN, f"{error.message}; {advice}", error.status)

    def _gave_up(self, row: _Row, error: ApiError) -> RowOutcome:
        tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        if row.unverified or isinstance(error, AmbiguousApiError):
            return self._unknown(
                row,
                error,
                f"gave up after {tries} without a clear answer, so the candidate may exist; "
                "check the ATS before re-importing this row",
            )
        message = f"gave up after {tries}; the last answer: {error.message}"
        if (
            isinstance(error, RetriableApiError)
            and error.retry_after is not None
            and error.retry_after > self._policy.max_wait
        ):
            message += (
                f"; the API asked to wait {error.retry_after:.0f} s, more than the "
                f"{self._policy.max_wait:.0f} s a row may wait"
            )
        return self._outcome(row, Code.RETRIES_EXHAUSTED, message, error.status)

    def _outcome(self, row: _Row, code: Code, message: str, status: int | None) -> RowOutcome:
        return RowOutcome(
            row.number,
            Status.REJECTED,
            http_status=status,
            attempts=row.attempts,
            rejects=(Reject(row.number, code, message),),
        )


def _address(email: str | None) -> str | None:
    return (email.strip() or None) if email else None
