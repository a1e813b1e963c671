"""CSV records numbered as spreadsheet rows, with every line of the file accounted for.

A quote (") that opens a cell and is never closed swallows the rest of the file into that cell;
one closed by a later stray quote swallows the lines in between. Either way rows would vanish
without a word, so this reader refuses the first (``ConfigError``: nothing can be sent) and, for
the second, reads the swallowed lines as the rows they are and rejects the rows at both ends as
``unbalanced-quote``. Quoted cells that legitimately hold line breaks (notes, addresses) are read
as one cell, as Excel reads them.
"""

from __future__ import annotations

import collections
import csv
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from importer.errors import Code, ConfigError, Reject
from importer.read.limits import MAX_COLUMNS, check_line_width

Record = tuple[int, list[str]]
"""A row number and the row's cells."""

MAX_CELL_MB = 16
"""Longest CSV cell read by default, in MiB of characters (the stdlib's default is 128 KiB)."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Two lines read after the file's last one. When every quote is closed they are one record of
# their own, a quoted cell over two lines, so they take the rare multi-line branch instead of
# costing a test on every row; when the file ends inside a quoted cell, the first line's quote
# closes that cell, which then ends with the mark. U+FDD0 is a Unicode noncharacter: no one
# types it.
_EOF_MARK = "\ufdd0"
_EOF_LINES = ('"' + _EOF_MARK + "\n", _EOF_MARK + '"\n')
_EOF_RECORD = [_EOF_MARK + "\n" + _EOF_MARK]
# ="00123": how exports (old ATS and CRM systems among them) keep a value's leading zeros, or a
# long number's digits, when Excel opens the CSV: a formula whose result is that text, which is
# what Excel shows and what a person means. Quotes inside are doubled, as in every formula.
_EXCEL_TEXT = re.compile(r'="((?:[^"]|"")*)"')


class CsvRecords:
    """The records of ``lines`` (a text file opened with ``newline=""``), numbered as rows.

    Iterate once. ``headers`` (set them once the header row is read, if not known before):
    below the header row, a quoted cell whose inner lines each have the header's number of
    cells is taken for an unbalanced quote, and its lines become rows of their own;
    ``problems`` holds the reject of each row at its ends, by row number, before that row is
    yielded.
    """

    def __init__(
        self,
        path: Path,
        lines: Iterable[str],
        delimiter: str,
        *,
        max_cell_mb: int = MAX_CELL_MB,
        header_row: int = 1,
        headers: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.delimiter = delimiter
        self.max_cell_mb = max_cell_mb
        self.header_row = header_row
        self.headers = headers
        self.problems: dict[int, Reject] = {}
        # The limit is process-wide in the stdlib; set it before each file is read.
        csv.field_size_limit(max_cell_mb * 1024 * 1024)
        self._excel_text_lines = 0
        self._reader = csv.reader(
            itertools.chain(self._lines(lines), _EOF_LINES), delimiter=delimiter
        )

    def _lines(self, lines: Iterable[str]) -> Iterator[str]:
        """``lines``, each checked for width and counted when it may hold Excel's ="text"."""
        for number, line in enumerate(lines, 1):
            if len(line) > MAX_COLUMNS:
                check_line_width(self.path, number, line, self.delimiter)
            if '="' in line:
                self._excel_text_lines += 1
            yield line

    def __iter__(self) -> Iterator[Record]:
        reader = self._reader
        number = line = 0  # the last row number given, and the lines read before this record
        excel_text = 0  # lines holding =" read before this record
        try:
            for cells in reader:
                number += 1
                end = reader.line_num
                if self._excel_text_lines != excel_text:  # a line of this record holds ="
                    excel_text = self._excel_text_lines
                    cells = list(map(_shown, cells))
                if end - line > 1:  # a quoted cell holds a line break, or this is the end mark
                    if cells == _EOF_RECORD:
                        return
                    if cells[-1].endswith(_EOF_MARK):
                        raise self._unclosed(number, end - line - 2)
                    split = self._unbalanced(number, end - line, cells)
                    if split is not None:
                        yield from split
                        number = split[-1][0]
                        line = end
                        continue
                line = end
                yield number, cells
        except csv.Error as error:
            raise self._unreadable(number + 1, reader.line_num - line, error) from None

    def ends_cleanly(self) -> bool:
        """Read every record at C speed: true unless iterating would raise (instead of this).

        A real import must refuse a file cut inside a quoted cell before it sends its first
        row; when this is false, iterate a fresh instance for the error naming the row.
        """
        try:
            last = collections.deque(self._reader, maxlen=1)
        except csv.Error:
            return False
        return bool(last) and last[0] == _EOF_RECORD

    def _unbalanced(self, number: int, lines: int, cells: list[str]) -> list[Record] | None:
        """The rows of a record whose quoted cell swallowed whole records, or None."""
        width = len(self.headers)
        # a one-column file has no delimiters to tell a record by
        if width < 2 or number <= self.header_row:
            return None
        for index, cell in enumerate(cells):
            pieces = _LINE_BREAK.split(cell)
            inner = pieces[1:-1]
            if not inner or not all(self._is_record(piece) for piece in inner):
                continue
            opening = [*cells[:index], *pieces[0].split(self.delimiter)]
            if not _fits(opening, width):
                continue
            opening[index] = '"' + opening[index]  # keep the quote where the user typed it
            closing = [*pieces[-1].split(self.delimiter), *cells[index + 1 :]]
            last = number + max(lines - 1, len(pieces) - 1)
            column = self.headers[index] if index < width else None
            if last - number > 2:
                read_as = f"they are read as rows {number + 1}–{last - 1}, and row {last}"
            else:
                read_as = f"row {number + 1} is read as a row, and row {last}"
            self.problems[number] = Reject(
                number,
                Code.UNBALANCED_QUOTE,
                f'a quote (") opens a cell on this row and runs over {last - number} more '
                f"lines that each look like a row of their own: {read_as}, where the quote "
                'closes, is rejected too. Remove the quote, or type it twice ("") if it belongs '
                "to the text",
                column=column,
                value=opening[index],
            )
            self.problems[last] = Reject(
                last,
                Code.UNBALANCED_QUOTE,
                f'the quote (") that opened a cell on row {number} closes on this row, so the '
                "cells of this row cannot be told apart; check the quotes on both rows",
            )
            middle = [piece.split(self.delimiter) for piece in inner]
            return [
                (number, opening),
                *((number + offset, row) for offset, row in enumerate(middle, 1)),
                (last, closing),
            ]
        return None

    def _is_record(self, line: str) -> bool:
        return _fits(line.split(self.delimiter), len(self.headers))

    def _unclosed(self, number: int, swallowed: int) -> ConfigError:
        if swallowed:
            lines = f"the {swallowed} lines after it" if swallowed > 1 else "the line after it"
            what = f"it swallows {lines}, to the end of the file"
        else:
            what = "the file ends inside that cell: was it cut short?"
        return ConfigError(
            f'{self.path}: the quote (") that opens a cell on row {number} is never closed: '
            f'{what}. Nothing was sent. Close the quote, or remove it (type it twice, "", '
            "if it belongs to the text)"
        )

    def _unreadable(self, number: int, lines: int, error: csv.Error) -> ConfigError:
        if "field larger than field limit" not in str(error):
            return ConfigError(f"{self.path}: row {number} cannot be read as CSV ({error})")
        limit = f"{self.max_cell_mb} MB"
        if lines > 1:
            cause = (
                f"it runs over {lines} lines from row {number}: if those lines are rows, a "
                f'quote (") opened on row {number} is never closed; remove it'
            )
        else:
            cause = (
                "a request sends at most 1 MB, so a cell this long can only be in a column the "
                "mapping leaves out: remove or shorten it, or raise the limit with "
                f"--max-cell-mb {self.max_cell_mb * 4}"
            )
        return ConfigError(
            f"{self.path}: row {number} has a cell longer than {limit} (the longest cell the "
            f"importer reads); {cause}. Nothing was sent"
        )


def _shown(cell: str) -> str:
    """A cell as Excel shows it: ="00123" is 00123; any other cell is itself."""
    found = _EXCEL_TEXT.fullmatch(cell)
    return cell if found is None else found[1].replace('""', '"')


def _fits(cells: Sequence[str], width: int) -> bool:
    """As many cells as the header, give or take empty ones past its end (Excel writes those)."""
    filled = len(cells)
    while filled and (not cells[filled - 1] or cells[filled - 1].isspace()):
        filled -= 1
    return filled <= width <= len(cells)
