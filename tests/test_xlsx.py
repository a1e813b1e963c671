"""XLSX shortcuts checked against the slow paths they skip."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from importer.read import xlsx
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


def scan(xml: bytes, monkeypatch: pytest.MonkeyPatch, chunk: int) -> bool:
    monkeypatch.setattr(xlsx, "_SCAN_CHUNK", chunk)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sheet.xml", xml)
    with zipfile.ZipFile(buffer) as archive:
        return xlsx._has_error_cells(archive, "sheet.xml")


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
        expected = xlsx._ERROR_CELL.search(xml) is not None
        assert scan(xml, monkeypatch, chunk) == expected, xml
