"""Recording: results.csv, rejects.csv and remaining.csv in input order, and the summary counts."""

from __future__ import annotations

import csv
import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from importer.errors import Code, Note, Reject, RowWarning
from importer.read.escape import REJECTS_EXTRA_COLUMNS, escape_formula
from importer.record.outcomes import RowOutcome, Status
from importer.record.workbook import RejectsWorkbook

RESULTS_COLUMNS = [
    "row_number",
    "status",
    "http_status",
    "attempts",
    "id",
    "remote_id",
    "error_code",
    "error_message",
    "note",
    "key",
    "warnings",
]
# Excel runs a cell that starts like a formula: every cell the reports write is escaped, and
# reading rejects.csv back unescapes the user's cells (importer.read.escape).
_safe = escape_formula
# Read once: Python 3.11 looks a class's attribute up in full each time (~900 instructions),
# and _write tests these on every row.
_REJECTED, _NOT_ATTEMPTED, _DRY_RUN = Status.REJECTED, Status.NOT_ATTEMPTED, Note.DRY_RUN


def _as_typed(text: str) -> str:
    return text


def csv_line(fields: Sequence[str]) -> str | None:
    """The line ``csv.writer`` (excel dialect) writes for ``fields``, or None to let it write
    one: a value that is not text, or a lone empty field (which it writes as "")."""
    try:
        line = ",".join(fields)
    except TypeError:  # a value that is not text (an id from elsewhere): csv.writer spells it
        return None
    # csv.writer tests one character at a time against every special character: joining the
    # fields (and quoting the few that hold a comma, a quote or a line break, as rows with
    # warnings do) writes the same line in half the time. The tests compare the two.
    plain = '"' not in line and "\n" not in line and "\r" not in line
    if plain and line.count(",") == len(fields) - 1:
        return line + "\r\n" if line or len(fields) > 1 else None
    quoted = (
        '"' + cell.replace('"', '""') + '"'
        if "," in cell or '"' in cell or "\n" in cell or "\r" in cell
        else cell
        for cell in fields
    )
    return ",".join(quoted) + "\r\n"


def join_codes(rejects: Sequence[Reject]) -> str:
    return ";".join(dict.fromkeys(str(r.code) for r in rejects))


def join_messages(rejects: Sequence[Reject]) -> str:
    return "; ".join(r.message for r in rejects)


def join_warnings(warnings: Sequence[RowWarning]) -> str:
    """results.csv's ``warnings`` cell: each code and its message (which hold semicolons)."""
    return " | ".join(f"{w.code}: {w.message}" for w in warnings)


@dataclass
class Counts:
    """What happened so far: the numbers progress lines and summary.json are made of."""

    rows: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_code: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    by_warning: Counter[str] = field(default_factory=Counter)
    """Warnings by code (a row with two of a code counts twice)."""
    warned: int = 0
    """Rows with at least one warning."""

    def add(self, outcome: RowOutcome) -> None:
        # Unpacked at once: Python 3.11 reads a named tuple's fields each by a slow attribute
        # lookup, and this runs for every row.
        _, status, _, _, _, _, rejects, note, warnings = outcome
        self.rows += 1
        self.by_status[status] += 1
        if rejects:
            for code in dict.fromkeys(r.code for r in rejects):
                self.by_code[code] += 1
        if note:
            self.notes[note] += 1
        if warnings:
            self.warned += 1
            for warning in warnings:
                self.by_warning[warning.code] += 1

    @property
    def created(self) -> int:
        return self.by_status[Status.CREATED]

    @property
    def rejected(self) -> int:
        return self.by_status[Status.REJECTED]

    @property
    def skipped(self) -> int:
        return self.by_status[Status.SKIPPED]

    @property
    def not_attempted(self) -> int:
        return self.by_status[Status.NOT_ATTEMPTED]


class Recorder:
    """Writes each row's outcome to results.csv in input order; a rejected row also to
    rejects.csv and rejects.xlsx (made at the first reject), and a row not sent because the run
    stopped to remaining.csv (made only then), all with the row's own cells, ready to be
    imported again.

    Workers finish rows out of order; outcomes wait in a small heap until every earlier row
    is done, so the files stream to disk and never hold the whole input.
    """

    def __init__(
        self,
        out_dir: Path,
        headers: Sequence[str],
        *,
        account_column: int | None = None,
        delimiter: str | None = None,
    ) -> None:
        """``account_column``: the input column of each row's account, when the run routes
        rows to several accounts; results.csv then ends with an ``account`` column.
        ``delimiter``: the input's, which rejects.csv takes when Excel opens it in columns
        (a comma, or the semicolon of European Excel)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        self.results_path = out_dir / "results.csv"
        self.rejects_path = out_dir / "rejects.csv"
        self.rejects_xlsx_path = out_dir / "rejects.xlsx"
        self.remaining_path = out_dir / "remaining.csv"
        # an earlier run's files would be taken for this one's
        self.rejects_xlsx_path.unlink(missing_ok=True)
        self.remaining_path.unlink(missing_ok=True)
        self._workbook: RejectsWorkbook | None = None
        self._workbook_full = False
        self._headers = list(headers)
        self._remaining: Any = None
        self.width = len(headers)
        self.counts = Counts()
        self._files = ExitStack()
        results_file = self._files.enter_context(
            self.results_path.open("w", newline="", encoding="utf-8")
        )
        # utf-8-sig so Excel shows non-ASCII names right when the user opens the rejects file
        rejects_file = self._files.enter_context(
            self.rejects_path.open("w", newline="", encoding="utf-8-sig")
        )
        self._results_file = results_file
        self._results = csv.writer(results_file)
        self.rejects_delimiter = delimiter if delimiter in (",", ";") else ","
        self._rejects = csv.writer(rejects_file, delimiter=self.rejects_delimiter)
        self._account_column = account_column
        self._results.writerow(
            RESULTS_COLUMNS if account_column is None else [*RESULTS_COLUMNS, "account"]
        )
        self._rejects.writerow([*headers, *REJECTS_EXTRA_COLUMNS])
        self._next = 0
        self._pending: list[tuple[int, RowOutcome, tuple[str, ...], str | None]] = []
        self.first_rejects: list[Reject] = []
        self.first_warnings: list[RowWarning] = []

    def record(
        self, seq: int, outcome: RowOutcome, values: tuple[str, ...], key: str | None = None
    ) -> None:
        """Take the outcome of the ``seq``-th data row (0-based, in input order) and its key."""
        if seq == self._next and not self._pending:
            # Rows mostly arrive in order: write at once, the heap stays empty.
            self._write(outcome, values, key)
            self._next = seq + 1
            return
        heapq.heappush(self._pending, (seq, outcome, values, key))
        while self._pending and self._pending[0][0] == self._next:
            _, outcome, values, key = heapq.heappop(self._pending)
            self._write(outcome, values, key)
            self._next += 1

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _write(self, outcome: RowOutcome, values: tuple[str, ...], key: str | None) -> None:
        self.counts.add(outcome)
        number, status, http_status, attempts, id_, remote_id, rejects, note, warnings = outcome
        fields = [
            str(number),
            status,
            "" if http_status is None else str(http_status),
            str(attempts),
            id_ or "",
            remote_id or "",
            join_codes(rejects) if rejects else "",
            _safe(join_messages(rejects)) if rejects else "",
            note or "",
            "" if key is None else _safe(key),
            _safe(join_warnings(warnings)) if warnings else "",
        ]
        if self._account_column is not None:
            account = values[self._account_column] if self._account_column < len(values) else ""
            fields.append(_safe(account.strip()))
        line = csv_line(fields)
        if line is not None:
            self._results_file.write(line)
        else:
            self._results.writerow(fields)
        if warnings and len(self.first_warnings) < 50:
            self.first_warnings.extend(warnings[: 50 - len(self.first_warnings)])
        if status is _REJECTED:
            if len(self.first_rejects) < 50:
                self.first_rejects.extend(rejects[: 50 - len(self.first_rejects)])
            self._rejects.writerow(self._row_and_why(outcome, values, _safe))
            if not self._workbook_full:
                self._add_to_workbook(self._row_and_why(outcome, values, _as_typed))
        elif status is _NOT_ATTEMPTED and note is not _DRY_RUN:
            self._remaining_writer().writerow(self._row_and_why(outcome, values, _safe))

    def _row_and_why(
        self, outcome: RowOutcome, values: tuple[str, ...], text: Callable[[str], str]
    ) -> list[str]:
        """The row's cells as read, then why it is in this file; each text cell through
        ``text`` (formula-safe for a CSV, as typed for a workbook)."""
        rejects = outcome.rejects
        cells = [text(value) for value in values[: self.width]]
        cells.extend([""] * (self.width - len(cells)))
        return [
            *cells,
            str(outcome.row_number),
            join_codes(rejects),
            ";".join(r.field or r.column or "" for r in rejects),
            text(join_messages(rejects)),
        ]

    def _add_to_workbook(self, cells: list[str]) -> None:
        if self._workbook is None:
            self._workbook = RejectsWorkbook(
                self.rejects_xlsx_path, [*self._headers, *REJECTS_EXTRA_COLUMNS]
            )
        if not self._workbook.write(cells):
            # More rows than a sheet holds, or a cell longer than Excel's: Excel would open none
            # of it (or offer to repair it, cutting the cell); rejects.csv has every row.
            self._workbook.discard()
            self._workbook = None
            self._workbook_full = True

    def _remaining_writer(self) -> Any:
        if self._remaining is None:
            remaining_file = self._files.enter_context(
                self.remaining_path.open("w", newline="", encoding="utf-8-sig")
            )
            self._remaining = csv.writer(remaining_file, delimiter=self.rejects_delimiter)
            self._remaining.writerow([*self._headers, *REJECTS_EXTRA_COLUMNS])
        return self._remaining

    def close(self) -> None:
        """Finish the files. After a failure (a full disk) every file is closed all the same,
        and rejects.xlsx and remaining.csv are deleted: unfinished, Excel would not open the
        one, and the other would pass for every row left to send (--resume knows them)."""
        try:
            with self._files:
                # Rows still pending here can only follow a gap, which the pipeline never
                # leaves; write them anyway rather than lose them.
                while self._pending:
                    _, outcome, values, key = heapq.heappop(self._pending)
                    self._write(outcome, values, key)
                if self._workbook is not None:
                    self._workbook.close()
        except BaseException:
            if self._workbook is not None:
                self._workbook.discard()
            self.remaining_path.unlink(missing_ok=True)
            raise


@dataclass
class ImportSummary:
    """The run as a value: what the CLI prints, summary.json holds and the Python API returns."""

    input: str
    mapping: str
    out_dir: str
    dry_run: bool
    target: str | None
    account_id: str | None
    counts: Counts
    requests_by_status: dict[str, int]
    retries: int
    waited_seconds: float
    lookups: int
    started_at: str
    duration_seconds: float
    stopped_early: bool = False
    stop_reason: str | None = None
    first_rejects: list[Reject] = field(default_factory=list)
    first_warnings: list[RowWarning] = field(default_factory=list)
    journal: str | None = None
    state: str | None = None
    resumed: bool = False
    notices: list[str] = field(default_factory=list)
    """What the run has to say about how it read the file (the header row of a rejects report)."""

    @property
    def exit_code(self) -> int:
        """0 all created or skipped · 1 finished with rejects · 3 stopped early: the codes
        scripts and schedulers rely on (2, nothing sent, is a ConfigError before any row)."""
        if self.stopped_early:
            return 3
        return 1 if self.counts.rejected else 0

    @property
    def rows_per_second(self) -> float:
        return self.counts.rows / self.duration_seconds if self.duration_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        # "notices" only when there is one: the summaries of ordinary runs stay as they were
        notices = {"notices": list(self.notices)} if self.notices else {}
        counts = self.counts
        return {
            "input": self.input,
            "mapping": self.mapping,
            "out_dir": self.out_dir,
            "dry_run": self.dry_run,
            "target": self.target,
            "account_id": self.account_id,
            "journal": self.journal,
            "state": self.state,
            "resumed": self.resumed,
            "rows": counts.rows,
            "by_status": {status.value: counts.by_status[status] for status in Status},
            "by_error_code": dict(sorted(counts.by_code.items())),
            "rows_with_warnings": counts.warned,
            "by_warning_code": dict(sorted(counts.by_warning.items())),
            "notes": dict(sorted(counts.notes.items())),
            "requests_by_status": dict(sorted(self.requests_by_status.items())),
            "retries": self.retries,
            "waited_seconds": round(self.waited_seconds, 3),
            "duplicate_lookups": self.lookups,
            "started_at": self.started_at,
            "duration_seconds": round(self.duration_seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "stopped_early": self.stopped_early,
            "stop_reason": self.stop_reason,
            "exit_code": self.exit_code,
            "first_rejects": [
                {
                    "row_number": r.row_number,
                    "code": r.code.value,
                    "field": r.field,
                    "column": r.column,
                    "value": r.value,
                    "message": r.message,
                }
                for r in self.first_rejects
            ],
            "first_warnings": [
                {
                    "row_number": w.row_number,
                    "code": w.code.value,
                    "field": w.field,
                    "column": w.column,
                    "value": w.value,
                    "message": w.message,
                }
                for w in self.first_warnings
            ],
        } | notices


def render_summary(summary: ImportSummary, *, max_rejects: int = 10, max_warnings: int = 5) -> str:
    """The human summary the CLI prints to stderr."""
    c = summary.counts
    # a dry run sends nothing: the rows it would send are not_attempted with the note dry-run
    valid = c.notes.get(Note.DRY_RUN, 0)
    if summary.dry_run:
        parts = [f"{c.rows} rows", f"{valid} valid (not sent)"]
    else:
        parts = [f"{c.rows} rows", f"{c.created} created"]
    parts += [f"{c.rejected} rejected", f"{c.skipped} skipped"]
    not_sent = c.not_attempted - valid
    if not_sent:
        parts.append(f"{not_sent} not checked" if summary.dry_run else f"{not_sent} not sent")
    if summary.retries:
        parts.append(f"{summary.retries} retries")
    parts.append(f"{summary.duration_seconds:.1f}s ({summary.rows_per_second:.1f} rows/s)")
    lines = [("dry run: " if summary.dry_run else "") + " · ".join(parts)]
    lines += [f"note: {notice}" for notice in summary.notices]
    recovered = c.notes.get(Note.RECOVERED, 0)
    if recovered:
        lines.append(
            f"{recovered} rows recovered by the duplicate guard (created, found by e-mail)"
        )
    resumed = c.notes.get(Note.RESUMED, 0)
    if resumed:
        lines.append(f"{resumed} rows created before the restart were not sent again (resumed)")
    already = c.by_code.get(Code.ALREADY_IMPORTED, 0)
    if already:
        lines.append(
            f"{already} rows were created by an earlier import, as the ledger {summary.state} "
            "remembers (skipped; --reimport sends them anyway)"
        )
    if summary.stopped_early:
        lines.append(f"stopped early: {summary.stop_reason}")
    if c.warned:
        gone = "would go" if summary.dry_run else "went"
        rows = "1 row" if c.warned == 1 else f"{c.warned} rows"
        lines.append(
            f"{rows} {gone} ahead with warnings ("
            + ", ".join(f"{count} {code}" for code, count in sorted(c.by_warning.items()))
            + "): see the warnings column of results.csv"
        )
    out = Path(summary.out_dir)
    lines += _first_problems(
        "code", summary.first_rejects[:max_rejects], c.rejected, out / "rejects.csv"
    )
    lines += _first_problems(
        "warning", summary.first_warnings[:max_warnings], c.warned, out / "results.csv"
    )
    lines.append("")
    reports = f"reports: {Path(summary.out_dir) / 'results.csv'}, rejects.csv"
    if (out / "rejects.xlsx").is_file():  # only when Excel can open it whole
        reports += ", rejects.xlsx"
    reports += ", summary.json"
    if not_sent and not summary.dry_run:
        reports += f", remaining.csv (the {not_sent} rows not sent)"
    lines.append(reports)
    return "\n".join(lines)


def _first_problems(
    heading: str, shown: Sequence[Reject | RowWarning], rows: int, where: Path
) -> list[str]:
    """A small table of the first problems, and where the rest of the ``rows`` are listed."""
    if not shown:
        return []
    lines = ["", f"{'row':>6}  {heading:<20} {'column/field':<22} message"]
    for problem in shown:
        place = problem.column or problem.field or ""
        lines.append(
            f"{problem.row_number:>6}  {problem.code.value:<20} {place[:22]:<22} {problem.message}"
        )
    if rows - len({problem.row_number for problem in shown}) > 0:
        lines.append(f"        … and more: see {where}")
    return lines
