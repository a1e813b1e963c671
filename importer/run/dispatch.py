"""Sending: rows in one lane per account, each lane's rows sent by up to ``concurrency``
workers; every worker shares the key's pacer; a stop for the run, or for one account.

A lane's workers wait for their account's pacer (a provider's 408 pauses or slows that account
only) without holding a connection or a slot of the key's pacer, so rows of a throttled account
never hold up the other accounts' rows. Rows read while their lane's workers are all busy wait
in the lane's backlog; the producer stops reading when the backlogs together are full.
"""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from importer.errors import Code, FatalApiError, ImporterError, Reject
from importer.record.ledger import Imported
from importer.record.outcomes import RowOutcome, Status
from importer.run.accounts import RowAccount
from importer.run.options import ImportOptions
from importer.run.settle import Work
from importer.run.stages import Stages
from importer.run.stop import stopped_by_signals
from importer.send.client import ApiClient
from importer.send.pacing import PacerLostError, Pacers
from importer.send.sender import Sender, SendStats, StoppedWaiting

# Answers that are wrong for every row of one account (not found, integration disabled, not
# supported by its provider), not for the key: with rows routed to several accounts, they stop
# that account's rows only. 401/403 are the key's: they stop everything.
_ACCOUNT_STATUSES = frozenset({404, 412, 501})
# Rows a routed run may hold read but not sent: enough for the other accounts to go on past a
# long pause of one (a few MB); one lane's backlog is bounded only by this.
_ROUTED_BACKLOG = 10_000


async def send_rows(
    stages: Stages,
    options: ImportOptions,
    pacers: Pacers,
    base_url: str,
    api_key: str,
    accounts: RowAccount,
) -> SendStats:
    stats = SendStats()
    async with ApiClient(
        base_url,
        api_key,
        accounts.fixed or "",
        heartbeat=options.heartbeat,
        limit=options.concurrency,
        clock=options.clock,
    ) as client:
        senders: dict[str, Sender] = {}

        def sender_for(account: str) -> Sender:
            sender = senders.get(account)
            if sender is None:
                routed = client if account == client.account_id else client.for_account(account)
                sender = senders[account] = Sender(
                    routed,
                    pacers.key,
                    options.policy,
                    options.clock,
                    stats,
                    pacers.account(account),
                    stopping=stages.stop.event,
                )
            return sender

        pool = _Pool(stages, sender_for, accounts, options)
        with stopped_by_signals(stages.stop, enabled=options.handle_signals):
            await pool.run()
    if pool.stopped and not stages.stop.is_set():
        refused = "; ".join(pool.stopped.values())
        reason = f"rows of {len(pool.stopped)} account(s) not sent: {refused}"
        stages.stop.set(reason, Code.RUN_STOPPED)
    if pool.failure is None:
        stages.sink.final_progress()
    return stats


def describe(error: BaseException) -> str:
    """An error in words for a person: the OS's own for a failed write, else type and text."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    if isinstance(error, ImporterError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@dataclass
class _Lane:
    account: str
    backlog: deque[Work] = field(default_factory=deque)
    workers: int = 0


class _Pool:
    def __init__(
        self,
        stages: Stages,
        sender_for: Callable[[str], Sender],
        accounts: RowAccount,
        options: ImportOptions,
    ) -> None:
        self.stages = stages
        self.sink = stages.sink
        self.stop = stages.stop
        self.sender_for = sender_for
        self.accounts = accounts
        self.per_lane = options.concurrency
        self.backlog_limit = options.concurrency * 4
        if accounts.routed:
            self.backlog_limit = max(self.backlog_limit, _ROUTED_BACKLOG)
        self.stop_grace = options.stop_grace
        self.reimport = options.reimport
        self.lanes: dict[str, _Lane] = {}
        self.backlogged = 0
        self.room = asyncio.Event()
        self.workers: set[asyncio.Task[None]] = set()
        self.in_flight: dict[int, Work] = {}
        # Waiting for another process that sends the same key: not sent, and in no backlog.
        self.claiming: dict[int, Work] = {}
        self.stopped: dict[str, str] = {}
        """Accounts whose rows are no longer sent, and why."""
        self.failure: BaseException | None = None
        """What stopped the run from inside (a full disk, a bug), once requests went out."""

    async def run(self) -> None:
        await self._finish(asyncio.create_task(self._produce()))

    async def _produce(self) -> None:
        for seq, row in self.stages.rows:
            if self.stop.is_set():
                self.sink.record(seq, self.stop.outcome(row), row)
                continue
            decided = self.stages.decide(seq, row)
            if not isinstance(decided, Work):
                outcome, key = decided
                self.sink.record(seq, outcome, row, key)
                if seq % 512 == 0:
                    # mapping is CPU work: let the workers read their answers now and then
                    await asyncio.sleep(0)
                continue
            # the check rejected a routed row without an account
            account = self.accounts.of(row) or ""
            lane = self.lanes.get(account)
            if lane is None:
                lane = self.lanes[account] = _Lane(account)
            if lane.workers < self.per_lane:
                lane.workers += 1
                worker = asyncio.create_task(self._work(lane, decided))
                # Said at once: with the backlog full, the producer waits for the workers, and
                # the pool only for the producer and the workers it knew when it began waiting.
                worker.add_done_callback(self._failed)
                self.workers.add(worker)
                continue
            lane.backlog.append(decided)
            self.backlogged += 1
            while self.backlogged >= self.backlog_limit and not self.stop.is_set():
                self.room.clear()
                await self.room.wait()

    async def _work(self, lane: _Lane, work: Work) -> None:
        try:
            while True:
                await self._process(lane, work)
                if not lane.backlog:
                    return
                work = lane.backlog.popleft()
                self.backlogged -= 1
                self.room.set()
        finally:
            lane.workers -= 1

    async def _process(self, lane: _Lane, work: Work) -> None:
        if self.stop.is_set():
            self.sink.record(work.seq, self.stop.outcome(work.row), work.row, work.key)
            return
        refused = self.stopped.get(lane.account)
        if refused is not None:
            self.sink.record(work.seq, _not_sent(work, refused, None, 0), work.row, work.key)
            return
        self.claiming[work.seq] = work
        claim = await self.sink.claim(work.row, work.key, lane.backlog, reimport=self.reimport)
        del self.claiming[work.seq]
        if isinstance(claim, Imported):
            assert work.key is not None
            settled = self.stages.settler.imported_before(work.row, work.key, claim)
            self.sink.record(work.seq, settled, work.row, work.key)
            return
        work.verify = work.verify or claim.in_doubt
        self.in_flight[work.seq] = work
        digest = await self.sink.sending(work.row, work.key, lane.backlog)
        outcome = await self._send_one(lane, work)
        if work.warnings:
            outcome = outcome._replace(warnings=work.warnings)
        del self.in_flight[work.seq]
        self.sink.record(work.seq, outcome, work.row, work.key, sent=True, digest=digest)
        self.sink.sent(work.email)

    async def _send_one(self, lane: _Lane, work: Work) -> RowOutcome:
        sender = self.sender_for(lane.account)
        send = sender.verify_then_send if work.verify else sender.send
        try:
            return await send(work.row.row_number, work.body, work.email)
        except FatalApiError as error:
            said = error.message  # a failure without an answer (TLS, unreachable) says it all
            if error.status is not None:
                said = f"the API answered {error.status}: {error.message}"
            if self.accounts.routed and error.status in _ACCOUNT_STATUSES:
                reason = self.stopped.setdefault(lane.account, f"account {lane.account}: {said}")
                return _not_sent(work, reason, error.status, 1)
            self.stop.set(said, Code.RUN_STOPPED)
            return _not_sent(work, self.stop.reason, error.status, 1)
        except StoppedWaiting as stopped:
            return self.stop.outcome(work.row)._replace(attempts=stopped.attempts)
        except PacerLostError as error:
            # Pacing alone would overrun the key's limit for every other process sharing it.
            self.stop.set(f"{error}; rows not sent yet were left for --resume", Code.RUN_STOPPED)
            return _not_sent(work, self.stop.reason, None, 0)

    async def _finish(self, producer: asyncio.Task[None]) -> None:
        """Wait for every row; once stopping, give in-flight requests a bounded grace."""
        stopping = asyncio.create_task(self.stop.event.wait())
        try:
            while not self.stop.is_set():
                for task in [t for t in (producer, *self.workers) if t.done()]:
                    self.workers.discard(task)
                    self._failed(task)
                pending: set[asyncio.Future[Any]] = {
                    t for t in (producer, *self.workers) if not t.done()
                }
                if not pending:
                    break
                await asyncio.wait(pending | {stopping}, return_when=FIRST_COMPLETED)
            self.room.set()  # a producer waiting for room sees the stop
            pending = {t for t in (producer, *self.workers) if not t.done()}
            if pending:
                rest: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
                forced: asyncio.Future[Any] = asyncio.create_task(self.stop.forced.wait())
                await asyncio.wait(
                    {rest, forced}, timeout=self.stop_grace, return_when=FIRST_COMPLETED
                )
                forced.cancel()
        finally:
            stopping.cancel()
            tasks = (producer, *self.workers)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            self._failed(task)
        try:
            self._settle_leftovers()
        except Exception as error:  # the reports themselves cannot be written: said by the run
            self.failure = self.failure or error

    def _failed(self, task: asyncio.Future[Any]) -> None:
        """A worker or the producer raised: stop the run, so that every row still gets its
        outcome and the reports are written, instead of leaving with the error."""
        if task.cancelled() or self.failure is not None:
            return
        error = task.exception()
        if error is not None:
            self.failure = error
            self.stop.set(f"an error stopped the run: {describe(error)}", Code.RUN_STOPPED)

    def _settle_leftovers(self) -> None:
        """After a stop: give every row nobody finished its one outcome."""
        for work in sorted(self.in_flight.values(), key=lambda w: w.seq):
            reject = Reject(
                work.row.row_number,
                Code.OUTCOME_UNKNOWN,
                "interrupted while being sent: it may or may not have been created; "
                "check the ATS (or re-run with --resume) before importing it again",
            )
            outcome = RowOutcome(work.row.row_number, Status.REJECTED, rejects=(reject,))
            self.sink.record(work.seq, outcome, work.row, work.key, sent=True)
        self.in_flight.clear()
        waiting = [*self.claiming.values()]
        self.claiming.clear()
        for lane in self.lanes.values():
            waiting.extend(lane.backlog)
            lane.backlog.clear()
        for work in sorted(waiting, key=lambda w: w.seq):
            self.sink.record(work.seq, self.stop.outcome(work.row), work.row, work.key)
        self.stages.drain()


def _not_sent(work: Work, reason: str | None, status: int | None, attempts: int) -> RowOutcome:
    reject = Reject(work.row.row_number, Code.RUN_STOPPED, f"not sent: {reason}")
    return RowOutcome(
        work.row.row_number,
        Status.NOT_ATTEMPTED,
        http_status=status,
        attempts=attempts,
        rejects=(reject,),
    )
