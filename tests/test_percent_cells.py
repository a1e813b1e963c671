"""A cell that shows a percentage: Excel shows 50% and stores 0.5, which both readers read. The
value is sent as the percentage a person sees ("50%"), and a number field takes 0.5 from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from importer.mapping import parse_mapping
from importer.read.tables import open_table
from importer.read.xlsx import STREAMING_THRESHOLD
from tests.sandboxed import import_file

HEADER = ["Name", "Email", "Match", "Score", "Fee", "Quoted"]


def scores(folder: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(["Ann Lee", "ann@example.com", 0.5, 0.125, 1234.5, 0.25])
    sheet.append(["Bo Ray", "bo@example.com", "n/a", 1, 7, 0.75])
    formats = {"C": "0%", "D": "[Red]0.0%;[Blue]-0.0%", "E": '"$"#,##0.00', "F": '0" \\%"'}
    for column, code in formats.items():
        for row in (2, 3):
            sheet[f"{column}{row}"].number_format = code
    path = folder / "scores.xlsx"
    workbook.save(path)
    return path


@pytest.mark.parametrize("threshold", [STREAMING_THRESHOLD, 0], ids=["calamine", "openpyxl"])
def test_both_readers_read_a_percentage_as_excel_shows_it(tmp_path: Path, threshold: int) -> None:
    with open_table(scores(tmp_path), streaming_threshold=threshold) as table:
        rows = [row.values[2:] for row in table.rows]
    assert rows == [
        # in full whatever decimals the format shows; a % in quotes is text, no percentage
        ("50%", "12.5%", "1234.5", "0.25"),
        ("n/a", "100%", "7", "0.75"),
    ]


def test_a_percentage_is_sent_as_shown_and_as_its_number(tmp_path: Path) -> None:
    mapping = parse_mapping(
        {
            "version": 1,
            "fields": {
                "name": {"column": "Name"},
                "email": {"column": "Email"},
                "custom_fields": [
                    {"name": "Match", "column": "Match", "on_invalid": "drop"},
                    {"name": "Score", "column": "Score", "as": "number"},
                ],
            },
        },
        "percent.yaml",
    )
    imported = import_file(scores(tmp_path), tmp_path / "out", mapping)
    customs = {c["name"]: c["value"] for c in imported.body(2)["custom_fields"]}
    # it was sent as 0.5 to a text field, a value no one saw
    assert customs == {"Match": "50%", "Score": 0.125}
    assert {c["name"]: c["value"] for c in imported.body(3)["custom_fields"]} == {
        "Match": "n/a",
        "Score": 1,
    }
