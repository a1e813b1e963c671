"""The corrected workbook the check step offers: the user's file with the corrected cells as
text, written a row at a time, everything else as the file has it."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from importer.errors import ConfigError
from importer.read.tables import open_table
from importer.web.corrected import write_corrected

SHEET = "xl/worksheets/sheet1.xml"
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
CALC_CHAIN_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
CALC_CHAIN_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"


def workbook(path: Path, rows: str | bytes, *, calc_chain: bool = False) -> Path:
    """A workbook openpyxl made (styles, theme, properties), with ``rows`` as its sheet's data
    and, like Excel's, a calculation chain."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Candidates"
    made = io.BytesIO()
    book.save(made)
    data = rows.encode() if isinstance(rows, str) else rows
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == SHEET:
                part = b"<worksheet " + MAIN.encode() + b"><sheetData>" + data
                part += b"</sheetData></worksheet>"
            elif calc_chain and info.filename == "[Content_Types].xml":
                chain = f'<Override PartName="/xl/calcChain.xml" ContentType="{CALC_CHAIN_TYPE}"/>'
                part = part.replace(b"</Types>", chain.encode() + b"</Types>")
            elif calc_chain and info.filename == "xl/_rels/workbook.xml.rels":
                chain = f'<Relationship Id="rId9" Type="{CALC_CHAIN_REL}" Target="calcChain.xml"/>'
                part = part.replace(b"</Relationships>", chain.encode() + b"</Relationships>")
            z.writestr(info, part)
        if calc_chain:
            z.writestr("xl/calcChain.xml", f'<calcChain {MAIN}><c r="D2" i="1"/></calcChain>')
    return path


def corrected(source: Path, edits: dict[int, dict[int, str]]) -> bytes:
    """The corrected workbook as the page downloads it, ``edits`` being row → column → text."""
    cells = {
        str(row): {str(column): ("", value) for column, value in texts.items()}
        for row, texts in edits.items()
    }
    return write_corrected(source, "Candidates", cells, "xlsx")


def text(ref: str, value: str, style: str = "") -> str:
    return f'<c r="{ref}"{style} t="inlineStr"><is><t>{value}</t></is></c>'


HEADERS = '<row r="1">' + "".join(
    text(f"{c}1", h) for c, h in zip("ABCD", ["Name", "Email", "Phone", "Score"], strict=True)
)


def test_corrected_cells_are_text_in_their_place_and_the_rest_stays(tmp_path: Path) -> None:
    rows = (
        HEADERS
        + "</row>"
        # B2 is not in the file; D2 is a formula with its result, in a style
        + '<row r="2" spans="1:4">'
        + text("A2", "Ann")
        + text("C2", "0207")
        + '<c r="D2" s="1"><f>1+1</f><v>2</v></c></row>'
        # row 3 is not in the file; row 4's cells carry no reference, as some writers do
        + '<row r="4"><c t="inlineStr"><is><t>Bob</t></is></c><c t="inlineStr"><is><t>b@x</t>'
        + '</is></c><c r="D4"><f>2+2</f><v>4</v></c></row>'
    )
    source = workbook(tmp_path / "in.xlsx", rows, calc_chain=True)
    typed = "A&<b>_x0041_\x01 =1+1"
    edits = {2: {1: "ann@example.com", 3: typed}, 3: {0: "Cy"}, 4: {1: "bob@example.com"}}
    edits[6] = {2: "+44 1"}
    out = tmp_path / "out.xlsx"
    out.write_bytes(corrected(source, edits))

    with open_table(out) as table:
        assert [(r.row_number, r.values) for r in table.rows] == [
            (2, ("Ann", "ann@example.com", "0207", typed)),
            (3, ("Cy", "", "", "")),
            (4, ("Bob", "bob@example.com", "", "4")),  # a formula keeps its result
            (5, ("", "", "", "")),
            (6, ("", "", "+44 1", "")),
        ]
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(out) as after:
        changed = {"[Content_Types].xml", "xl/_rels/workbook.xml.rels", "xl/workbook.xml", SHEET}
        assert after.namelist() == [n for n in before.namelist() if n != "xl/calcChain.xml"]
        for name in set(after.namelist()) - changed:
            assert after.read(name) == before.read(name), name
        assert b"calcChain" not in after.read("[Content_Types].xml")
        assert b"calcChain" not in after.read("xl/_rels/workbook.xml.rels")
        # Excel computes the formulas again on opening, from the corrected cells
        assert b'fullCalcOnLoad="1"' in after.read("xl/workbook.xml")
        sheet = after.read(SHEET)
    # the corrected formula cell is text in the cell's style, the spans hint is gone
    assert b'<row r="2">' in sheet
    assert b'<c r="D2" s="1" t="inlineStr"><is><t xml:space="preserve">A&amp;&lt;b&gt;' in sheet


def test_a_cell_other_formulas_are_copied_from_is_refused(tmp_path: Path) -> None:
    rows = (
        HEADERS + "</row>"
        '<row r="2"><c r="D2"><f t="shared" ref="D2:D3" si="0">1+1</f><v>2</v></c></row>'
        '<row r="3"><c r="D3"><f t="shared" si="0"/><v>2</v></c></row>'
    )
    source = workbook(tmp_path / "in.xlsx", rows)
    with pytest.raises(ConfigError, match=r"^cell D2 holds a formula Excel copied to other cells"):
        corrected(source, {2: {3: "x"}})
    # a copy is a cell like any other
    out = tmp_path / "out.xlsx"
    out.write_bytes(corrected(source, {3: {3: "x"}}))
    with open_table(out) as table:
        assert [r.values[3] for r in table.rows] == ["2", "x"]


def test_the_corrected_workbook_is_written_a_row_at_a_time(tmp_path: Path) -> None:
    """openpyxl loading the workbook whole took 3.8 GB for a 41 MB file of a million rows."""
    rows = HEADERS.encode() + b"</row>"
    rows += b"".join(
        b'<row r="%d">%s%s<c r="D%d"><f>%d+1</f><v>%d</v></c></row>'
        % (n, text(f"A{n}", f"F{n}").encode(), text(f"B{n}", f"p{n}@x.io").encode(), n, n, n + 1)
        for n in range(2, 100_002)
    )
    source = workbook(tmp_path / "big.xlsx", rows)
    tracemalloc.start()
    try:
        data = corrected(source, {3: {0: "Ann"}, 99_000: {1: "a@x.io"}})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # beside the file it returns, a few chunks of the sheet's 17 MB of XML at a time
    assert len(rows) > 16 * 2**20
    assert peak - len(data) < 8 * 2**20
    out = tmp_path / "out.xlsx"
    out.write_bytes(data)
    with open_table(out) as table:
        found = {r.row_number: r.values for r in table.rows if r.row_number in (3, 99_000)}
    assert found == {3: ("Ann", "p3@x.io", "", "4"), 99_000: ("F99000", "a@x.io", "", "99001")}
