"""The import run: read → map → validate → bounded queue → paced worker pool → record.

One loop wires the stages: ``check`` (blank, ragged, mapping and validation, in-file
duplicates), ``settle`` (what earlier sessions and runs did), then ``dry`` or ``dispatch``, with
``sink`` the only writer of the reports, the journal, the ledger and progress.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from importer.errors import ConfigError, MissingColumnError, MissingSheetError, RunFailedError
from importer.mapping import Mapping, RowMapper, load_mapping
from importer.read.edits import edited
from importer.read.escape import REJECTS_EXTRA_COLUMNS
from importer.read.other_sheets import sheets_like, sheets_notice
from importer.read.sheet_view import hidden_rows_question, merged_notice
from importer.read.tables import Table, is_workbook, open_table
from importer.read.xlsx import list_sheets
from importer.record.journal import Journal
from importer.record.journal_file import unfinished_run
from importer.record.outdir import check_out_dir
from importer.record.report import ImportSummary, Recorder
from importer.record.run_identity import RunIdentity, file_sha256
from importer.run.accounts import RowAccount, RowLedgers, open_ledgers
from importer.run.check import Checker
from importer.run.date_order import DateOrder, check_dates_before_sending
from importer.run.dry import dry_run
from importer.run.keys import RowKey
from importer.run.options import ImportOptions, Progress
from importer.run.parallel import PreparePool
from importer.run.settle import Settler
from importer.run.sink import Sink
from importer.run.stages import Stages
from importer.run.stop import Stop, run_signals
from importer.send.pacing import Pacers, open_pacers

if TYPE_CHECKING:
    from importer.send.sender import SendStats

__all__ = ["ImportOptions", "Progress", "run_import", "run_import_async"]


def run_import(input_path: str | Path, options: ImportOptions) -> ImportSummary:
    """Import ``input_path`` as ``options`` say and return the summary.

    Writes results.csv, rejects.csv and summary.json to ``options.out_dir``. Raises
    ``ConfigError`` (nothing sent) for a bad mapping, input, or credentials.

    >>> summary = run_import("samples/candidates.csv",
    ...                      ImportOptions(mapping="mappings/default.yaml", account_id="acc_1",
    ...                                    api_key=key))
    >>> summary.counts.created
    """
    run = _prepared(input_path, options)
    try:
        with run_signals(run.stop, lambda: run.under_way, enabled=options.handle_signals):
            return asyncio.run(_to_the_end(run))
    except KeyboardInterrupt:
        # Ctrl-C before the stages began (the caller says nothing was done), or, with
        # handle_signals off, asyncio.run's own as the run closed
        if not run.under_way:
            raise
        raise RunFailedError(_unfinished(run, "interrupted")) from None


async def run_import_async(input_path: str | Path, options: ImportOptions) -> ImportSummary:
    """``run_import`` for callers that already run an event loop."""
    return await _to_the_end(_prepared(input_path, options))


def _prepared(input_path: str | Path, options: ImportOptions) -> _Run:
    mapping = (
        options.mapping
        if isinstance(options.mapping, Mapping)
        else load_mapping(Path(options.mapping))
    )
    if options.resume and options.dry_run:
        raise ConfigError("--resume continues a journaled run: it cannot go with --dry-run")
    if options.resume and not options.journal:
        raise ConfigError("resume=True continues a journaled run: it needs journal=True")
    check_out_dir(Path(options.out_dir), Path(input_path))
    return _Run(input_path, options, mapping)


async def _to_the_end(run: _Run) -> ImportSummary:
    try:
        return await run.run()
    except Exception as error:
        if not run.sending or isinstance(error, RunFailedError):
            raise
        from importer.run.dispatch import describe  # loaded by then: the run was sending

        raise RunFailedError(_unfinished(run, describe(error))) from error


def _unfinished(run: _Run, cause: str) -> str:
    """Why a run under way ended before its summary, and what to do about it."""
    if not run.sending:
        return (
            f"{cause} as the dry run ended: the reports in {run.out_dir} may be incomplete; "
            "run it again"
        )
    # Candidates may exist by now: "nothing sent" (exit 2) would be a lie.
    return (
        f"{cause}; requests were sent before this, so candidates may have been created: "
        f"{run.out_dir} keeps what could be written (results.csv, the journal); fix the cause, "
        "then finish with the same command and --resume"
    )


@dataclass(frozen=True)
class _Opened:
    """What a run has opened before its first row: the stages read these."""

    table: Table
    mapper: RowMapper
    keys: RowKey
    accounts: RowAccount
    credentials: tuple[str, str]
    ledger: RowLedgers | None
    journal: Journal | None
    pacers: Pacers | None


@dataclass(frozen=True)
class _Ran:
    """What the summary is made of once the stages are done and everything is closed."""

    recorder: Recorder
    stop: Stop
    stats: SendStats | None
    opened: _Opened


class _Run:
    """One run's loop: open what it needs, run the stages, close, write the summary."""

    def __init__(self, input_path: str | Path, options: ImportOptions, mapping: Mapping) -> None:
        self.input_path = input_path
        self.input_name = str(input_path)
        self.options = options
        self.mapping = mapping
        self.out_dir = Path(options.out_dir)
        self.sending = False
        """Requests may have left: a failure from here on is not 'nothing sent'."""
        self.under_way = False
        """Rows are being checked: Ctrl-C no longer means that none was."""
        self.stop = Stop()

    async def run(self) -> ImportSummary:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        start = self.options.clock.now()
        options, mapping = self.options, self.mapping
        sheet = options.sheet
        if sheet is None and is_workbook(Path(self.input_path)):
            sheet = mapping.sheet
        try:
            with open_table(
                self.input_path,
                sheet=sheet,
                encoding=options.encoding,
                header_row=options.header_row or mapping.header_row,
                limits=options.limits,
                max_cell_mb=options.max_cell_mb,
            ) as table:
                ran = await self._run_table(table)
        except MissingSheetError as error:
            if options.sheet is not None:
                raise
            raise ConfigError(
                f'{self.input_name} has no sheet "{error.sheet}", the sheet the mapping '
                f"{mapping.source} names; its sheets are: {error.sheets}: pass --sheet NAME, "
                "or change the mapping's sheet:"
            ) from None
        summary = self._summary(ran, started_at, options.clock.now() - start)
        self._write_summary(summary)
        return summary

    def _write_summary(self, summary: ImportSummary) -> None:
        """summary.json whole or not at all: an empty one (a full disk) would be taken for a
        run that ended, and contradict the exit code."""
        path = self.out_dir / "summary.json"
        try:
            path.write_text(
                json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
        except OSError as error:
            path.unlink(missing_ok=True)
            # a failed write names no file: the message would not say which
            raise OSError(error.errno, error.strerror, str(path)) from error

    async def _run_table(self, table: Table) -> _Ran:
        """Open the run's ledger, pacers and journal around the stages; close them whatever
        happens."""
        options, mapping, input_name = self.options, self.mapping, self.input_name
        if table.hidden_rows and options.hidden_rows is None:
            raise ConfigError(hidden_rows_question(table.path, table.sheet, table.hidden_rows))
        if not options.dry_run:
            table.check_complete()  # a file cut inside a quoted cell: refused before sending
            check_dates_before_sending(self.input_path, table, mapping, options)
        if options.edits:
            table.rows = edited(table.rows, options.edits, table.link_sources)
        # A dry run reads every row anyway: it sees the dates on the way, and says at its end
        # what would stop the import before sending.
        dates = DateOrder(mapping, table.headers, dry_run=True) if options.dry_run else None
        if dates:
            table.rows = dates.watched(table.rows)
        mapper = _bound(mapping, table, input_name, options)
        keys = RowKey(mapping, table.headers)
        account_column = options.account_column or (
            mapping.account.column if mapping.account is not None else None
        )
        accounts = RowAccount(account_column, table.headers, input_name, options.account_id)
        credentials = _credentials(options, routed=accounts.routed)
        pacers = None
        ledger = open_ledgers(options, keys, input_name, accounts)
        journal = None
        try:
            if not options.dry_run:
                # Redis is reached before the journal exists: a run it stops sent nothing
                pacers = await open_pacers(
                    options.pacer_url, credentials[1], options.rate, options.clock
                )
            journal = _open_journal(self.input_path, table, mapping, options, accounts, ledger)
            opened = _Opened(table, mapper, keys, accounts, credentials, ledger, journal, pacers)
            recorder, stop, stats = await self._run_stages(opened)
            if dates and not stop.is_set():
                try:
                    dates.check()
                except ConfigError as error:
                    # the rows' reports stand; an earlier run's summary would contradict them
                    (self.out_dir / "summary.json").unlink(missing_ok=True)
                    raise ConfigError(f"{self.input_path}: {error}") from None
        finally:
            if journal is not None:
                journal.close()
            if ledger is not None:
                ledger.close()
            if pacers is not None:
                await pacers.aclose()
        return _Ran(recorder, stop, stats, opened)

    async def _run_stages(self, opened: _Opened) -> tuple[Recorder, Stop, SendStats | None]:
        """Check, settle and send (or dry-run) every row; the recorder is closed at the end."""
        options, table, keys, journal = self.options, opened.table, opened.keys, opened.journal
        run_id = journal.run_id if journal is not None else str(uuid.uuid4())
        recorder = Recorder(
            self.out_dir,
            table.headers,
            account_column=opened.accounts.index,
            delimiter=table.delimiter,
        )
        total = _estimate_rows(table) if options.on_progress else None
        sink = Sink(options, recorder, keys, journal, opened.ledger, run_id, self.input_name, total)
        stages = Stages(
            rows=enumerate(table.rows),
            checker=Checker(
                opened.mapper,
                keys,
                table.width,
                opened.accounts,
                serialise=not options.dry_run,
                hidden=table.hidden_rows if options.hidden_rows == "skip" else frozenset(),
                headers=table.headers,
            ),
            settler=Settler(
                keys,
                journal,
                opened.ledger,
                run_id,
                self.input_name,
                reimport=options.reimport,
                look_up=options.dry_run,
            ),
            sink=sink,
            stop=self.stop,
        )
        stats = None
        self.under_way = True
        try:
            if options.dry_run:
                pool = self._pool(opened.mapper, keys, table)
                dry_run(stages, options.workers, pool, options.handle_signals)
            else:
                # Only a run that sends loads the HTTP client (aiohttp): a dry run's start-up
                # is a fifth of a second shorter without it.
                from importer.run.dispatch import send_rows

                assert opened.pacers is not None
                self.sending = True
                base_url, api_key = opened.credentials
                stats = await send_rows(
                    stages, options, opened.pacers, base_url, api_key, opened.accounts
                )
        finally:
            recorder.close()
        stop = stages.stop
        if journal is not None:
            journal.finish(stop.reason if stop.is_set() else None)
        return recorder, stop, stats

    def _summary(self, ran: _Ran, started_at: str, duration: float) -> ImportSummary:
        options, recorder, opened = self.options, ran.recorder, ran.opened
        journal, ledger, stop = opened.journal, opened.ledger, ran.stop
        return ImportSummary(
            input=self.input_name,
            mapping=str(self.mapping.source),
            out_dir=str(self.out_dir),
            dry_run=options.dry_run,
            target=None if options.dry_run else (options.target or opened.credentials[0]),
            account_id=None if options.dry_run or opened.accounts.routed else options.account_id,
            counts=recorder.counts,
            **_send_figures(ran.stats),
            started_at=started_at,
            duration_seconds=duration,
            stopped_early=stop.is_set(),
            stop_reason=stop.reason,
            first_rejects=recorder.first_rejects,
            first_warnings=recorder.first_warnings,
            journal=None if journal is None else str(journal.path),
            state=None if ledger is None else ledger.location,
            resumed=journal is not None and journal.resumed,
            notices=_notices(self.mapping, opened, options),
        )

    def _pool(self, mapper: RowMapper, keys: RowKey, table: Table) -> Callable[[int], PreparePool]:
        # only the field the run's key reads comes back from the workers
        keep = keys.path[0] if keys.path is not None else None

        def pool(workers: int) -> PreparePool:
            return PreparePool(self.mapping, mapper, table.headers, self.input_name, keep, workers)

        return pool


def _notices(mapping: Mapping, opened: _Opened, options: ImportOptions) -> list[str]:
    """What the summary says about how the file was read and what of it was not sent."""
    table = opened.table
    notices = [note for note in (table.header_note, table.encoding_note, table.links_note) if note]
    also = [*REJECTS_EXTRA_COLUMNS, *([opened.accounts.column] if opened.accounts.column else [])]
    # a twin of links whose every cell showed its own address holds nothing to send
    empty = set(table.link_columns) - table.links_held
    unread = [header for header in mapping.unread(table.headers, also) if header not in empty]
    if unread:
        shown = ", ".join(f'"{header}"' for header in unread[:_UNREAD_SHOWN])
        if len(unread) > _UNREAD_SHOWN:
            shown += f" and {len(unread) - _UNREAD_SHOWN} more"
        notices.append(
            f"{len(unread)} column{'s' if len(unread) > 1 else ''} of the file the mapping does "
            f"not read, so not sent: {shown}; if the ATS should have one, add it to a copy of "
            "the mapping (importer suggest-mapping writes one from the file)"
        )
    unnamed = table.unnamed.notice() if table.unnamed is not None else None
    if unnamed is not None:
        notices.append(unnamed)
    merged = merged_notice(table.merged, table.headers, unread)
    if merged is not None:
        notices.append(merged)
    if table.sheet is not None and options.sheet is None and mapping.sheet is None:
        # a sheet chosen by name is the one meant; the first visible one may not be all
        # the twins of links are the reader's, not the sheet's header
        own = [header for header in table.headers if header not in table.link_columns]
        alike = sheets_like(table.path, table.sheet, own, options.limits)
        if alike:
            notices.append(sheets_notice(table.sheet, alike))
    return notices


# Columns named in the notice of columns not sent; the rest are counted.
_UNREAD_SHOWN = 10


def _send_figures(stats: SendStats | None) -> dict[str, Any]:
    if stats is None:
        return {"requests_by_status": {}, "retries": 0, "waited_seconds": 0.0, "lookups": 0}
    return {
        "requests_by_status": dict(stats.requests_by_status),
        "retries": stats.retries,
        "waited_seconds": stats.waited_seconds,
        "lookups": stats.lookups,
    }


def _credentials(options: ImportOptions, *, routed: bool) -> tuple[str, str]:
    """Where to send and with which key (empty for a dry run); checks there is an account."""
    if options.dry_run:
        return "", ""
    if not options.api_key:
        raise ConfigError(
            "no API key: set STACKONE_API_KEY (or use --api-key-file), or try --sandbox"
        )
    if not options.account_id and not routed:
        raise ConfigError(
            "no account id: pass --account-id or set STACKONE_ACCOUNT_ID, or name the column "
            "of each row's account with --account-column"
        )
    return options.base_url, options.api_key


def _destination(options: ImportOptions, accounts: RowAccount) -> tuple[str, str | None]:
    """Where rows go, as the journal and the state name it: a named target, or URL and account."""
    account = f"per row, column {accounts.column}" if accounts.routed else options.account_id
    return options.target or options.base_url.rstrip("/"), account


def _bound(mapping: Mapping, table: Table, input_name: str, options: ImportOptions) -> RowMapper:
    """The mapping bound to the table's headers; when a mapped column is missing from a
    workbook's sheet, the error names the sheet and the workbook's other sheets (the candidates
    are often on a sheet after a cover or instructions sheet)."""
    if table.sheet is None:
        return mapping.bind(table.headers, source=input_name)
    where = f'{input_name}, sheet "{table.sheet}"'
    try:
        return mapping.bind(table.headers, source=where)
    except MissingColumnError as error:
        sheets = list_sheets(table.path, options.limits)
        others = [name for name, visible in sheets if visible and name != table.sheet]
        if not others:
            raise
        raise MissingColumnError(
            error.missing, error.headers, where, error.alternatives, others
        ) from None


def _open_journal(
    input_path: str | Path,
    table: Table,
    mapping: Mapping,
    options: ImportOptions,
    accounts: RowAccount,
    ledger: RowLedgers | None,
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
    target, account_id = _destination(options, accounts)
    reading = [
        table.kind,
        *(f"{name} {value!r}" for name, value in _reading(table)),
        f"header row {table.header_row}",
        # only a sheet that hides rows: the journals of every other file read as before
        *([f"hidden rows {options.hidden_rows}"] if table.hidden_rows else []),
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
        state=None if ledger is None else ledger.location,
    )
    # Routed rows' accounts are not in the journal: their scopes cannot be told.
    remember = ledger.remember if ledger is not None and not accounts.routed else None
    return Journal.open(
        out_dir, identity, resume=options.resume, rows=table.rows, remember=remember
    )


def _reading(table: Table) -> list[tuple[str, str]]:
    settings = [
        ("encoding", table.encoding),
        ("delimiter", table.delimiter),
        ("sheet", table.sheet),
    ]
    return [(name, value) for name, value in settings if value is not None]


def _estimate_rows(table: Table) -> int | None:
    """A quick upper bound of the data rows for progress (quoted newlines over-count a little)."""
    if table.kind != "csv":
        return None
    lines = 0
    with open(table.path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(0, lines - 1)
