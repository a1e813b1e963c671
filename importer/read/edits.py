"""Cells corrected by hand (on the web page) laid over the rows of a file as it is read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from importer.read.tables import SourceRow

Edits = Mapping[int, Mapping[int, str]]
"""Spreadsheet row number → column position (0 is the first column) → the corrected text."""


def edited(rows: Iterator[SourceRow], edits: Edits) -> Iterator[SourceRow]:
    """``rows`` with the corrected cells in place of the typed ones.

    A position past the row's last cell is left out: a ragged row keeps its shape, and so its
    reject, whatever is typed into it; a row the reader flagged keeps its problem.
    """
    for row in rows:
        changes = edits.get(row.row_number)
        if changes:
            values = list(row.values)
            for position, text in changes.items():
                if position < len(values):
                    values[position] = text
            row = row._replace(values=tuple(values))
        yield row
