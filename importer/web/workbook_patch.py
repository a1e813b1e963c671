"""A workbook with cells of one sheet replaced, written part by part as the file has them.

Loading a workbook whole costs a hundred times its size: openpyxl took 3.8 GB and three
minutes for a 41 MB export of a million rows. Here every part of the zip is copied in chunks,
and the sheet's XML row by row, only the rows with a corrected cell rewritten: memory is a
chunk and a row, whatever the size of the workbook. What no reader of the page looks at stays
too: styles, other sheets, formulas with their results (without which the file could not be
read again).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from importer.errors import ConfigError
from importer.read import xlsx
from importer.read.headers import column_letter
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits, read_metadata, stream_part
from importer.read.sheet_scan import column_number

RowEdits = Mapping[int, Mapping[int, str]]
"""Row number → column position (0 for A) → the text the cell now holds."""
_PREFIX = rb"(?:[\w.-]+:)?"
# A row's opening tag, or sheetData's (opening, closing or empty): rows the file leaves out go
# in order among the others, or before the end of the sheet's data.
_MARK = re.compile(
    rb"<(?P<p>" + _PREFIX + rb")row\b(?P<attrs>[^>]*?)(?P<empty>/?)>"
    rb"|<(?P<close>/?)(?P<dp>" + _PREFIX + rb")sheetData\b[^>]*?(?P<dempty>/?)>"
)
_CELL = re.compile(rb"<(?P<p>" + _PREFIX + rb")c\b(?P<attrs>[^>]*?)(?P<empty>/?)>")
_ROW_NUMBER = re.compile(rb"""\sr=["'](\d+)["']""")
_CELL_COLUMN = re.compile(rb"""\sr=["']([A-Za-z]{1,3})\d+["']""")
_STYLE = re.compile(rb"""\ss=["']\d+["']""")
_SPANS = re.compile(rb"""\sspans=["'][^"']*["']""")
_CONTENT_TYPES = "[Content_Types].xml"
_CALC_PR = re.compile(rb"<(?P<p>" + _PREFIX + rb")calcPr\b(?P<attrs>[^>]*?)(?P<end>/?>)")
_FULL_CALC = re.compile(rb"""\sfullCalcOnLoad=["'][^"']*["']""")
# what comes before calcPr in workbook.xml, whose elements keep the schema's order
_BEFORE_CALC_PR = re.compile(
    rb"</(?P<p>" + _PREFIX + rb")(?:sheets|functionGroups|externalReferences|definedNames)>"
    rb"|<(?P<q>" + _PREFIX + rb")(?:functionGroups|externalReferences|definedNames)\b[^>]*/>"
)
_SHARED_FORMULA = re.compile(rb"""<(?:[\w.-]+:)?f\b[^>]*\bt=["']shared["'][^>]*\bref=""")
_SHARED_FORMULA_REF_FIRST = re.compile(rb"""<(?:[\w.-]+:)?f\b[^>]*\bref=[^>]*\bt=["']shared""")
# Not allowed in XML, or read as one of Excel's escapes: written as Excel writes them, _xHHHH_.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def patch_workbook(
    path: Path, sheet: str, edits: RowEdits, limits: WorkbookLimits = DEFAULT_LIMITS
) -> bytes:
    """The workbook at ``path`` with ``edits`` written as text into ``sheet``'s cells."""
    out = io.BytesIO()
    with xlsx.sheet_parts(path, limits) as (archive, _, sheets):
        part = next((part for name, _, part in sheets if name == sheet), None)
        if part is None:
            raise ConfigError(f'{path} has no sheet "{sheet}"')
        formulas = xlsx.formula_parts(path, archive)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in archive.infolist():
                name = info.filename
                # stale once a formula cell holds text, and rebuilt by Excel when missing
                if name == formulas.calc_chain:
                    continue
                chunks: Iterator[bytes] = stream_part(path, archive, name)
                if name == part:
                    chunks = _patched_sheet(chunks, edits)
                elif name in (formulas.workbook, formulas.relationships, _CONTENT_TYPES):
                    xml = read_metadata(path, archive, name)
                    chunks = iter([_computed_on_opening(name, xml, formulas)])
                copy = zipfile.ZipInfo(name, info.date_time)
                copy.compress_type = zipfile.ZIP_DEFLATED
                copy.external_attr = info.external_attr
                # the size decides whether the entry is written as ZIP64: text only adds a little
                copy.file_size = info.file_size + (1 << 20 if name == part else 0)
                with target.open(copy, "w") as entry:
                    for chunk in chunks:
                        entry.write(chunk)
    return out.getvalue()


def _computed_on_opening(name: str, xml: bytes, formulas: xlsx.FormulaParts) -> bytes:
    """A listing of parts without the calculation chain, or workbook.xml asking Excel to
    compute every formula on opening: the results stored are those of the cells before."""
    if name != formulas.workbook:
        if formulas.calc_chain is None:
            return xml
        file = re.escape(posixpath.basename(formulas.calc_chain).encode())
        entry = rb"<(?:[\w.-]+:)?(?:Override|Relationship)\b[^>]*(?:/" + file + rb"|/calcChain)"
        return re.sub(entry + rb"[\"'][^>]*/>", b"", xml)
    found = _CALC_PR.search(xml)
    if found is not None:
        attrs = _FULL_CALC.sub(b"", found["attrs"])
        tag = b'<%scalcPr%s fullCalcOnLoad="1"%s' % (found["p"], attrs, found["end"])
        return xml[: found.start()] + tag + xml[found.end() :]
    before = [*_BEFORE_CALC_PR.finditer(xml)]
    if not before:
        return xml
    last = before[-1]
    prefix = last["p"] if last["p"] is not None else last["q"]
    return xml[: last.end()] + b'<%scalcPr fullCalcOnLoad="1"/>' % prefix + xml[last.end() :]


def _patched_sheet(chunks: Iterator[bytes], edits: RowEdits) -> Iterator[bytes]:
    patch = _SheetPatch(edits)
    for chunk in chunks:
        yield patch.feed(chunk)
    yield patch.close()


class _SheetPatch:
    """The sheet's XML fed in chunks, given back with the edited rows rewritten."""

    def __init__(self, edits: RowEdits) -> None:
        self.edits = edits
        self.pending = sorted(edits, reverse=True)
        """The edited rows not written yet, the next one last."""
        self.row = 0
        self.prefix = b""
        self.held = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self.held + chunk
        out: list[bytes] = []
        at = 0
        while self.pending and (found := _MARK.search(data, at)) is not None:
            out.append(data[at : found.start()])
            at = found.start()
            if found["dp"] is not None:
                out.append(self._sheet_data(found))
                at = found.end()
                continue
            body, end = b"", found.end()
            if not found["empty"]:
                closing = b"</" + found["p"] + b"row>"
                close = data.find(closing, end)
                if close < 0:
                    break  # the row goes on in the next chunk
                body, end = data[end:close], close + len(closing)
            self.prefix = found["p"]
            number = _ROW_NUMBER.search(found["attrs"])
            self.row = int(number[1]) if number else self.row + 1
            out.extend(self._rows_before(self.row))
            if self.pending and self.pending[-1] == self.row:
                self.pending.pop()
                out.append(self._row(self.row, found["attrs"], body))
            else:
                out.append(data[at:end])
            at = end
        else:
            # past the last tag found, the start of one the chunk cut may wait for the next
            cut = data.rfind(b"<", at) if self.pending else -1
            out.append(data[at:] if cut < 0 else data[at:cut])
            at = len(data) if cut < 0 else cut
        self.held = data[at:]
        return b"".join(out)

    def close(self) -> bytes:
        if self.pending:
            raise ConfigError(
                "the sheet's XML ends before its rows do: the file is damaged; open it in Excel "
                "and save it again"
            )
        return self.held

    def _sheet_data(self, found: re.Match[bytes]) -> bytes:
        """The rows still to write go before the end of the sheet's data."""
        tag = found[0]
        self.prefix = found["dp"]
        if not found["close"] and not found["dempty"]:
            return tag
        rows = b"".join(self._rows_before(None))
        if found["dempty"]:
            sheet_data = found["dp"] + b"sheetData"
            return b"<" + sheet_data + b">" + rows + b"</" + sheet_data + b">"
        return rows + tag

    def _rows_before(self, number: int | None) -> Iterator[bytes]:
        """Edited rows the file has no element for, before row ``number`` (None: all)."""
        while self.pending and (number is None or self.pending[-1] < number):
            row = self.pending.pop()
            yield self._row(row, b' r="%d"' % row, b"")

    def _row(self, number: int, attrs: bytes, body: bytes) -> bytes:
        """Row ``number`` with its edited cells as text, its other cells as they were."""
        p = self.prefix
        todo = sorted(self.edits[number].items(), reverse=True)
        out: list[bytes] = []
        at = column = 0
        while (found := _CELL.search(body, at)) is not None:
            end = found.end()
            if not found["empty"]:
                closing = b"</" + found["p"] + b"c>"
                end = body.find(closing, end)
                if end < 0:
                    raise ConfigError(f"row {number} of the sheet is damaged: save it again")
                end += len(closing)
            letters = _CELL_COLUMN.search(found["attrs"])
            column = column_number(letters[1]) if letters else column + 1
            out.append(body[at : found.start()])
            while todo and todo[-1][0] + 1 < column:
                out.append(_text_cell(p, number, *todo.pop(), None))
            cell = body[found.start() : end]
            if todo and todo[-1][0] + 1 == column:
                _refuse_shared_formula(cell, number, column)
                out.append(_text_cell(p, number, *todo.pop(), _STYLE.search(found["attrs"])))
            else:
                out.append(cell)
            at = end
        out.append(body[at:])
        while todo:
            out.append(_text_cell(p, number, *todo.pop(), None))
        # spans only hints at the row's first and last cells: an added cell may fall outside
        attrs = _SPANS.sub(b"", attrs)
        return b"<" + p + b"row" + attrs + b">" + b"".join(out) + b"</" + p + b"row>"


def _refuse_shared_formula(cell: bytes, row: int, column: int) -> None:
    if _SHARED_FORMULA.search(cell) or _SHARED_FORMULA_REF_FIRST.search(cell):
        raise ConfigError(
            f"cell {column_letter(column - 1)}{row} holds a formula Excel copied to other cells "
            "from it, which would lose theirs: correct that cell in the file itself, or download "
            "the corrected file as CSV"
        )


def _text_cell(
    prefix: bytes, row: int, position: int, text: str, style: re.Match[bytes] | None
) -> bytes:
    """A cell holding ``text`` as typed, never a number or a formula, in the cell's style."""
    written = escape(_UNWRITABLE.sub(lambda c: f"_x{ord(c[0]):04X}_", text)).encode()
    ref = b"%s%d" % (column_letter(position).encode(), row)
    shown = b"" if style is None else style[0]
    p = prefix
    return (
        b"<" + p + b'c r="' + ref + b'"' + shown + b' t="inlineStr"><' + p + b"is><" + p
        + b't xml:space="preserve">' + written + b"</" + p + b"t></" + p + b"is></" + p + b"c>"
    )  # fmt: skip
