"""Values in a column without a header: the candidate is sent, the value is not (no mapping can
name the column), and the summary says which columns and rows hold such values."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.sandboxed import import_file

CREATED = ("created", "")


def test_a_note_beside_the_table_of_a_workbook_does_not_turn_the_candidate_away(
    tmp_path: Path,
) -> None:
    """A recruiter types "called him 3/4" two columns right of the table: a sheet has no ragged
    rows, and this one was rejected as ragged-row, told to check its delimiters and quotes."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["First Name", "Last Name", "Email"])
    sheet.append(["Ada", "Lovelace", "ada@example.com"])
    sheet.append(["Bob", "Babbage", "bob@example.com", None, "called him 3/4"])
    workbook.save(tmp_path / "notes.xlsx")
    imported = import_file(tmp_path / "notes.xlsx", tmp_path / "out")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert imported.body(3) == {
        "first_name": "Bob",
        "last_name": "Babbage",
        "email": "bob@example.com",
    }
    assert imported.summary.notices == [
        "1 column without a header holds values, which no mapping can read, so they are not "
        "sent: column E (row 3); if the ATS should have them, give the column a header in the "
        "file and map it"
    ]


def test_a_csv_row_as_wide_as_its_header_line_is_not_ragged(tmp_path: Path) -> None:
    """Excel writes every line of a CSV as wide as the sheet's used range, so a header line
    ends with empty cells where a column has no name; a value under one is in that column."""
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"First Name,Last Name,Email,,\r\n"
        b"Ada,Lovelace,ada@example.com,,\r\n"
        b"Bob,Babbage,bob@example.com,,called him\r\n"
        b"Cy,Clark,cy@example.com,,\r\n"
        # wider than the header line: a stray delimiter, as before
        b"Di,Dee,di@example.com,,,stray\r\n"
    )
    imported = import_file(path, tmp_path / "out")
    assert imported.outcomes() == {
        2: CREATED,
        3: CREATED,
        4: CREATED,
        5: ("rejected", "ragged-row"),
    }
    assert "email" in imported.body(3)
    (notice,) = imported.summary.notices
    assert "1 column without a header holds values" in notice
    assert "column E (row 3)" in notice


def test_a_column_whose_header_cell_is_blank_is_said_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "indexed.csv"
    lines = [",First Name,Last Name,Email"]
    lines += [f"{n},Person,{n},p{n}@example.com" for n in range(5)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = import_file(path, tmp_path / "out")
    assert set(imported.outcomes().values()) == {CREATED}
    (notice,) = imported.summary.notices
    assert "column A (rows 2, 3, 4 and 2 more)" in notice
