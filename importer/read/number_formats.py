"""Number cells written as Excel shows them, where what it stores reads as another value.

A number format changes how a cell looks, not what the file stores, and both readers read what
is stored. Mostly that is the value (``1234.5`` shown as ``$1,234.50``), but two kinds of format
show what the stored number does not say:
- a percentage: Excel shows ``50%`` and stores ``0.5``;
- digits padded with zeros (``00000``, the zip code format ``00000-0000``, ``000-00-0000``): Excel
  shows ``02134`` and stores ``2134``, a different code, and ``021340000`` as ``02134-0000``.

The workbook's styles say which cell styles use such a format (``shown_styles``); the sheet scan
finds the number cells of those styles, and ``as_shown`` rewrites them as the readers yield them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

PERCENT = "%"
"""What ``shown_styles`` gives for a percentage format; any other value is a digit pattern."""

RawRow = tuple[int, list[str]]
"""A sheet row number and its cells as text, column A first; rows with no cells may be absent."""

# Excel's built-in percentage formats: 0% and 0.00%.
_PERCENT_FORMATS = {"9": PERCENT, "10": PERCENT}
# What a number format's code holds besides its symbols: quoted text, an escaped character, a
# colour or condition in brackets; a % there is no percentage.
_FORMAT_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')
_BRACKETS = re.compile(r"\[[^\]]*\]")
# A digit pattern once its literals are written out: zeros, with separators between groups (an
# escaped "\-" as Excel writes its zip code and social security formats, or a quoted one). Not
# "." (a decimal point) nor "/" (a fraction).
_DIGIT_PATTERN = re.compile(r"\(?0+(?:[- ()]+0+)*")
_ESCAPE_OR_QUOTE = re.compile(r'\\(.)|"([^"]*)"')
_WHOLE_NUMBER = re.compile(r"[0-9]+")
# Zip+4 is 10 characters, a social security number 11, a phone number in zeros 14.
_LONGEST_PATTERN = 32


def shown_styles(styles: ElementTree.Element) -> dict[int, str]:
    """The cell styles (indices of ``cellXfs`` in styles.xml) whose format shows a number as
    something else than it is stored: ``PERCENT``, or the digit pattern (``00000-0000``)."""
    by_format = dict(_PERCENT_FORMATS)
    # "{*}": in the spreadsheetml namespace or none, whichever the writer used
    for element in styles.iterfind(".//{*}numFmt"):
        shown = _shown(element.get("formatCode", ""))
        if shown is not None:
            by_format[element.get("numFmtId", "")] = shown
    cell_styles = styles.find(".//{*}cellXfs")
    if cell_styles is None:
        return {}
    formats = [xf.get("numFmtId", "0") for xf in cell_styles.findall("{*}xf")]
    return {index: by_format[code] for index, code in enumerate(formats) if code in by_format}


def _shown(code: str) -> str | None:
    """What a format's code shows a positive number as, when that is not the stored number."""
    if "%" in _FORMAT_LITERAL.sub("", code).split(";", 1)[0]:
        return PERCENT
    # Colours and conditions say nothing of the digits; quoted and escaped text is literal.
    positive = _BRACKETS.sub("", code.split(";", 1)[0])
    written = _ESCAPE_OR_QUOTE.sub(lambda match: match[1] or match[2] or "", positive)
    # "0" alone shows a whole number as stored: only two zeros or more can pad one. A pattern
    # longer than any code's (a hostile workbook's megabyte of zeros) would be written out for
    # every cell: left as stored.
    if (
        written.count("0") > 1
        and len(written) <= _LONGEST_PATTERN
        and _DIGIT_PATTERN.fullmatch(written)
    ):
        return written
    return None


class ShownCells:
    """The number cells to write as shown, kept as runs of rows a column: a formatted column of a
    million rows is one run, not a million cells."""

    def __init__(self) -> None:
        # column → [first row, last row, what the style shows], in the order the scan met them
        self._runs: dict[int, list[list[Any]]] = {}
        self._starts: dict[int, list[int]] = {}

    def __bool__(self) -> bool:
        return bool(self._runs)

    def add(self, row: int, column: int, shown: str) -> None:
        runs = self._runs.setdefault(column, [])
        if runs and runs[-1][1] == row - 1 and runs[-1][2] == shown:
            runs[-1][1] = row
        else:
            runs.append([row, row, shown])

    def done(self) -> ShownCells:
        """Ready to look up, once every cell is added."""
        for column, runs in self._runs.items():
            runs.sort()
            self._starts[column] = [first for first, _, _ in runs]
        return self

    def in_row(self, row: int) -> Iterator[tuple[int, str]]:
        """(column, what it shows) of the row's cells."""
        for column, starts in self._starts.items():
            at = bisect_right(starts, row) - 1
            if at >= 0:
                _, last, shown = self._runs[column][at]
                if row <= last:
                    yield column, shown


def as_shown(rows: Iterator[RawRow], cells: ShownCells) -> Iterator[RawRow]:
    """``rows`` with each number cell of ``cells`` written as Excel shows it."""
    if not cells:
        yield from rows
        return
    for number, values in rows:
        for column, shown in cells.in_row(number):
            if column < len(values):
                text = values[column]
                values[column] = _percent(text) if shown == PERCENT else _padded(text, shown)
        yield number, values


def _percent(text: str) -> str:
    """``0.125`` as ``12.5%``: in full, whatever decimals the format shows."""
    try:
        value = Decimal(text) * 100
    except ArithmeticError:  # not a number (the scan found the style, a reader no number)
        return text
    if not value.is_finite():
        return text
    shown = format(value, "f")
    return (shown.rstrip("0").rstrip(".") if "." in shown else shown) + "%"


def _padded(text: str, pattern: str) -> str:
    """A whole number in a digit pattern, as Excel fills it: zeros where the number has no digit,
    and the digits the pattern has no room for before its first zero."""
    if not _WHOLE_NUMBER.fullmatch(text):
        return text  # a fraction or a negative number shows rounded or signed: kept as stored
    places = pattern.count("0")
    digits = text.zfill(places)
    extra, filled = digits[:-places], iter(digits[-places:])
    shown = [next(filled) if symbol == "0" else symbol for symbol in pattern]
    first = pattern.index("0")
    return "".join(shown[:first]) + extra + "".join(shown[first:])
