"""The web addresses a workbook's cells link to, read beside what the cells show.

A cell can show one thing and link to another: "Profile" linking to a LinkedIn page, a name
linking to a portfolio. Both readers read what the cell shows, so the address would be lost
(and "Profile" is no web address). The sheet scan finds the links: ``<hyperlink>`` elements,
whose address is in the sheet's relationships, and ``HYPERLINK("address", ...)`` formulas whose
address is written out. The table then gives each column holding any a twin column,
"<header> (link)", with the address each row's cell links to, which a mapping reads like any
column; the twin is "" where the cell links nowhere or to what it shows (Excel makes a link of
every address typed into a cell).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence

from importer.read.headers import normalise_header
from importer.read.sheet_scan import MAX_LINKS, SheetScan, column_number

LINK_SUFFIX = " (link)"
"""What a column's twin holding its links adds to its header."""

_REFERENCE = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_SHOWS_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://|www\.", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?://)?", re.IGNORECASE)
# No web address: an e-mail link (Excel makes one of every e-mail address typed, and no field
# takes one) or a place in the workbook, which some writers give as "#Sheet2!A1".
_NO_ADDRESS = re.compile(r"mailto:|#", re.IGNORECASE)


class CellLinks:
    """Where each linked cell of a sheet links to: per column, runs of rows sharing a link."""

    def __init__(self, runs: dict[int, list[tuple[int, int, str]]] | None = None) -> None:
        # column (0-based) → (first row, last row, address), sorted and not overlapping
        self._runs = runs or {}
        self._starts = {column: [run[0] for run in found] for column, found in self._runs.items()}

    def columns_below(self, header_row: int, width: int) -> list[int]:
        """The columns of the header's ``width`` with a linked cell below ``header_row``."""
        return sorted(
            column
            for column, runs in self._runs.items()
            if column < width and runs[-1][1] > header_row
        )

    def get(self, row: int, column: int) -> str | None:
        """The address the cell links to; None when it links nowhere."""
        starts = self._starts.get(column)
        if not starts:
            return None
        at = bisect_right(starts, row) - 1
        if at < 0:
            return None
        first, last, address = self._runs[column][at]
        return address if first <= row <= last else None


def sheet_links(scan: SheetScan, targets: Mapping[str, str] | None) -> tuple[CellLinks, str | None]:
    """The links the scan found in a sheet, within its used range: its ``<hyperlink>``
    elements through ``targets`` (relationship id → external address; a link to a place in the
    workbook has none), then its ``HYPERLINK`` formulas. None for ``targets``: the sheet's
    relationships could not be read. Then, or past ``MAX_LINKS`` (each costs memory until the
    sheet is read), no link is read, and the second value says why, for the run to tell."""
    if scan.links_cut:
        return CellLinks(), _not_read(f"the sheet has more than {MAX_LINKS:,} links")
    if targets is None:
        return CellLinks(), _not_read("the sheet's list of its links is damaged or too large")
    spans: dict[int, list[tuple[int, int, int, str]]] = {}
    covered = 0
    for order, (ref, rel_id) in enumerate(scan.link_tags):
        address = targets.get(rel_id, "").strip()
        cells = _cells(ref, scan.rows, scan.columns)
        if not address or _NO_ADDRESS.match(address) or cells is None:
            continue
        first_row, last_row, first_column, last_column = cells
        # a link over a range ("D2:D900") counts once a column
        covered += last_column - first_column + 1
        if covered > MAX_LINKS:
            return CellLinks(), _not_read(f"the sheet has more than {MAX_LINKS:,} links")
        for column in range(first_column, last_column + 1):
            spans.setdefault(column, []).append((first_row, order, last_row, address))
    for order, (row, column, address) in enumerate(scan.formula_links, len(scan.link_tags)):
        if row <= scan.rows and column < scan.columns and not _NO_ADDRESS.match(address):
            spans.setdefault(column, []).append((row, order, row, address))
    return CellLinks({column: _runs(found) for column, found in spans.items()}), None


def _not_read(why: str) -> str:
    return (
        f"{why}: its links are not read, and every cell is read as it shows, so a cell that "
        "shows a word and links to a web address gives the word"
    )


def _runs(spans: list[tuple[int, int, int, str]]) -> list[tuple[int, int, str]]:
    """Row runs that do not overlap: where two links cover a cell, the one starting first."""
    runs: list[tuple[int, int, str]] = []
    done = 0
    for first, _, last, address in sorted(spans):
        first = max(first, done + 1)
        if first <= last:
            runs.append((first, last, address))
            done = last
    return runs


def _cells(ref: str, rows: int, columns: int) -> tuple[int, int, int, int] | None:
    """A reference ("D2", "D2:F9") as 1-based first/last row and 0-based first/last column,
    cut to the used range; None when it is no reference or lies outside it."""
    ends = [_REFERENCE.fullmatch(part.strip()) for part in ref.split(":", 1)]
    if not all(ends):
        return None
    cells = [(int(end[2]), column_number(end[1]) - 1) for end in ends if end]
    first_row, last_row = min(row for row, _ in cells), max(row for row, _ in cells)
    first_column, last_column = min(c for _, c in cells), max(c for _, c in cells)
    last_row, last_column = min(last_row, rows), min(last_column, columns - 1)
    if first_row > last_row or first_column > last_column or first_row < 1:
        return None
    return first_row, last_row, first_column, last_column


def link_headers(headers: Sequence[str], columns: Sequence[int]) -> list[str]:
    """The twin headers of ``columns``: "<header> (link)", numbered where a header of the file
    already matches it (as a mapping matches headers)."""
    taken = {normalise_header(header) for header in headers}
    named = []
    for column in columns:
        name = f"{headers[column].strip()}{LINK_SUFFIX}"
        number = 2
        while normalise_header(name) in taken:
            name = f"{headers[column].strip()}{LINK_SUFFIX} {number}"
            number += 1
        taken.add(normalise_header(name))
        named.append(name)
    return named


def linked_values(
    links: CellLinks, row: int, columns: Sequence[int], cells: Sequence[str]
) -> Iterator[str]:
    """Per column of ``columns``: the address row ``row``'s cell links to, or "" where it links
    nowhere or its text says as much (``adds_to``)."""
    for column in columns:
        address = links.get(row, column)
        shown = cells[column] if column < len(cells) else ""
        yield address if address is not None and adds_to(address, shown) else ""


def adds_to(address: str, shown: str) -> bool:
    """Whether a cell showing ``shown`` says less than its link to ``address``: not when it
    shows a web address itself (what the user sees is what they mean; Excel links every address
    typed, as "http://" and "/" around what was typed), nor when it shows the address."""
    text = shown.strip()
    if _SHOWS_ADDRESS.search(text):
        return False
    core = _SCHEME.sub("", address).rstrip("/")
    return core.casefold() != text.rstrip("/").casefold()
