"""Which row holds the column names, when a title, a note or blank rows come before it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SAMPLE_ROWS = 50
"""Rows with values looked at: title blocks are a few lines, not pages."""

# A cell that reads as a value rather than a column name: a number, a date, a phone number,
# an e-mail address or a web address. Headers such as "Phone 2" hold digits, but letters too.
_VALUE_CELL = re.compile(
    r"[\s\d.,:;/()+\-]*\d[\s\d.,:;/()+\-]*|[^@\s]+@[^@\s]+|\s*(?:https?://|www\.).*"
)


def filled_cells(cells: Sequence[str]) -> int:
    """How many cells hold something other than whitespace."""
    return sum(1 for cell in cells if cell and not cell.isspace())


def looks_like_title(cells: Sequence[str]) -> bool:
    """One cell or none filled: a title line, a logo's caption, a merged banner, a blank row.

    Taken for the header row, such a row names at most one column, which is also how an error
    about missing columns knows to suggest another header row.
    """
    return filled_cells(cells) <= 1


def _value_cells(cells: Sequence[str]) -> tuple[int, int]:
    """How many cells hold something, and how many of those read as values (``_VALUE_CELL``)."""
    filled = [cell for cell in cells if cell and not cell.isspace()]
    return len(filled), sum(1 for cell in filled if _VALUE_CELL.fullmatch(cell))


def _looks_like_headers(filled: int, values: int, widest: int) -> bool:
    if filled < min(2, widest):
        return False
    # "Exported on: | 2024-03-01" is half values; a header may have a "2023" column among names.
    return values * 2 < filled


def find_header_row(records: Iterable[tuple[int, Sequence[str]]]) -> int:
    """The spreadsheet row number of the header among a file's first rows.

    ``records`` are (row number, cells) in file order; only the first ``SAMPLE_ROWS`` with
    values are read. The header is the first row that reads as column names, unless the next
    row with values also does, is wider, and holds no more values (e-mails, phones, dates,
    numbers) than it: so blank rows, a title line (one cell filled), a note that reads as
    values ("Exported on: 2024-03-01") and a short "Report: | Candidates" line (or a title
    holding the delimiter) above the header are skipped, while a header that names only some
    of its columns stays the header of the wider data rows below it: a first candidate who
    fills an unnamed column (pandas' index, a note beside the table) holds an e-mail or a
    phone, which a header does not. The first row with values is the answer when no row reads
    as column names, and row 1 when every row is blank, so that reading it reports the file
    as empty.
    """
    rows: list[tuple[int, Sequence[str]]] = []
    for number, cells in records:
        if filled_cells(cells):
            rows.append((number, cells))
            if len(rows) == SAMPLE_ROWS:
                break
    if not rows:
        return 1
    counted = [(number, *_value_cells(cells)) for number, cells in rows]
    widest = max(filled for _, filled, _ in counted)
    sample = [
        (number, filled, values, _looks_like_headers(filled, values, widest))
        for number, filled, values in counted
    ]
    for (number, filled, values, named), (_, below, below_values, below_named) in zip(
        sample, [*sample[1:], (0, 0, 0, False)], strict=True
    ):
        if named and not (below_named and below > filled and below_values <= values):
            return number
    return sample[0][0]


_INVISIBLE = str.maketrans("", "", "\ufeff\u200b")


def header_label(text: str) -> str:
    """A header as messages show it: without the byte-order mark or zero-width spaces that
    exports leave in it, and without surrounding spaces."""
    return text.translate(_INVISIBLE).strip()


def normalise_header(text: str) -> str:
    """The form headers are matched in: the label, inner whitespace collapsed, case-folded."""
    return " ".join(header_label(text).split()).casefold()


SHOWN_TWINS = 3
"""Columns named when a header repeats: a header row of one name 10,000 times must not make a
note of 10,000 columns for each of them."""


def repeated_at(positions: Sequence[int]) -> str:
    """Where a repeated header is, for a note: "appears in columns A and C", or for many
    "appears 10,000 times: A, B, C, …"."""
    letters = [column_letter(p) for p in positions[:SHOWN_TWINS]]
    if len(positions) <= SHOWN_TWINS:
        return f"appears in columns {', '.join(letters[:-1])} and {letters[-1]}"
    return f"appears {len(positions):,} times: {', '.join(letters)}, …"


def column_letter(position: int) -> str:
    """A 0-based column position as a spreadsheet names it: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
