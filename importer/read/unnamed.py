"""Columns without a header that hold values: no mapping can name them, so what they hold is
never sent, and the run says so rather than leave it out unseen."""

from __future__ import annotations

from collections.abc import Sequence

from importer.read.headers import column_letter, header_label

_ROWS_SHOWN = 3
"""Rows named for each such column; the others are counted."""
_COLUMNS_SHOWN = 5
"""Columns named in the notice; the others are counted."""


class UnnamedColumns:
    """The values a table holds under no header: in a column whose header cell is blank, or to
    the right of the header's last name (a note typed beside one candidate)."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.width = len(headers)
        self.blank = tuple(i for i, header in enumerate(headers) if not header_label(header))
        """Positions inside the header whose header cell is blank (pandas' index column)."""
        self._rows: dict[int, list[int]] = {}
        self._counts: dict[int, int] = {}

    def see(self, number: int, cells: Sequence[str]) -> None:
        """Note the values row ``number`` holds under no header (its cells past the header's
        width are still there)."""
        for position in self.blank:
            if position < len(cells) and cells[position] and not cells[position].isspace():
                self._add(position, number)
        for position in range(self.width, len(cells)):
            if cells[position] and not cells[position].isspace():
                self._add(position, number)

    def _add(self, position: int, number: int) -> None:
        count = self._counts.get(position, 0)
        if count < _ROWS_SHOWN:
            self._rows.setdefault(position, []).append(number)
        self._counts[position] = count + 1

    def notice(self) -> str | None:
        """What the summary says of them, or None when every value has a header."""
        if not self._counts:
            return None
        positions = sorted(self._counts)
        shown = [self._column(position) for position in positions[:_COLUMNS_SHOWN]]
        if len(positions) > _COLUMNS_SHOWN:
            shown.append(f"{len(positions) - _COLUMNS_SHOWN} more columns")
        columns = f"{len(positions)} columns without a header hold"
        if len(positions) == 1:
            columns = "1 column without a header holds"
        return (
            f"{columns} values, which no mapping can read, so they are not sent: "
            f"{'; '.join(shown)}; if the ATS should have them, give the column a header in the "
            "file and map it"
        )

    def _column(self, position: int) -> str:
        rows = self._rows[position]
        count = self._counts[position]
        listed = ", ".join(str(row) for row in rows)
        if count > len(rows):
            listed += f" and {count - len(rows):,} more"
        return f"column {column_letter(position)} (row{'s' if count > 1 else ''} {listed})"
