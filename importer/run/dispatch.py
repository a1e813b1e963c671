"""Sending: a bounded queue feeding a pool of workers that share one pacer, and a clean stop."""

from __future__ import annotations

import asyncio
from asyncio import FIRST_COMPLETED
from dataclasses import replace
from typing import Any

from importer.errors import Code, FatalApiError, ImporterError, Reject
from importer.record.outcomes import RowOutcome, Status
from importer.run.options import ImportOptions
from importer.run.settle import Work
from importer.run.stages import Stages
from importer.run.stop import stopped_by_signals
from importer.send.client import ApiClient
from importer.send.pacing import PacerLostError, Pacers
from importer.send.sender import Sender, SendStats


async def send_rows(
    stages: Stages,
    options: ImportOptions,
    pacers: Pacers,
    base_url: str,
    api_key: str,
    account_id: str,
) -> SendStats:
    stats = SendStats()
    async with ApiClient(
        base_url,
        api_key,
        account_id,
        heartbeat=options.heartbeat,
        limit=options.concurrency,
        clock=options.clock,
    ) as client:
        account_pacer = pacers.account(account_id)
        sender = Sender(client, pacers.key, options.policy, options.clock, stats, account_pacer)
        pool = _Pool(stages, sender, options)
        with stopped_by_signals(stages.stop, enabled=options.handle_signals):
            await pool.run()
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


class _Pool:
    def __init__(self, stages: Stages, sender: Sender, options: ImportOptions) -> None:
        self.stages = stages
        self.sink = stages.sink
        self.stop = stages.stop
        self.sender = sender
        self.workers = options.concurrency
        self.stop_grace = options.stop_grace
        self.queue: asyncio.Queue[Work | None] = asyncio.Queue(maxsize=options.concurrency * 4)
        self.in_flight: dict[int, Work] = {}
        self.failure: BaseException | None = None
        """What stopped the run from inside (a full disk, a bug), once requests went out."""

    async def run(self) -> None:
        producer = asyncio.create_task(self._produce())
        workers = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        await self._finish(producer, workers)

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
            try:
                await self.queue.put(decided)
            except asyncio.CancelledError:
                self.sink.record(seq, self.stop.outcome(row), row, decided.key)
                raise
        for _ in range(self.workers):
            await self.queue.put(None)

    async def _work(self) -> None:
        while (work := await self.queue.get()) is not None:
            if self.stop.is_set():
                self.sink.record(work.seq, self.stop.outcome(work.row), work.row, work.key)
                continue
            self.in_flight[work.seq] = work
            digest = await self.sink.sending(work.row, work.key)
            outcome = await self._send_one(work)
            if work.warnings:
                outcome = replace(outcome, warnings=work.warnings)
            del self.in_flight[work.seq]
            self.sink.record(work.seq, outcome, work.row, work.key, sent=True, digest=digest)
            self.sink.sent(work.email)

    async def _send_one(self, work: Work) -> RowOutcome:
        send = self.sender.verify_then_send if work.verify else self.sender.send
        try:
            return await send(work.row.row_number, work.body, work.email)
        except FatalApiError as error:
            reason = error.message  # a failure without an answer (TLS, unreachable) says it all
            if error.status is not None:
                reason = f"the API answered {error.status}: {error.message}"
            self.stop.set(reason, Code.RUN_STOPPED)
            return self._not_sent(work, error.status, attempts=1)
        except PacerLostError as error:
            # Pacing alone would overrun the key's limit for every other process sharing it.
            self.stop.set(f"{error}; rows not sent yet were left for --resume", Code.RUN_STOPPED)
            return self._not_sent(work, None, attempts=0)

    def _not_sent(self, work: Work, status: int | None, *, attempts: int) -> RowOutcome:
        reject = Reject(work.row.row_number, Code.RUN_STOPPED, f"not sent: {self.stop.reason}")
        return RowOutcome(
            work.row.row_number,
            Status.NOT_ATTEMPTED,
            http_status=status,
            attempts=attempts,
            rejects=(reject,),
        )

    async def _finish(
        self, producer: asyncio.Task[None], workers: list[asyncio.Task[None]]
    ) -> None:
        """Wait for every row; once stopping, give in-flight requests a bounded grace."""
        tasks: set[asyncio.Future[Any]] = {producer, *workers}
        stopping = asyncio.create_task(self.stop.event.wait())
        try:
            pending = set(tasks)
            while pending and not self.stop.is_set():
                done, pending = await asyncio.wait(
                    pending | {stopping}, return_when=FIRST_COMPLETED
                )
                pending.discard(stopping)
                for task in done - {stopping}:
                    self._failed(task)
            if pending:
                rest: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
                forced: asyncio.Future[Any] = asyncio.create_task(self.stop.forced.wait())
                await asyncio.wait(
                    {rest, forced}, timeout=self.stop_grace, return_when=FIRST_COMPLETED
                )
                forced.cancel()
        finally:
            stopping.cancel()
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
        while not self.queue.empty():
            queued = self.queue.get_nowait()
            if queued is not None:
                self.sink.record(queued.seq, self.stop.outcome(queued.row), queued.row, queued.key)
        self.stages.drain()
