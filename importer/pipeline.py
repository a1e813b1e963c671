"""The import run: read → map → validate → bounded queue → paced worker pool → record."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from importer.client import ApiClient
from importer.clock import Clock, SystemClock
from importer.errors import Code, ConfigError, FatalApiError, Reject
from importer.mapping import Mapping, RowMapper, load_mapping
from importer.outcomes import RowOutcome, Status
from importer.pacer import pacer_for
from importer.readers import SourceRow, Table, open_table
from importer.report import Counts, ImportSummary, Recorder
from importer.retry import RetryPolicy
from importer.send import Sender, SendStats

DEFAULT_BASE_URL = "https://api.stackone.com"
SANDBOX_API_KEY = "sandbox"
SANDBOX_ACCOUNT_ID = "sandbox"


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot handed to ``on_progress``: rows done so far and how fast."""

    rows_done: int
    rows_total: int | None
    created: int
    rejected: int
    skipped: int
    not_attempted: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.rows_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if not self.rows_total or not self.rate:
            return None
        return max(0.0, (self.rows_total - self.rows_done) / self.rate)


@dataclass
class ImportOptions:
    """Everything ``run_import`` takes besides the input file; the CLI flags map onto these."""

    mapping: str | Path | Mapping
    out_dir: str | Path = "out"
    account_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    sandbox: bool = False
    sheet: str | None = None
    encoding: str | None = None
    header_row: int = 1
    concurrency: int = 10
    rate: float | None = 1000.0
    dry_run: bool = False
    heartbeat: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    on_progress: Callable[[Progress], None] | None = None
    progress_interval: float = 1.0
    stop_grace: float = 30.0
    handle_signals: bool = True


@dataclass(slots=True)
class _Work:
    seq: int
    row: SourceRow
    body: bytes
    email: str | None


class _Stop:
    """Why the run is stopping; set once, by a fatal answer or a signal (a second one forces)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.forced = asyncio.Event()
        self.reason: str | None = None
        self.code = Code.RUN_STOPPED

    def set(self, reason: str, code: Code) -> None:
        if not self.event.is_set():
            self.reason, self.code = reason, code
            self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def outcome(self, row: SourceRow) -> RowOutcome:
        reject = Reject(row.row_number, self.code, f"not sent: {self.reason}")
        return RowOutcome(row.row_number, Status.NOT_ATTEMPTED, rejects=(reject,))


def run_import(input_path: str | Path, options: ImportOptions) -> ImportSummary:
    """Import ``input_path`` as ``options`` say and return the summary.

    Writes results.csv, rejects.csv and summary.json to ``options.out_dir``. Raises
    ``ConfigError`` (nothing sent) for a bad mapping, input, or credentials.

    >>> summary = run_import("samples/candidates.csv",
    ...                      ImportOptions(mapping="mappings/default.yaml", sandbox=True))
    >>> summary.counts.created
    """
    return asyncio.run(run_import_async(input_path, options))


async def run_import_async(input_path: str | Path, options: ImportOptions) -> ImportSummary:
    """``run_import`` for callers that already run an event loop."""
    mapping = (
        options.mapping
        if isinstance(options.mapping, Mapping)
        else load_mapping(Path(options.mapping))
    )
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = options.clock.now()
    with open_table(
        input_path, sheet=options.sheet, encoding=options.encoding, header_row=options.header_row
    ) as table:
        mapper = mapping.bind(table.headers, source=str(input_path))
        out_dir = Path(options.out_dir)
        async with AsyncExitStack() as stack:
            target, api_key, account_id = await _target(options, stack)
            recorder = Recorder(out_dir, table.headers)
            run = _Run(table, mapper, options, recorder)
            try:
                if options.dry_run:
                    run.dry_run()
                else:
                    await run.send(target, api_key, account_id)
            finally:
                recorder.close()
    summary = ImportSummary(
        input=str(input_path),
        mapping=str(mapping.source),
        out_dir=str(out_dir),
        dry_run=options.dry_run,
        target=None if options.dry_run else ("sandbox" if options.sandbox else target),
        account_id=None if options.dry_run else account_id,
        counts=recorder.counts,
        requests_by_status=dict(run.stats.requests_by_status) if run.stats else {},
        retries=run.stats.retries if run.stats else 0,
        waited_seconds=run.stats.waited_seconds if run.stats else 0.0,
        lookups=run.stats.lookups if run.stats else 0,
        started_at=started_at,
        duration_seconds=options.clock.now() - start,
        stopped_early=run.stop.is_set(),
        stop_reason=run.stop.reason,
        first_rejects=recorder.first_rejects,
    )
    (out_dir / "summary.json").write_text(
        json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary


async def _target(options: ImportOptions, stack: AsyncExitStack) -> tuple[str, str, str]:
    """Where to send, with which key and account; starts the sandbox for ``--sandbox``."""
    if options.dry_run:
        return "", "", ""
    if options.sandbox:
        from importer.sandbox import Sandbox, SandboxConfig

        sandbox = await stack.enter_async_context(Sandbox(SandboxConfig(), clock=options.clock))
        return sandbox.url, SANDBOX_API_KEY, options.account_id or SANDBOX_ACCOUNT_ID
    if not options.api_key:
        raise ConfigError(
            "no API key: set STACKONE_API_KEY (or use --api-key-file), or try --sandbox"
        )
    if not options.account_id:
        raise ConfigError("no account id: pass --account-id or set STACKONE_ACCOUNT_ID")
    return options.base_url, options.api_key, options.account_id


def _estimate_rows(table: Table) -> int | None:
    """A quick upper bound of the data rows for progress (quoted newlines over-count a little)."""
    if table.kind != "csv":
        return None
    lines = 0
    with open(table.path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)


class _Run:
    def __init__(
        self, table: Table, mapper: RowMapper, options: ImportOptions, recorder: Recorder
    ) -> None:
        self.table = table
        self.mapper = mapper
        self.options = options
        self.recorder = recorder
        self.stop = _Stop()
        self.stats: SendStats | None = None
        self.in_flight: dict[int, _Work] = {}
        self.first_row_of: dict[str, int] = {}
        self._rows = enumerate(table.rows)
        self.width = table.width
        self.total = _estimate_rows(table) if options.on_progress else None
        self.started = options.clock.now()
        self.last_progress = self.started

    # -- read → map → validate -------------------------------------------------------------

    def check(self, row: SourceRow) -> RowOutcome | tuple[bytes, str | None]:
        """A final outcome for a row that cannot be sent, or the body to send."""
        if row.is_blank:
            reject = Reject(row.row_number, Code.BLANK_ROW, "blank row")
            return RowOutcome(row.row_number, Status.SKIPPED, rejects=(reject,))
        if self.table.is_ragged(row):
            return _rejected(row, _ragged(row, self.width))
        prepared = self.mapper.prepare(row)
        if prepared.body is None:
            return RowOutcome(row.row_number, Status.REJECTED, rejects=prepared.rejects)
        if prepared.email:
            key = prepared.email.casefold()
            first = self.first_row_of.setdefault(key, row.row_number)
            if first != row.row_number:
                reject = Reject(
                    row.row_number,
                    Code.DUPLICATE_IN_FILE,
                    f"e-mail {prepared.email} already appears in row {first}; "
                    "remove one of the two rows or give them different e-mails",
                    field="email",
                    value=prepared.email,
                )
                return _rejected(row, reject)
        return orjson.dumps(prepared.body), prepared.email

    def record(self, seq: int, outcome: RowOutcome, row: SourceRow) -> None:
        self.recorder.record(seq, outcome, row.values)
        on_progress = self.options.on_progress
        if on_progress is not None:
            now = self.options.clock.now()
            if now - self.last_progress >= self.options.progress_interval:
                self.last_progress = now
                on_progress(self.progress())

    def progress(self) -> Progress:
        counts: Counts = self.recorder.counts
        return Progress(
            rows_done=counts.rows,
            rows_total=self.total,
            created=counts.created,
            rejected=counts.rejected,
            skipped=counts.skipped,
            not_attempted=counts.not_attempted,
            elapsed=self.options.clock.now() - self.started,
        )

    def final_progress(self) -> None:
        if self.options.on_progress is not None:
            self.options.on_progress(replace(self.progress(), rows_total=self.recorder.counts.rows))

    # -- dry run: everything but sending -----------------------------------------------------

    def dry_run(self) -> None:
        with self._signals():
            for seq, row in self._rows:
                if self.stop.is_set():
                    self.record(seq, self.stop.outcome(row), row)
                    continue
                checked = self.check(row)
                if isinstance(checked, tuple):
                    checked = RowOutcome(row.row_number, Status.NOT_ATTEMPTED, note="dry-run")
                self.record(seq, checked, row)
        self.final_progress()

    # -- send -----------------------------------------------------------------------------------

    async def send(self, base_url: str, api_key: str, account_id: str) -> None:
        options = self.options
        self.stats = SendStats()
        # --rate auto: no known limit, so the pacer probes upwards and backs off on 429s
        pacer = pacer_for(api_key, options.rate, options.clock, adaptive=options.rate is None)
        queue: asyncio.Queue[_Work | None] = asyncio.Queue(maxsize=options.concurrency * 4)
        async with ApiClient(
            base_url,
            api_key,
            account_id,
            heartbeat=options.heartbeat,
            limit=options.concurrency,
            clock=options.clock,
        ) as client:
            sender = Sender(client, pacer, options.policy, options.clock, self.stats)
            with self._signals():
                producer = asyncio.create_task(self._produce(queue, options.concurrency))
                workers = [
                    asyncio.create_task(self._work(queue, sender))
                    for _ in range(options.concurrency)
                ]
                await self._finish(producer, workers, queue)
        self.final_progress()

    async def _produce(self, queue: asyncio.Queue[_Work | None], workers: int) -> None:
        for seq, row in self._rows:
            if self.stop.is_set():
                self.record(seq, self.stop.outcome(row), row)
                continue
            checked = self.check(row)
            if isinstance(checked, RowOutcome):
                self.record(seq, checked, row)
                if seq % 512 == 0:
                    # mapping is CPU work: let the workers read their answers now and then
                    await asyncio.sleep(0)
                continue
            body, email = checked
            try:
                await queue.put(_Work(seq, row, body, email))
            except asyncio.CancelledError:
                self.record(seq, self.stop.outcome(row), row)
                raise
        for _ in range(workers):
            await queue.put(None)

    async def _work(self, queue: asyncio.Queue[_Work | None], sender: Sender) -> None:
        while (work := await queue.get()) is not None:
            if self.stop.is_set():
                self.record(work.seq, self.stop.outcome(work.row), work.row)
                continue
            self.in_flight[work.seq] = work
            outcome = await self._send_one(sender, work)
            del self.in_flight[work.seq]
            self.record(work.seq, outcome, work.row)

    async def _send_one(self, sender: Sender, work: _Work) -> RowOutcome:
        try:
            return await sender.send(work.row.row_number, work.body, work.email)
        except FatalApiError as error:
            self.stop.set(f"the API answered {error.status}: {error.message}", Code.RUN_STOPPED)
            reject = Reject(work.row.row_number, Code.RUN_STOPPED, f"not sent: {self.stop.reason}")
            return RowOutcome(
                work.row.row_number,
                Status.NOT_ATTEMPTED,
                http_status=error.status,
                attempts=1,
                rejects=(reject,),
            )

    async def _finish(
        self,
        producer: asyncio.Task[None],
        workers: list[asyncio.Task[None]],
        queue: asyncio.Queue[_Work | None],
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
                    task.result()
            if pending:
                rest: asyncio.Future[Any] = asyncio.gather(*pending, return_exceptions=True)
                forced: asyncio.Future[Any] = asyncio.create_task(self.stop.forced.wait())
                await asyncio.wait(
                    {rest, forced}, timeout=self.options.stop_grace, return_when=FIRST_COMPLETED
                )
                forced.cancel()
        finally:
            stopping.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._settle_leftovers(queue)

    def _settle_leftovers(self, queue: asyncio.Queue[_Work | None]) -> None:
        """After a stop: give every row nobody finished its one outcome."""
        for work in sorted(self.in_flight.values(), key=lambda w: w.seq):
            reject = Reject(
                work.row.row_number,
                Code.OUTCOME_UNKNOWN,
                "interrupted while being sent: it may or may not have been created; "
                "check the ATS (or re-run with --resume) before importing it again",
            )
            outcome = RowOutcome(work.row.row_number, Status.REJECTED, rejects=(reject,))
            self.record(work.seq, outcome, work.row)
        self.in_flight.clear()
        while not queue.empty():
            queued = queue.get_nowait()
            if queued is not None:
                self.record(queued.seq, self.stop.outcome(queued.row), queued.row)
        for seq, row in self._rows:
            self.record(seq, self.stop.outcome(row), row)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """Ctrl-C / SIGTERM: stop taking rows, finish what is in flight; twice: stop now."""
        if (
            not self.options.handle_signals
            or threading.current_thread() is not threading.main_thread()
        ):
            yield
            return

        def on_signal(*_: object) -> None:
            if self.stop.is_set():
                self.stop.forced.set()
            self.stop.set("interrupted", Code.INTERRUPTED)

        signals = (signal.SIGINT, signal.SIGTERM)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            previous = {sig: signal.signal(sig, on_signal) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
            return
        for sig in signals:
            loop.add_signal_handler(sig, on_signal)
        try:
            yield
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)


def _rejected(row: SourceRow, reject: Reject) -> RowOutcome:
    return RowOutcome(row.row_number, Status.REJECTED, rejects=(reject,))


def _ragged(row: SourceRow, width: int) -> Reject:
    cells = len(row.values)
    if cells > width:
        extra = ", ".join(repr(v) for v in row.values[width:])
        detail = f"extra cells: {extra}"
    else:
        detail = "the missing cells are left empty in rejects.csv"
    return Reject(
        row.row_number,
        Code.RAGGED_ROW,
        f"row has {cells} cells but the header has {width} ({detail}); "
        "check for a stray or missing delimiter or quote in this row",
    )
