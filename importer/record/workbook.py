"""rejects.xlsx: the rejected rows as a workbook whose every cell is text, streamed row by row.

rejects.csv can only ask Excel to take a cell as text (the apostrophe it then shows); in a
workbook a cell is text: ``=HYPERLINK(...)``, ``+44 20 7946 0958``, ``007``, ``1e5``, a
20-digit number or ``3/4`` open exactly as typed, are saved back so, and import again
unchanged. Every column is formatted as Text (``@``), so that what a user types into an empty
cell while fixing a row stays text as well.

Written by hand rather than with openpyxl: a sheet of inline strings is a few small parts and
one stream of XML, which costs a tenth of openpyxl's CPU (a nightly run whose every row is
rejected writes millions of cells) and holds nothing in memory.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from importer.read.escape import escape_formula
from importer.read.headers import column_letter
from importer.read.limits import MAX_ROWS

SHEET_ROWS = MAX_ROWS - 1
"""Rejected rows a sheet holds under its header: past them rejects.xlsx is not kept."""
CELL_CHARACTERS = 32_767
"""The longest text Excel keeps in a cell: a workbook with a longer one opens as damaged."""

# XML 1.0 cannot hold these characters; Excel writes them (and a literal "_xHHHH_", whose "_"
# becomes _x005F_) in its own _xHHHH_ escape, which both readers decode. A carriage return is
# among them: XML parsers turn a written one into a line feed.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
# What _cell_xml changes: an unwritable character or one that XML escapes. A row's cells joined
# hold every match any one of them holds, so a row without one is written as it is.
_CHANGED = re.compile(_UNWRITABLE.pattern + "|[&<>]")
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_MAIN}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_MAIN}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_MAIN}.styles+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_NS}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="rejects" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    # Style 1 is number format 49, Excel's built-in "@" (Text).
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_NS}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/>'
        '</font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
        '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
        '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf '
        'numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="49" '
        'fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def workbook_text(value: str) -> str:
    """A cell's text as rejects.xlsx holds it, so that reading the file back gives ``value``.

    Reading the importer's rejects file back takes one apostrophe off a cell that starts with
    apostrophes and then a formula character (rejects.csv writes those with one more), so
    such a cell, and only such, gets one more here too.
    """
    return escape_formula(value) if value[:1] == "'" else value


def _cell_xml(value: str) -> str:
    if _UNWRITABLE.search(value):
        value = _UNWRITABLE.sub(lambda found: f"_x{ord(found[0]):04X}_", value)
    return escape(value)


def row_xml(letters: Sequence[str], number: int, cells: Sequence[str]) -> str:
    """Row ``number`` of the sheet: a text cell per non-empty cell, in the columns ``letters``."""
    # One search of the row instead of two tests and three replaces a cell: most rows need
    # none, and every row of a file whose rows are all rejected is written here.
    plain = _CHANGED.search("".join(cells)) is None
    xml = "".join(
        f'<c r="{column}{number}" s="1" t="inlineStr"><is><t xml:space="preserve">'
        f"{cell if plain else _cell_xml(cell)}</t></is></c>"
        for column, cell in zip(letters, cells, strict=False)
        if cell
    )
    return f'<row r="{number}">{xml}</row>'


class RejectsWorkbook:
    """One sheet, "rejects": the header row, then a row of text cells per ``write``."""

    def __init__(self, path: Path, headers: Sequence[str]) -> None:
        self.path = path
        self.rows = 0
        self._letters = [column_letter(n) for n in range(len(headers))]
        self._archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, xml in _PARTS.items():
            self._archive.writestr(name, _HEAD + xml)
        sheet = zipfile.ZipInfo("xl/worksheets/sheet1.xml", time.localtime()[:6])
        sheet.compress_type = zipfile.ZIP_DEFLATED
        self._sheet: IO[bytes] = self._archive.open(sheet, "w", force_zip64=True)
        last = len(self._letters)
        self._sheet.write(
            f'{_HEAD}<worksheet xmlns="{_NS}"><cols><col min="1" max="{last}" width="16" '
            f'style="1" customWidth="1"/></cols><sheetData>'.encode()
        )
        self._row(1, headers)

    def write(self, cells: Sequence[str]) -> bool:
        """Add a row; False, writing nothing, when the sheet is full or a cell is longer than
        Excel opens."""
        if self.rows >= SHEET_ROWS or max(map(len, cells), default=0) > CELL_CHARACTERS:
            return False
        self.rows += 1
        self._row(self.rows + 1, [workbook_text(cell) for cell in cells])
        return True

    def _row(self, number: int, cells: Sequence[str]) -> None:
        self._sheet.write(row_xml(self._letters, number, cells).encode())

    def close(self) -> None:
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._archive.close()

    def discard(self) -> None:
        """Close and delete the file: a sheet too small for the rows, or one a failure (a full
        disk) left unfinished, which Excel would not open. Closing what is deleted anyway may
        fail quietly; left open, the archive would complain as Python collects it."""
        with suppress(OSError):
            self._sheet.close()
        with suppress(OSError):
            self._archive.close()
        self.path.unlink(missing_ok=True)
