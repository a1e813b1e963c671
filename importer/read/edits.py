"""Cells corrected by hand (on the web page) laid over the rows of a file as it is read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from importer.read.tables import SourceRow

Edits = Mapping[int, Mapping[int, str]]
"""Spreadsheet row number → column position (0 is the first column) → the corrected text."""


def edited(
    rows: Iterator[SourceRow],
    edits: Edits,
    links: Sequence[int] = (),
    cleared: dict[int, dict[int, str]] | None = None,
) -> Iterator[SourceRow]:
    """``rows`` with the corrected cells in place of the typed ones.

    A position past the row's last cell is left out: a ragged row keeps its shape, and so its
    reject, whatever is typed into it; a row the reader flagged keeps its problem. ``links``:
    the column each of the table's last columns holds the links of (``Table.link_sources``). A
    cell typed over loses its link, whose twin is emptied, so that what was typed is read and
    not where the text replaced linked; what the twin held goes into ``cleared``.
    """
    for row in rows:
        changes = edits.get(row.row_number)
        if changes:
            values = list(row.values)
            for position, text in changes.items():
                if position < len(values):
                    values[position] = text
            first_twin = len(values) - len(links)
            for twin, base in enumerate(links, first_twin):
                if base in changes and twin not in changes and values[twin]:
                    if cleared is not None:
                        cleared.setdefault(row.row_number, {})[twin] = values[twin]
                    values[twin] = ""
            row = row._replace(values=tuple(values))
        yield row
