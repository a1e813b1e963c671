"""Cells written so that Excel never runs them as formulas, and read back exactly as typed.

Excel, LibreOffice and Google Sheets evaluate a CSV cell that starts with ``=``, ``+``, ``-``
or ``@`` (or a tab or carriage return before one) as a formula: ``=HYPERLINK(...)`` in a
candidate's notes would run when a recruiter opens rejects.csv, and a phone typed ``+44 20...``
would come back as ``#NAME?``. Following OWASP's CSV-injection advice, such a cell is written
with a leading apostrophe, which the spreadsheet shows as text. Reading the importer's own
rejects file back (it has the ``error_*`` columns) removes that apostrophe again, so a fixed
rejects.csv imports the values the user typed. An apostrophe the user typed before one of
those characters gets one more, so that the round trip is exact.
"""

from __future__ import annotations

from collections.abc import Sequence

FORMULA_STARTS = frozenset("=+-@\t\r")
REJECTS_EXTRA_COLUMNS = ("error_row", "error_code", "error_field", "error_message")
"""The columns rejects.csv adds after the input's own; a file with all of them is one."""


def escape_formula(text: str) -> str:
    """``text`` as a cell no spreadsheet runs; ``unescape_formula`` gives it back."""
    return "'" + text if text.lstrip("'")[:1] in FORMULA_STARTS else text


def unescape_formula(text: str) -> str:
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text


def is_rejects_file(headers: Sequence[str]) -> bool:
    """The header row ends with the columns the importer's rejects.csv adds."""
    return tuple(h.strip() for h in headers[-len(REJECTS_EXTRA_COLUMNS) :]) == (
        REJECTS_EXTRA_COLUMNS
    )


def is_rejects_header(row_number: int, cells: Sequence[str]) -> bool:
    """A file's first record is the header row of the importer's own rejects report: it is on
    row 1 (the reports are written header first) and ends with the report's columns."""
    named = list(cells)
    while named and not named[-1].strip():
        named.pop()  # Excel may keep empty cells after the last column
    return row_number == 1 and is_rejects_file(named)


def rejects_header_note(name: str, given: int) -> str:
    """Why a rejects report's header is read from row 1 when row ``given`` was asked for."""
    # A mapping's header_row (or --header-row) describes the file the report was made from.
    return (
        f"{name} is a rejects report of importer (its last columns are "
        f"{', '.join(REJECTS_EXTRA_COLUMNS)}): its column names are read from row 1, not from "
        f"row {given}, the header row given for the file it was made from"
    )
