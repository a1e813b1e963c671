"""Before anything is sent: a column whose dates read only with day and month the other way
round from the mapping's, while others read both ways.

Such a file writes its dates in the other order (a US export read by a day-first mapping): each
date that reads only that way is rejected, with words saying so, but each date that reads both
ways (03/01/2024) would be sent with day and month swapped, and a ledger would skip its
candidate when the file is imported again with the order fixed. So the import stops first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import ConfigError
from importer.mapping import Mapping
from importer.mapping.schema import columns_of
from importer.read.edits import edited
from importer.read.headers import header_label, normalise_header
from importer.read.tables import SourceRow, Table, open_table
from importer.rules import date_order
from importer.run.options import ImportOptions

_CACHED = 4096
"""Readings remembered per column: dates repeat."""


@dataclass
class _Column:
    position: int
    header: str
    day_first: bool
    first: dict[str, tuple[int, str]] = field(default_factory=dict)
    """The first row and cell of each reading ("ours", "other", "both")."""
    counts: dict[str, int] = field(default_factory=dict)
    readings: dict[str, str | None] = field(default_factory=dict)

    def see(self, number: int, text: str) -> None:
        reading = self.readings.get(text, "")
        if reading == "":
            if len(self.readings) >= _CACHED:
                self.readings.clear()
            reading = self.readings[text] = date_order(text, self.day_first)
        if reading is not None:
            self.first.setdefault(reading, (number, text))
            self.counts[reading] = self.counts.get(reading, 0) + 1


def check_dates_before_sending(
    path: str | Path, table: Table, mapping: Mapping, options: ImportOptions
) -> None:
    """``check_date_order`` on the file ``table`` reads, corrected cells included: one more pass
    over it, only when the mapping reads one of its columns as dates with ``day_first``."""
    if not _date_columns(mapping, table.headers):
        return
    with open_table(
        path,
        sheet=table.sheet,
        encoding=table.encoding,
        header_row=table.header_row,
        limits=options.limits,
        max_cell_mb=options.max_cell_mb,
    ) as again:
        rows = again.rows
        if options.edits:
            rows = edited(rows, options.edits, again.link_sources)
        try:
            check_date_order(mapping, again.headers, rows)
        except ConfigError as error:
            raise ConfigError(f"{path}: {error}") from None


def check_date_order(mapping: Mapping, headers: Sequence[str], rows: Iterable[SourceRow]) -> None:
    """Raise ``ConfigError`` when a date column of the mapping holds dates that read only the
    other way round from its ``day_first`` and none that read only its way, and dates that
    read both ways, which would be sent swapped. Reads ``rows`` until each such column holds a
    date that reads only its way, else to the end (not at all without such columns)."""
    order = DateOrder(mapping, headers)
    for row in rows if order else ():
        if order.see(row):
            break
    order.check()


class DateOrder:
    """``check_date_order`` a row at a time, for a pass over the rows that has other work: the
    dry run, which reads every row anyway, says so at its end."""

    def __init__(self, mapping: Mapping, headers: Sequence[str], *, dry_run: bool = False):
        self.columns = _date_columns(mapping, headers)
        self._open = list(self.columns)
        self._dry_run = dry_run

    def __bool__(self) -> bool:
        return bool(self.columns)

    def see(self, row: SourceRow) -> bool:
        """Look at a row's dates; True once every column is settled (no need to see more)."""
        values = row.values
        for column in self._open:
            if column.position < len(values):
                text = values[column.position].strip()
                # numeric dates only: a digit first, something else than digits after it, and
                # not a year first (either order reads 2024-03-01 alike)
                if text[:1].isdigit() and not text[:3].isdigit() and not text.isdigit():
                    column.see(row.row_number, text)
        if any("ours" in column.first for column in self._open):
            # A date that reads only the mapping's way settles its column: no more to read.
            self._open = [column for column in self._open if "ours" not in column.first]
        return not self._open

    def watched(self, rows: Iterable[SourceRow]) -> Iterator[SourceRow]:
        """``rows``, each seen on its way until every column is settled."""
        for row in rows:
            if self._open:
                self.see(row)
            yield row

    def check(self) -> None:
        """Raise ``ConfigError`` for the first column whose dates would be sent swapped."""
        for column in self.columns:
            if "other" in column.first and "both" in column.first and "ours" not in column.first:
                raise ConfigError(_swapped(column, self._dry_run))


def _date_columns(mapping: Mapping, headers: Sequence[str]) -> list[_Column]:
    positions: dict[str, int] = {}
    for at, header in enumerate(headers):
        positions.setdefault(normalise_header(header), at)
    columns: dict[int, _Column] = {}
    for _, spec, kind in mapping.specs():
        date = getattr(spec, "date", None)
        if kind != "date-time" or date is None or date.day_first is None:
            continue
        for name in columns_of(spec):
            position = positions.get(normalise_header(name))
            if position is not None:
                label = header_label(headers[position])
                columns.setdefault(position, _Column(position, label, date.day_first))
    return list(columns.values())


def _swapped(column: _Column, dry_run: bool) -> str:
    theirs, ours = ("month", "day") if column.day_first else ("day", "month")
    other_row, other_text = column.first["other"]
    both_row, both_text = column.first["both"]
    others = column.counts["other"]
    both = column.counts["both"]
    return (
        f'column "{column.header}" writes its dates with the {theirs} first: '
        f'"{other_text}" (row {other_row}{f" and {others - 1} more" if others > 1 else ""}) '
        f"reads only so, and no date of the column reads only with the {ours} first, as the "
        f"mapping reads them (date: {{day_first: {str(column.day_first).lower()}}}); "
        f'{both} {"dates" if both > 1 else "date"} that read both ways, such as "{both_text}" '
        f"(row {both_row}), would be sent with day and month swapped. "
        f"{'An import would stop before sending anything' if dry_run else 'Nothing was sent'}: "
        f"if the file writes its dates with the {theirs} first, set date: "
        f"{{day_first: {str(not column.day_first).lower()}}} in a copy of the mapping; if not, "
        f"correct row {other_row}"
    )
