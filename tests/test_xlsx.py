"""XLSX shortcuts checked against the slow paths they skip."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from importer.read import limits, sheet_scan, xlsx
from importer.read.xlsx import cell_text

VALUES: list[Any] = ["", "Ann", " kept ", "_x000D_", 447700112233.0, 0.1, 1e-05, 7, True, False]
VALUES += [date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), time(9, 30), timedelta(hours=36)]


@pytest.mark.parametrize("lead", [0, 2])
def test_rows_of_text_skip_cell_text_and_give_the_same_cells(lead: int) -> None:
    rng = random.Random(5)
    rows = []
    for _ in range(2000):
        kinds = VALUES[:4] if rng.random() < 0.7 else VALUES  # mostly text, as in most sheets
        rows.append([rng.choice(kinds) for _ in range(rng.randint(0, 8))])
    expected = [(n, [""] * lead + [cell_text(v) for v in row]) for n, row in enumerate(rows, 1)]
    assert list(xlsx._texts(iter([list(row) for row in rows]), lead)) == expected


def scan(xml: bytes, monkeypatch: pytest.MonkeyPatch, chunk: int) -> sheet_scan.SheetScan:
    monkeypatch.setattr(limits, "_CHUNK", chunk)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sheet.xml", xml)
    with zipfile.ZipFile(buffer) as archive:
        return sheet_scan.scan_sheet(Path("book.xlsx"), archive, "sheet.xml")


def tag_by_tag(xml: bytes) -> tuple[int, int]:
    slow = sheet_scan._TagScan()
    slow.feed(xml)
    return slow.last_row, slow.last_column


CELLS = [
    b'<c r="A1" t="s"><v>0</v></c>',
    b'<c r="B1"><v>2</v></c>',
    b'<c r="C1" t="str"><f>A1</f><v>e</v></c>',
    b'<c r="D1" t="inlineStr"><is><t>say "e" or \'e\'</t></is></c>',
    b'<c r="E1" s="e"><v>1</v></c>',
    b'<c r="F1" t="e"><v>#N/A</v></c>',
    b"<c r='G1' t='e'><v>#REF!</v></c>",
    b'<c r="H1"\tt = "e"><v>#DIV/0!</v></c>',
    b"<c r=\"I1\"\nt='e'><v>#VALUE!</v></c>",
    b'<c r="J1" t="e\'><v>#NAME?</v></c>',
]


@pytest.mark.parametrize("chunk", [7, 64, 1024 * 1024])
def test_the_error_cell_scan_agrees_with_the_pattern_on_the_whole_sheet(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(chunk)
    for _ in range(300):
        xml = b"<sheetData>" + b"".join(rng.choices(CELLS, k=rng.randint(0, 12))) + b"</sheetData>"
        expected = sheet_scan._ERROR_CELL.search(xml) is not None
        assert scan(xml, monkeypatch, chunk).error_cells == expected, xml


def random_sheet(rng: random.Random) -> bytes:
    """Rows and cells as spreadsheet programs write them: in order, gaps anywhere."""
    rows = sorted(rng.sample(range(1, 3000), rng.randint(0, 30)))
    parts = [b'<worksheet xmlns="main"><dimension ref="A1"/><sheetData>']
    for row in rows:
        columns = sorted(rng.sample(range(1, 900), rng.randint(0, 6)))
        cells = b"".join(
            b'<c r="%s%d" t="s"><v>%d</v></c>' % (letters(c).encode(), row, c) for c in columns
        )
        parts.append(b'<row r="%d" spans="1:9">%s</row>' % (row, cells))
    parts.append(b"</sheetData></worksheet>")
    return b"".join(parts)


def letters(column: int) -> str:
    text = ""
    while column:
        column, rest = divmod(column - 1, 26)
        text = chr(65 + rest) + text
    return text


@pytest.mark.parametrize("chunk", [7, 64, 1024 * 1024])
def test_the_fast_range_scan_agrees_with_the_tag_by_tag_scan(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(chunk)
    for _ in range(200):
        xml = random_sheet(rng)
        found = scan(xml, monkeypatch, chunk)
        assert found.all_referenced, xml
        assert (found.rows, found.columns) == tag_by_tag(xml), xml


@pytest.mark.parametrize(
    ("cells", "size"),
    [
        (b'<row r="1"><c r="A1"/><c r="XFD1048576"/></row>', (1048576, 16384)),
        (b'<row r="2"><c r = "C2"/><c r="D3"/></row>', (3, 4)),
        (b"<row r='4'><c r='B4'/></row><row><c/><c/></row>", (5, 2)),
        (b'<x:row r="1"><x:c r="Z1"/></x:row>', (1, 26)),
        (b'<row r="1"><c r="&#88;FD1"/><c r="A1"/></row>', (1, 16384)),
        (b'<row r="1"><c/><c/><c/></row><row r="9"/>', (9, 3)),
    ],
)
def test_the_range_comes_from_the_cells_however_their_references_are_written(
    cells: bytes, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    found = scan(b"<worksheet><sheetData>" + cells + b"</sheetData></worksheet>", monkeypatch, 64)
    assert (found.rows, found.columns) == size


def test_a_streamed_date_cell_out_of_excels_range_prints_no_python_warning(
    tmp_path: Path,
) -> None:
    """openpyxl warns of a date cell past 9999-12-31 as it streams it (a sheet with an error cell
    is streamed): the warning printed its source file and line amid the run's output."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "Email", "Hired On", "Notes"])
    sheet.append(["Ann Lee", "ann@example.com", 2958466, "=NA()"])
    sheet["C2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "far.xlsx"
    workbook.save(path)
    # Excel stores the error the formula gives; openpyxl stores no result at all
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    part = "xl/worksheets/sheet1.xml"
    parts[part] = parts[part].replace(b"<f>NA()</f><v />", b"<f>NA()</f><v>#N/A</v>")
    parts[part] = parts[part].replace(b'<c r="D2"', b'<c r="D2" t="e"', 1)
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    command = [sys.executable, "-m", "importer", "validate", str(path), "--mapping", "default"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr
