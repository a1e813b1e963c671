"""A number cell whose format pads it with zeros: Excel shows the zip code 02134 and stores 2134,
which both readers read. The value is read as Excel shows it, or a candidate would be sent with
another zip code, or an ID that is not theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from importer.mapping import load_mapping_text
from importer.read.number_formats import ShownCells
from importer.read.tables import open_table
from importer.read.xlsx import STREAMING_THRESHOLD
from tests.sandboxed import import_file

HEADER = ["Name", "Email", "Zip", "Zip+4", "SSN", "Phone", "Badge", "Amount"]
FORMATS = {
    "C": "00000",  # Excel's "Zip Code" format
    "D": "00000\\-0000",  # "Zip Code + 4", as Excel writes it
    "E": "000\\-00\\-0000",  # "Social Security Number"
    "F": "[<=9999999]###\\-####;\\(###\\)\\ ###\\-####",  # "Phone Number": # pads nothing
    "G": '[Blue]000000;[Red]"-"000000',  # a colour, and a negative section of its own
    "H": "#,##0.00",
}


def workbook(folder: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["Ann Lee", "ann@example.com", 2134, 21340001, 12345678, 5551234567, 42, 1234.5])
    sheet.append(["Bo Ray", "bo@example.com", 90210, 902101234, 123456789, 5551234, 1234567, 7])
    # what the format cannot pad: text, a fraction, a negative number, a number too long for it
    sheet.append(["Cy Dee", "cy@example.com", "n/a", 2134.5, -12345678, None, -42, 0])
    for column, code in FORMATS.items():
        for row in (2, 3, 4):
            sheet[f"{column}{row}"].number_format = code
    path = folder / "zips.xlsx"
    book.save(path)
    return path


@pytest.mark.parametrize("threshold", [STREAMING_THRESHOLD, 0], ids=["calamine", "openpyxl"])
def test_both_readers_read_zero_padded_numbers_as_excel_shows_them(
    tmp_path: Path, threshold: int
) -> None:
    with open_table(workbook(tmp_path), streaming_threshold=threshold) as table:
        rows = [row.values[2:] for row in table.rows]
    assert rows == [
        ("02134", "02134-0001", "012-34-5678", "5551234567", "000042", "1234.5"),
        ("90210", "90210-1234", "123-45-6789", "5551234", "1234567", "7"),
        ("n/a", "2134.5", "-12345678", "", "-42", "0"),
    ]


def test_a_zip_code_is_sent_as_shown(tmp_path: Path) -> None:
    mapping = load_mapping_text(
        """
version: 1
fields:
  name: {column: Name}
  email: {column: Email}
  custom_fields:
    - {name: Zip, column: Zip}
    - {name: Badge, column: Badge, as: number}
""",
        "zips.yaml",
    )
    imported = import_file(workbook(tmp_path), tmp_path / "out", mapping)
    customs = {c["name"]: c["value"] for c in imported.body(2)["custom_fields"]}
    # it was sent as "2134": another town's code
    assert customs == {"Zip": "02134", "Badge": 42}


def test_shown_cells_answer_by_row_whatever_the_runs() -> None:
    cells = ShownCells()
    for row in (2, 3, 4, 6, 7):
        cells.add(row, 2, "00000")
    cells.add(5, 2, "%")  # the same column in another format, in a row the others skip
    cells.add(3, 0, "000")
    cells.done()
    assert [list(cells.in_row(row)) for row in range(1, 9)] == [
        [],
        [(2, "00000")],
        [(2, "00000"), (0, "000")],
        [(2, "00000")],
        [(2, "%")],
        [(2, "00000")],
        [(2, "00000")],
        [],
    ]


def test_a_format_of_a_million_zeros_leaves_the_numbers_as_stored(tmp_path: Path) -> None:
    # written out for every cell, it would take hours for a sheet of numbers
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "Zip"])
    for n in range(2000):
        sheet.append([f"P{n}", f"p{n}@example.com", 2134])
        sheet.cell(row=n + 2, column=3).number_format = "0" * 1_000_000
    path = tmp_path / "zeros.xlsx"
    book.save(path)
    with open_table(path) as table:
        assert {row.values[2] for row in table.rows} == {"2134"}
