"""Open a CSV or XLSX file as its header and a lazy stream of text rows numbered as in Excel."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from importer.errors import ConfigError, Reject
from importer.read import xlsx
from importer.read.encoding import check_encoding, detect_encoding, guess_note
from importer.read.escape import (
    is_rejects_file,
    is_rejects_header,
    rejects_header_note,
    unescape_formula,
)
from importer.read.headers import SAMPLE_ROWS, find_header_row
from importer.read.hyperlinks import CellLinks, link_headers, linked_values
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits, check_zip_directory
from importer.read.records import MAX_CELL_MB, CsvRecords, Record
from importer.read.sniff import check_content
from importer.read.unnamed import UnnamedColumns

CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
DELIMITERS = (",", ";", "\t", "|")
"""Delimiters a CSV is sniffed for, in order of preference when two fit equally well."""

_SAMPLE = 64 * 1024  # bytes the delimiter is sniffed from
_SNIFF_ROWS = 50
_SEP_LINE = re.compile(r"sep=(.)(\r\n?|\n)?", re.IGNORECASE)


class SourceRow(NamedTuple):
    """One data row: its spreadsheet row number and every cell as text, exactly as typed.

    A named tuple: one is made per row (twice with a worker process), in half the time a
    frozen dataclass's ``object.__setattr__`` per field takes."""

    row_number: int
    values: tuple[str, ...]
    problem: Reject | None = None
    """Why the reader could not read the row as it was meant (``unbalanced-quote``)."""

    @property
    def is_blank(self) -> bool:
        """No cell holds anything but whitespace (the pipeline skips these as ``blank-row``)."""
        return _is_blank(self.values)


@dataclass
class Table:
    """An opened input: its header cells and a one-pass stream of its data rows."""

    path: Path
    kind: str
    headers: list[str]
    rows: Iterator[SourceRow]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    engine: str | None = None
    """xlsx: "calamine", or "openpyxl" when the sheet is streamed."""
    header_row: int = 1
    """The spreadsheet row the headers were read from, given or found."""
    header_note: str | None = None
    """Why the headers were read from another row than the one given, for the run to say."""
    encoding_note: str | None = None
    """The encoding guessed, and how the file reads in it, for the run to say."""
    hidden_rows: frozenset[int] = frozenset()
    """The data rows a workbook's sheet hides (a filter, rows hidden by hand): read like any."""
    merged: tuple[str, ...] = ()
    """Cells merged over several data rows ("A2:A4"): only the first row holds the value."""
    unnamed: UnnamedColumns | None = None
    """The values the rows read so far hold under no header, which no mapping can read."""
    link_sources: tuple[int, ...] = ()
    """The reader adds a column of the web addresses a column's cells link to
    (``importer.read.hyperlinks``) at the end of ``headers`` for each of these positions."""
    links_held: set[str] = field(default_factory=set)
    """Those of ``link_columns`` whose cell held an address in a row read so far: the others
    hold only cells that show their own links."""
    links_note: str | None = None
    """Why a workbook's links were not read, for the run to say."""
    _check_complete: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def width(self) -> int:
        return len(self.headers)

    @property
    def link_columns(self) -> list[str]:
        """The headers of the columns of links the reader added (``link_sources``)."""
        return self.headers[len(self.headers) - len(self.link_sources) :]

    def is_ragged(self, row: SourceRow) -> bool:
        """The row has more or fewer cells than the header (blank rows never do)."""
        return len(row.values) != len(self.headers)

    def check_complete(self) -> None:
        """Raise ``ConfigError`` now if reading every row would end in one.

        A CSV that ends inside a quoted cell is found out only at its end; a real import calls
        this before it sends anything. Costs one fast pass over the file.
        """
        if self._check_complete is not None:
            self._check_complete()


@contextmanager
def open_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    streaming_threshold: int = xlsx.STREAMING_THRESHOLD,
    limits: WorkbookLimits = DEFAULT_LIMITS,
    max_cell_mb: int = MAX_CELL_MB,
) -> Iterator[Table]:
    """Open a .csv/.tsv/.txt or .xlsx/.xlsm file for one pass over its rows.

    Every cell arrives as text exactly as typed: nothing is parsed as a number, a date or a
    missing value. The header is row ``header_row`` (rows above it are ignored) and row numbers
    stay the spreadsheet's, so a CSV record spanning two lines is still one row. Without
    ``header_row`` the header is found (``find_header_row``): a title line, a note or blank
    rows above it are skipped, and ``Table.header_row`` says which row it was. Blank rows
    between data rows are yielded with every value ""; blank rows at the end are not. Rows with
    more or fewer cells than the header are yielded as they are (see ``Table.is_ragged``),
    except that empty cells past the header's width are dropped. A trailing run of empty
    header cells is dropped too. In a workbook, a merged cell's value is in its top-left cell
    and the other cells of the merge read as "". XLSX sheets larger than ``streaming_threshold``
    bytes of XML are streamed with openpyxl instead of loaded whole by calamine; both give the
    same rows. A workbook past ``limits`` is refused before it is loaded, and a header row
    wider than Excel's 16,384 columns is refused in any file. A CSV cell longer than
    ``max_cell_mb`` MiB of characters stops the reading, and so does a quote that is never
    closed (``Table.check_complete`` finds that out before the rows are read); see
    ``importer.read.records`` for quotes that swallow lines.

    Raises ``ConfigError``, whose message names the file and the fix, when the file cannot
    be read as a table.
    """
    path = Path(path)
    if header_row is not None and header_row < 1:
        raise ConfigError(f"--header-row must be 1 or more, not {header_row}")
    kind = _kind(path)
    _check_readable(path)
    # before anything opens it as a zip, the check of what the file is included
    check_zip_directory(path, limits)
    check_content(path, kind)
    with ExitStack() as stack:
        if kind == "csv":
            if sheet is not None:
                raise ConfigError(f"{path} is a CSV file: --sheet applies to .xlsx workbooks only")
            table = _open_csv(path, stack, encoding, header_row, max_cell_mb)
        else:
            if encoding is not None:
                raise ConfigError(f"{path} is a workbook: --encoding applies to CSV files only")
            table = _open_xlsx(path, stack, sheet, header_row, streaming_threshold, limits)
        if is_rejects_file(table.headers):
            table.rows = _unescaped(table.rows)
        yield table


def _unescaped(rows: Iterator[SourceRow]) -> Iterator[SourceRow]:
    """The rows of the importer's own rejects file, as the user typed them (``escape``)."""
    for row in rows:
        values = tuple(unescape_formula(value) for value in row.values)
        yield SourceRow(row.row_number, values, row.problem)


def is_workbook(path: Path) -> bool:
    """Whether ``path`` is read as a workbook (whose sheets ``--sheet`` chooses from)."""
    return path.suffix.lower() in XLSX_SUFFIXES


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if is_workbook(path):
        return "xlsx"
    if suffix == ".xls":
        return "xls"  # never read: its content says what it is (check_content), and the fix
    raise ConfigError(
        f"{path}: cannot read {suffix or 'extensionless'} files: "
        "use a .csv, .tsv or .txt file or an .xlsx or .xlsm workbook"
    )


def _check_readable(path: Path) -> None:
    try:
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise ConfigError(f"{path} not found: check the path and the current folder") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder: give the path of a file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _open_csv(
    path: Path, stack: ExitStack, encoding: str | None, header_row: int | None, max_cell_mb: int
) -> Table:
    guessed = None
    if encoding is None:
        encoding = detect_encoding(path)
        guessed = guess_note(path, encoding)
    else:
        encoding = check_encoding(path, encoding)
    text = stack.enter_context(open(path, encoding=encoding, newline=""))  # noqa: SIM115
    note = None
    if header_row is not None and header_row > 1 and _csv_own_report(path, text, max_cell_mb):
        header_row, note = 1, rejects_header_note(path.name, header_row)
    delimiter, sep_line = _delimiter(path, text, header_row)

    def records(file: io.TextIOBase, row: int, headers: Sequence[str] = ()) -> CsvRecords:
        if sep_line:
            file.readline(8)
        return CsvRecords(
            path, file, delimiter, max_cell_mb=max_cell_mb, header_row=row, headers=headers
        )

    if header_row is None:
        # Found in a first look at the top rows, so that every row below it is read alike.
        header_row, _ = _located_header(iter(records(text, 0)), None)
        text.seek(0)
    reading = records(text, header_row)
    stream = iter(reading)
    headers, header_cells = _read_header(str(path), stream, header_row)
    reading.headers = headers
    unnamed = UnnamedColumns(headers)
    rows = _data_rows(
        stream, unnamed, header_row, room=header_cells, pad=False, problems=reading.problems
    )
    found = header_row

    def check_complete() -> None:
        with open(path, encoding=encoding, newline="") as file:
            if records(file, found, headers).ends_cleanly():
                return
        with open(path, encoding=encoding, newline="") as file:
            for _ in records(file, found, headers):
                pass  # raises the error that names the row

    return Table(
        path,
        "csv",
        headers,
        rows,
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        header_note=note,
        encoding_note=guessed,
        unnamed=unnamed,
        _check_complete=check_complete,
    )


def _csv_own_report(path: Path, text: io.TextIOBase, max_cell_mb: int) -> bool:
    """Whether the CSV's row 1 is the header of the importer's own rejects report; ``text``
    is left at its start."""
    delimiter, sep_line = _delimiter(path, text, 1)
    if sep_line:
        text.readline(8)
    first = next(
        iter(CsvRecords(path, text, delimiter, max_cell_mb=max_cell_mb, header_row=0)), None
    )
    text.seek(0)
    return first is not None and is_rejects_header(*first)


def _delimiter(path: Path, text: io.TextIOBase, header_row: int | None) -> tuple[str, bool]:
    """The file's delimiter, and whether a "sep=" line names it; ``text`` is left at its start."""
    # Excel reads (and hides) a first line "sep=;" naming the delimiter: rows count after it.
    declared = _SEP_LINE.fullmatch(text.readline(8))
    text.seek(0)
    if declared:
        return declared[1], True
    if path.suffix.lower() == ".tsv":
        return "\t", False
    sample = text.read(_SAMPLE)
    text.seek(0)
    return _sniff_delimiter(sample, complete=len(sample) < _SAMPLE, header_row=header_row), False


def _open_xlsx(
    path: Path,
    stack: ExitStack,
    sheet: str | None,
    header_row: int | None,
    streaming_threshold: int,
    limits: WorkbookLimits,
) -> Table:
    opened = stack.enter_context(
        xlsx.open_sheet(path, sheet, streaming_threshold=streaming_threshold, limits=limits)
    )
    records: Iterator[Record] = iter(opened.rows)
    note = None
    if header_row is not None and header_row > 1:
        first = next(records, None)
        if first is not None:
            records = itertools.chain([first], records)
            if is_rejects_header(*first):
                header_row, note = 1, rejects_header_note(path.name, header_row)
    header_row, records = _located_header(records, header_row)
    headers, _ = _read_header(f'{path}, sheet "{opened.name}"', records, header_row)
    unnamed = UnnamedColumns(headers)
    # A sheet has no short rows, only empty cells, nor long ones: a value right of the header
    # is in a column without one.
    rows = _data_rows(records, unnamed, header_row, room=None, pad=True)
    linked = [
        column
        for column in opened.links.columns_below(header_row, len(headers))
        if column not in unnamed.blank
    ]
    twins = link_headers(headers, linked)
    held: set[str] = set()
    if linked:
        rows = _with_links(rows, opened.links, linked, twins, held)
        headers = [*headers, *twins]
    return Table(
        path,
        "xlsx",
        headers,
        rows,
        sheet=opened.name,
        engine=opened.engine,
        header_row=header_row,
        header_note=note,
        hidden_rows=frozenset(row for row in opened.hidden_rows if row > header_row),
        # a merge that starts in the header shows the header's text, which is no one's data
        merged=tuple(cells for cells in opened.merged if _first_row(cells) > header_row),
        unnamed=unnamed,
        links_held=held,
        links_note=opened.links_note,
        link_sources=tuple(linked),
    )


def _with_links(
    rows: Iterator[SourceRow],
    links: CellLinks,
    columns: Sequence[int],
    twins: Sequence[str],
    held: set[str],
) -> Iterator[SourceRow]:
    """The rows with the addresses their cells in ``columns`` link to added at their end; the
    ``twins`` that held one so far are in ``held``."""
    for row in rows:
        values = row.values
        added = tuple(linked_values(links, row.row_number, columns, values))
        if any(added):
            held.update(twin for twin, value in zip(twins, added, strict=True) if value)
        yield SourceRow(row.row_number, values + added, row.problem)


def _first_row(cells: str) -> int:
    """The first row of a range such as "A2:A4"."""
    return int(cells.split(":", 1)[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))


def _located_header(
    records: Iterator[Record], header_row: int | None
) -> tuple[int, Iterator[Record]]:
    """The header row (the one given, or the one found in the first rows) and the records,
    the rows looked at put back in front."""
    if header_row is not None:
        return header_row, records
    looked: list[Record] = []
    filled = 0
    for record in records:
        looked.append(record)
        filled += not _is_blank(record[1])
        if filled == SAMPLE_ROWS:
            break
    return find_header_row(looked), itertools.chain(looked, records)


def _read_header(where: str, records: Iterator[Record], header_row: int) -> tuple[list[str], int]:
    """The header's cells, without the blank ones that end it, and how many cells it had."""
    last_filled = 0
    for number, cells in records:
        if _is_blank(cells):
            continue
        if number < header_row:
            last_filled = number
            continue
        if number > header_row:
            raise ConfigError(
                f"{where}: row {header_row}, the header row, is empty; the first row with values "
                f"after it is row {number}: pass --header-row {number} if it holds the column names"
            )
        headers = list(cells)
        headers[0] = headers[0].removeprefix("\ufeff")
        while _is_blank_cell(headers[-1]):
            headers.pop()
        return headers, len(cells)
    if not last_filled:
        raise ConfigError(f"{where} is empty: it needs a header row with the column names")
    raise ConfigError(
        f"{where} has no values on row {header_row} (--header-row) or below; "
        f"its last row with values is row {last_filled}"
    )


def _data_rows(
    records: Iterator[Record],
    unnamed: UnnamedColumns,
    header_row: int,
    *,
    room: int | None,
    pad: bool,
    problems: Mapping[int, Reject] | None = None,
) -> Iterator[SourceRow]:
    """The data rows, each cut to the header's width when its cells past it are under no
    header: up to ``room`` cells (a CSV header line's, trailing empty ones included: Excel
    writes every line as wide), or any number (None: a sheet). Wider, it is ragged."""
    width = unnamed.width
    blank_headers = bool(unnamed.blank)
    blank = ("",) * width
    # Blank rows are owed, not buffered: they are yielded only once a later row has values,
    # so the blank rows that end a file never appear.
    last = header_row
    for number, cells in records:
        if _is_blank(cells):
            continue
        while last + 1 < number:
            last += 1
            yield SourceRow(last, blank)
        last = number
        unheaded = False
        if len(cells) > width:
            # Excel writes a separator (or an empty cell) for every formatted blank column.
            while len(cells) > width and _is_blank_cell(cells[-1]):
                cells.pop()
            unheaded = len(cells) > width and (room is None or len(cells) <= room)
        elif pad and len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        if unheaded:
            unnamed.see(number, cells)
            del cells[width:]
        elif blank_headers and len(cells) == width:  # a ragged row is rejected whole
            unnamed.see(number, cells)
        if problems and number in problems:
            yield SourceRow(number, tuple(cells), problems[number])
        else:
            yield SourceRow(number, tuple(cells))


def _is_blank(cells: Sequence[str]) -> bool:
    # C-speed passes, not a loop over the cells; Ctrl-Z (0x1A) alone is DOS's end-of-file mark
    return not "".join(cells).strip().strip("\x1a")


def _is_blank_cell(cell: str) -> bool:
    return not cell or cell.isspace()


def _filled_width(cells: Sequence[str]) -> int:
    width = len(cells)
    while width and _is_blank_cell(cells[width - 1]):
        width -= 1
    return width


def _sniff_delimiter(sample: str, *, complete: bool, header_row: int | None) -> str:
    """The delimiter that splits the header into the most columns the rows below agree with.

    Parsing with each candidate (rather than counting characters) keeps delimiters inside
    quoted cells from counting.
    """
    best, best_score = DELIMITERS[0], (-1.0, 0, 0)
    for delimiter in DELIMITERS:
        records = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
        if not complete:
            records = records[:-1]  # the sample may end inside a row
        start = header_row or find_header_row(enumerate(records, 1))
        rows = [cells for cells in records[start - 1 :] if not _is_blank(cells)]
        rows = rows[:_SNIFF_ROWS]
        width = _filled_width(rows[0]) if rows else 0
        if width < 2:
            continue
        data = rows[1:]
        agreeing = sum(1 for cells in data if _filled_width(cells) <= width <= len(cells))
        # Between equals, the delimiter that finds the header earlier, then the wider one: a
        # delimiter that must skip lines to find a header reads the real one as a title, and a
        # later line split by what its notes hold ("a; b; c" in a comma file) as the header.
        score = (agreeing / len(data) if data else 1.0, -start, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best
