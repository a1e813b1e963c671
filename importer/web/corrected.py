"""The user's file with the cells corrected on the page, as CSV or XLSX, for their own records.

Nothing else changes: every row keeps its number (title lines above the headers included), every
cell its text. A workbook saved as XLSX is the workbook itself with the corrected cells replaced
(``workbook_patch``, a row at a time), so its other sheets, formats and formulas with their
results stay; a CSV keeps its delimiter. Every cell written by this module is text, never a
number or a formula, so Excel shows it as typed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
from openpyxl.cell import WriteOnlyCell

from importer.read import xlsx
from importer.read.tables import open_table
from importer.web.workbook_patch import patch_workbook
from importer.web.workspace import CellEdits

CORRECTED_FORMATS = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
"""The formats offered → their media types."""
_SEP_LINE = re.compile(r"sep=.\r?\n?", re.IGNORECASE)


def write_corrected(path: Path, sheet: str | None, edits: CellEdits, kind: str) -> bytes:
    """The sheet (or the CSV, when ``sheet`` is None) at ``path`` with ``edits`` applied, as a
    ``kind`` file ("csv" or "xlsx")."""
    if sheet is not None:
        if kind == "xlsx":
            texts = {
                int(row): {int(column): text for column, (_, text) in cells.items()}
                for row, cells in edits.items()
                if cells
            }
            return patch_workbook(path, sheet, texts)
        return _csv_bytes(_apply(_sheet_records(path, sheet), edits), ",", declare=False)
    with open_table(path) as table:
        encoding, delimiter = table.encoding, table.delimiter or ","
    with open(path, encoding=encoding, newline="") as text:
        # Excel's "sep=;" line names the delimiter and is not a row: rows count after it.
        declared = bool(_SEP_LINE.fullmatch(text.readline(8)))
        if not declared:
            text.seek(0)
        records = _apply(iter(csv.reader(text, delimiter=delimiter)), edits)
        if kind == "xlsx":
            return _new_workbook(records, path.stem)
        return _csv_bytes(records, delimiter, declare=declared)


def _csv_bytes(records: Iterator[list[str]], delimiter: str, *, declare: bool) -> bytes:
    out = io.StringIO(newline="")
    if declare:
        out.write(f"sep={delimiter}\r\n")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(records)
    # UTF-8 with a BOM: Excel then reads accented names right.
    return out.getvalue().encode("utf-8-sig")


def _sheet_records(path: Path, sheet: str) -> Iterator[list[str]]:
    """Every row of the sheet in order, an empty one for each row the file leaves out."""
    with xlsx.open_sheet(path, sheet) as opened:
        last = 0
        for number, cells in opened.rows:
            while last + 1 < number:
                last += 1
                yield []
            last = number
            yield cells


def _apply(records: Iterator[list[str]], edits: CellEdits) -> Iterator[list[str]]:
    for number, cells in enumerate(records, 1):
        changes = edits.get(str(number))
        if changes:
            cells = list(cells)
            for column, (_, text) in changes.items():
                position = int(column)
                if position >= len(cells):
                    cells.extend([""] * (position + 1 - len(cells)))
                cells[position] = text
        yield cells


def _new_workbook(rows: Iterator[list[str]], title: str) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(_sheet_title(title))
    for cells in rows:
        written = []
        for text in cells:
            cell = WriteOnlyCell(worksheet, value=text)
            cell.data_type = "s"
            written.append(cell)
        worksheet.append(written)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _sheet_title(name: str) -> str:
    """A sheet title Excel accepts: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Sheet1"
