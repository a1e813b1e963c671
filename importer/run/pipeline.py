"""The import run: read → map → validate → bounded queue → paced worker pool → record."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import signal
import threading
import uuid
from asyncio import FIRST_COMPLETED
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from importer.clock import Clock, SystemClock
from importer.errors import Code, ConfigError, FatalApiError, Reject
from importer.mapping import (
    Mapping,
    Prepared,
    RowMapper,
    load_mapping,
    normalise_header,
    template_parts,
)
from importer.read.records import MAX_CELL_MB
from importer.read.tables import SourceRow, Table, open_table
from importer.record.journal import (
    JOURNAL_FILE,
    Imported,
    ImportState,
    Journal,
    JournalRow,
    RunIdentity,
    file_sha256,
    row_hash,
    unfinished_run,
)
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import Counts, ImportSummary, Recorder
from importer.run.firstrows import FirstRows
from importer.run.parallel import SERIAL_ROWS, PreparePool, default_workers
from importer.send.client import DEFAULT_BASE_URL, ApiClient
from importer.send.pacer import pacer_for
from importer.send.retry import RetryPolicy
from importer.send.sender import Sender, SendStats

SANDBOX_API_KEY = "sandbox"
SANDBOX_ACCOUNT_ID = "sandbox"
# The note of a row created by an earlier session of the same run, reported but not re-sent.
RESUMED = "resumed"


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
    """Everything ``run_import`` takes besides the input file; the CLI flags map onto these.

    ``resume`` continues the run journaled in ``out_dir``; ``state`` is the cross-run file of
    keys already imported. ``journal=False`` keeps no journal, so the run cannot be resumed:
    for throwaway imports and for measuring what the journal costs. ``workers`` is how many
    processes map and validate the rows of a long dry run besides this one (None: one per core
    beyond the first; 0: none). ``max_cell_mb``: the longest CSV cell read, in MiB of characters.
    """

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
    resume: bool = False
    state: str | Path | None = None
    journal: bool = True
    workers: int | None = None
    max_cell_mb: int = MAX_CELL_MB


@dataclass(slots=True)
class _Work:
    seq: int
    row: SourceRow
    body: bytes
    email: str | None
    key: str | None = None
    # In flight when an earlier session stopped: it may exist, so look it up before sending.
    verify: bool = False


# A row settled without sending, and its key.
_Settled = tuple[RowOutcome, str | None]


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
    if options.resume and options.dry_run:
        raise ConfigError("--resume continues a journaled run: it cannot go with --dry-run")
    if options.resume and not options.journal:
        raise ConfigError("resume=True continues a journaled run: it needs journal=True")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    start = options.clock.now()
    with open_table(
        input_path,
        sheet=options.sheet,
        encoding=options.encoding,
        header_row=options.header_row,
        max_cell_mb=options.max_cell_mb,
    ) as table:
        if not options.dry_run:
            table.check_complete()  # a file cut inside a quoted cell is refused before sending
        mapper = mapping.bind(table.headers, source=str(input_path))
        keys = _RowKey(mapping, table.headers)
        out_dir = Path(options.out_dir)
        async with AsyncExitStack() as stack:
            target, api_key, account_id = await _target(options, stack)
            state = _open_state(options, keys, str(input_path))
            if state is not None:
                stack.callback(state.close)
            journal = _open_journal(input_path, table, mapping, options)
            if journal is not None:
                stack.callback(journal.close)
                if state is not None:
                    state.after(journal)
            recorder = Recorder(out_dir, table.headers)
            run = _Run(
                table, mapping, mapper, options, recorder, keys, journal, state, str(input_path)
            )
            try:
                if options.dry_run:
                    run.dry_run()
                else:
                    await run.send(target, api_key, account_id)
            finally:
                recorder.close()
            if journal is not None:
                journal.finish(run.stop.reason if run.stop.is_set() else None)
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
        journal=None if journal is None else str(journal.path),
        state=None if state is None else str(state.path),
        resumed=journal is not None and journal.resumed,
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


def _destination(options: ImportOptions) -> tuple[str, str | None]:
    """Where rows go, as the journal and the state name it: the sandbox, or URL and account."""
    if options.sandbox:
        return "sandbox", options.account_id or SANDBOX_ACCOUNT_ID
    return options.base_url.rstrip("/"), options.account_id


def _open_state(options: ImportOptions, keys: _RowKey, input_name: str) -> ImportState | None:
    if options.state is None:
        return None
    if not keys.readable:
        raise ConfigError(
            f"--state needs each row's key, but the mapping's key \"{keys.name}\" is not a "
            f"column of {input_name}: set the mapping's key: to a column or field this file has"
        )
    if Path(options.state).resolve() == (Path(options.out_dir) / JOURNAL_FILE).resolve():
        raise ConfigError(f"--state {options.state} is the run's journal: give another file")
    target, account_id = _destination(options)
    if account_id is None:
        raise ConfigError(
            "--state remembers imports per account: pass --account-id or set STACKONE_ACCOUNT_ID"
        )
    return ImportState.open(options.state, target, account_id)


def _open_journal(
    input_path: str | Path, table: Table, mapping: Mapping, options: ImportOptions
) -> Journal | None:
    """The run's journal in ``out_dir``; a dry run keeps none but must not clobber one."""
    out_dir = Path(options.out_dir)
    if options.dry_run or not options.journal:
        unfinished = unfinished_run(out_dir)
        if unfinished is not None:
            raise ConfigError(
                f"{out_dir} holds {unfinished}: choose another --out, or finish that run first "
                "with `importer run ... --resume`"
            )
        return None
    target, account_id = _destination(options)
    reading = [
        table.kind,
        *(f"{name} {value!r}" for name, value in _reading(table)),
        f"header row {options.header_row}",
    ]
    identity = RunIdentity(
        input=str(input_path),
        input_sha256=file_sha256(input_path),
        reading=", ".join(reading),
        mapping=str(mapping.source),
        # The parsed mapping, so a comment or a reformatted file does not block --resume.
        mapping_sha256=hashlib.sha256(mapping.model_dump_json().encode()).hexdigest(),
        target=target,
        account_id=account_id or "",
        state=None if options.state is None else str(options.state),
    )
    return Journal.open(out_dir, identity, resume=options.resume, rows=table.rows)


def _reading(table: Table) -> list[tuple[str, str]]:
    settings = [
        ("encoding", table.encoding),
        ("delimiter", table.delimiter),
        ("sheet", table.sheet),
    ]
    return [(name, value) for name, value in settings if value is not None]


class _RowKey:
    """The mapping's ``key`` of a row: the value it sends in a field, or a column's cell.

    E-mails are compared case-insensitively, so an e-mail key is case-folded; other keys (such
    as a legacy ATS's candidate id) are compared as typed, less surrounding spaces.
    """

    def __init__(self, mapping: Mapping, headers: Sequence[str]) -> None:
        self.name = mapping.key
        self.path: tuple[str, ...] | None = None
        self.column: int | None = None
        present = {normalise_header(header) for header in headers}
        spec = next((s for path, s, _ in mapping.specs() if path == f"fields.{self.name}"), None)
        if spec is not None:
            if "[" in self.name:
                raise ConfigError(
                    f'{mapping.source}: key "{self.name}" is one entry of a list, which cannot '
                    "identify a candidate; name a column, or a single-value field such as email"
                )
            self.path = tuple(self.name.split("."))
            sources = list(spec.column or [])
            if spec.template is not None:
                sources += [name for _, name in template_parts(spec.template)[1]]
            # An optional column the file lacks leaves the field, and so the key, always empty.
            self.readable = any(normalise_header(name) in present for name in sources)
        elif "key" in mapping.model_fields_set:
            wanted = normalise_header(self.name)
            self.column = next(
                (i for i, header in enumerate(headers) if normalise_header(header) == wanted), None
            )
            self.readable = self.column is not None
        else:
            self.readable = False
        self.headers = headers
        self.fold = self.path == ("email",)

    def of(self, row: SourceRow, body: dict[str, Any] | None) -> str | None:
        """The row's key; a field's key needs the row's body (None for rejected rows)."""
        value: object = None
        if self.column is not None:
            value = row.values[self.column] if self.column < len(row.values) else None
        elif self.path is not None and body is not None:
            value = body
            for part in self.path:
                value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return None
        text = str(value).strip()
        if not text:
            return None
        return text.casefold() if self.fold else text

    def reject(self, row_number: int, code: Code, message: str, key: str) -> Reject:
        column = self.headers[self.column] if self.column is not None else None
        field = ".".join(self.path) if self.path is not None else None
        return Reject(row_number, code, message, field=field, column=column, value=key)


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
        self,
        table: Table,
        mapping: Mapping,
        mapper: RowMapper,
        options: ImportOptions,
        recorder: Recorder,
        keys: _RowKey,
        journal: Journal | None,
        state: ImportState | None,
        input_name: str,
    ) -> None:
        self.table = table
        self.mapping = mapping
        self.mapper = mapper
        self.options = options
        self.recorder = recorder
        self.keys = keys
        self.journal = journal
        self.state = state
        self.input_name = input_name
        self.run_id = journal.run_id if journal is not None else str(uuid.uuid4())
        self.resuming = journal is not None and journal.resumed
        self.stop = _Stop()
        self.stats: SendStats | None = None
        self.in_flight: dict[int, _Work] = {}
        # Compact tables rather than dicts of strings: a million e-mails in a dict take ~150 MB.
        self.first_row_of = FirstRows()
        self.first_row_of_key = FirstRows()
        self._rows = enumerate(table.rows)
        self.width = table.width
        self.total = _estimate_rows(table) if options.on_progress else None
        self.started = options.clock.now()
        self.last_progress = self.started

    # -- read → map → validate -------------------------------------------------------------

    def check(
        self, row: SourceRow, prepared: Prepared | None = None
    ) -> RowOutcome | tuple[bytes, str | None, str | None]:
        """A final outcome for a row that cannot be sent, or the body to send, e-mail and key.

        ``prepared`` is the row already mapped and validated (by a worker process, which
        leaves blank and ragged rows to this one).
        """
        if row.problem is not None:
            return _rejected(row, row.problem)
        if prepared is None:
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
            first = self.first_row_of.first(key, row.row_number)
            if first != row.row_number:
                column, cell = self.mapper.source_of("email", row)
                where = f'column "{column}": ' if column else ""
                reject = Reject(
                    row.row_number,
                    Code.DUPLICATE_IN_FILE,
                    f"{where}e-mail {prepared.email} already appears in row {first}; "
                    "remove one of the two rows or give them different e-mails",
                    field="email",
                    column=column,
                    value=cell or prepared.email,
                )
                return _rejected(row, reject)
        row_key = self.keys.of(row, prepared.body)
        if row_key is not None and not self.keys.fold:
            first = self.first_row_of_key.first(row_key, row.row_number)
            if first != row.row_number:
                message = (
                    f"{self.keys.name} {row_key} already appears in row {first}, and it is the "
                    "mapping's key, which identifies a candidate; remove one of the two rows "
                    "or correct the value"
                )
                reject = self.keys.reject(row.row_number, Code.DUPLICATE_IN_FILE, message, row_key)
                return _rejected(row, reject)
        return orjson.dumps(prepared.body), prepared.email, row_key

    def prepare(
        self, seq: int, row: SourceRow, prepared: Prepared | None = None
    ) -> _Work | _Settled:
        """Check a row, then settle it by what earlier sessions and earlier runs did with it."""
        checked = self.check(row, prepared)
        previous = None
        if self.resuming:
            assert self.journal is not None
            previous = self.journal.previous(row.row_number)
            if previous is not None and previous.created:
                return self._resumed(row, previous), previous.key
        if isinstance(checked, RowOutcome):
            return checked, None
        body, email, key = checked
        if self.state is not None and key is not None:
            earlier = self.state.get(key)
            # Created by this very run: its journal says how, so it is not "already imported".
            if earlier is not None and earlier.run_id != self.run_id:
                return self._already_imported(row, key, earlier), key
        return _Work(seq, row, body, email, key, verify=previous is not None and previous.in_doubt)

    def _resumed(self, row: SourceRow, previous: JournalRow) -> RowOutcome:
        if self.state is not None and previous.key is not None:
            # The state commits after the journal: a crash in between left the state behind.
            self.state.add(
                Imported(
                    key=previous.key,
                    id=previous.id,
                    remote_id=previous.remote_id,
                    created_at=previous.sent_at or datetime.now(UTC).isoformat(),
                    run_id=self.run_id,
                    input=self.input_name,
                    row_number=row.row_number,
                    row_hash=previous.row_hash,
                )
            )
        return RowOutcome(
            row.row_number,
            Status.CREATED,
            http_status=previous.http_status,
            attempts=previous.attempts or 0,
            id=previous.id,
            remote_id=previous.remote_id,
            note=RESUMED,
        )

    def _already_imported(self, row: SourceRow, key: str, earlier: Imported) -> RowOutcome:
        message = f"already imported {earlier.describe()}; not sent again"
        if earlier.row_hash is not None and earlier.row_hash != row_hash(row.values):
            message += "; the row has changed since: update the candidate in the ATS if needed"
        reject = self.keys.reject(row.row_number, Code.ALREADY_IMPORTED, message, key)
        return RowOutcome(
            row.row_number,
            Status.SKIPPED,
            id=earlier.id,
            remote_id=earlier.remote_id,
            rejects=(reject,),
        )

    def record(
        self,
        seq: int,
        outcome: RowOutcome,
        row: SourceRow,
        key: str | None = None,
        *,
        sent: bool = False,
        digest: bytes | None = None,
    ) -> None:
        """Report and journal a row's outcome; ``digest`` is its ``row_hash`` when known."""
        if key is None:
            key = self.keys.of(row, None)
        self.recorder.record(seq, outcome, row.values, key)
        if self.journal is not None and outcome.note != RESUMED:
            digest = digest or row_hash(row.values)
            self.journal.record(outcome, key, digest, sent=sent)
        if sent and self.state is not None and key is not None and outcome.status is Status.CREATED:
            digest = digest or row_hash(row.values)
            self.state.add(
                ImportState.created(
                    key, outcome, run_id=self.run_id, input=self.input_name, digest=digest
                )
            )
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
        with self._signals(blocking=True):
            for seq, row, mapped in self._dry_rows():
                if self.stop.is_set():
                    self.record(seq, self.stop.outcome(row), row)
                    continue
                prepared = self.prepare(seq, row, mapped)
                if isinstance(prepared, _Work):
                    outcome = RowOutcome(row.row_number, Status.NOT_ATTEMPTED, note="dry-run")
                    self.record(seq, outcome, row, prepared.key)
                else:
                    outcome, key = prepared
                    self.record(seq, outcome, row, key)
        self.final_progress()

    def _dry_rows(self) -> Iterator[tuple[int, SourceRow, Prepared | None]]:
        """The rows, mapped and validated by worker processes once the file proves long."""
        for seq, row in itertools.islice(self._rows, SERIAL_ROWS):
            yield seq, row, None
        workers = self.options.workers
        if workers is None:
            workers = default_workers()
        following = next(self._rows, None)
        if following is None:
            return
        rows = itertools.chain((following,), self._rows)
        if workers < 1:
            yield from ((seq, row, None) for seq, row in rows)
            return
        keep = self.keys.path[0] if self.keys.path is not None else None
        pool = PreparePool(
            self.mapping, self.mapper, self.table.headers, self.input_name, keep, workers
        )
        with pool:
            yield from pool.prepared(rows, stopped=self.stop.is_set)

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
            prepared = self.prepare(seq, row)
            if not isinstance(prepared, _Work):
                outcome, key = prepared
                self.record(seq, outcome, row, key)
                if seq % 512 == 0:
                    # mapping is CPU work: let the workers read their answers now and then
                    await asyncio.sleep(0)
                continue
            try:
                await queue.put(prepared)
            except asyncio.CancelledError:
                self.record(seq, self.stop.outcome(row), row, prepared.key)
                raise
        for _ in range(workers):
            await queue.put(None)

    async def _work(self, queue: asyncio.Queue[_Work | None], sender: Sender) -> None:
        while (work := await queue.get()) is not None:
            if self.stop.is_set():
                self.record(work.seq, self.stop.outcome(work.row), work.row, work.key)
                continue
            self.in_flight[work.seq] = work
            digest = None
            if self.journal is not None:
                digest = row_hash(work.row.values)
                # Committed before the request leaves: a crash from here on leaves it in doubt.
                await self.journal.sending(work.row.row_number, work.key, digest)
            outcome = await self._send_one(sender, work)
            del self.in_flight[work.seq]
            self.record(work.seq, outcome, work.row, work.key, sent=True, digest=digest)
            if self.journal is not None and not work.email:
                # Resume could not look this row up, so its outcome cannot wait for the next
                # commit: a crash meanwhile would leave it outcome-unknown.
                self.journal.commit()

    async def _send_one(self, sender: Sender, work: _Work) -> RowOutcome:
        send = sender.verify_then_send if work.verify else sender.send
        try:
            return await send(work.row.row_number, work.body, work.email)
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
            self.record(work.seq, outcome, work.row, work.key, sent=True)
        self.in_flight.clear()
        while not queue.empty():
            queued = queue.get_nowait()
            if queued is not None:
                self.record(queued.seq, self.stop.outcome(queued.row), queued.row, queued.key)
        for seq, row in self._rows:
            self.record(seq, self.stop.outcome(row), row)

    @contextmanager
    def _signals(self, *, blocking: bool = False) -> Iterator[None]:
        """Ctrl-C / SIGTERM: stop taking rows, finish what is in flight; twice: stop now.

        ``blocking``: the caller never hands control back to the event loop (the dry run), so
        the loop could not run its handlers: Python's own run between the caller's lines.
        """
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
        loop = None
        if not blocking:
            with suppress(RuntimeError):  # no loop: Python's handlers do
                loop = asyncio.get_running_loop()
        if loop is None:
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
