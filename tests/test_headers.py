"""Finding the header row below titles, notes and blank rows, in CSV files and workbooks."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from importer.read.headers import find_header_row, looks_like_title
from importer.read.tables import open_table

DATA = Path(__file__).parent / "data"


def numbered(*rows: list[str]) -> list[tuple[int, list[str]]]:
    return list(enumerate(rows, 1))


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # a plain file
        ([["Name", "Email"], ["Ann", "ann@example.com"]], 1),
        # a title line, then the header
        (
            [
                ["Candidates, March 2024", "", ""],
                ["Name", "Email", "Phone"],
                ["Ann", "a@x.io", "1"],
            ],
            2,
        ),
        # a logo row (no cells) and a blank row above
        ([[], ["", "", ""], ["Name", "Email", "Phone"], ["Ann", "a@x.io", "07911 123001"]], 3),
        # a note that reads as values: a label and a date
        ([["Exported on:", "2024-03-01"], ["First", "Last", "Email"], ["Ann", "Lee", "a@x.io"]], 2),
        # a short label line above a wide header
        ([["Report:", "Candidates", "", ""], ["A", "B", "C", "D"], ["1", "2", "3", "4"]], 2),
        # a header with a year among its names stays the header
        ([["Name", "Company", "2023"], ["Ann", "Acme", "yes"]], 1),
        # a header naming few of its columns, over data rows that read as values
        ([["Name", "Email", "", "", ""], ["Ann", "a@x.io", "1", "2", "3"]], 1),
        # ... and a later text-only row that is wider than the header is still data
        ([["Name", "Email", ""], ["Ann", "a@x.io", "1"], ["Cy", "cy@x.io", "stray"]], 1),
        # a ragged data row wider than the header further down
        ([["First", "Last", "Email"], ["A", "B", "a@x.io"], ["G", "H", "g@x.io", "extra"]], 1),
        # a header that leaves a column unnamed (pandas' index), over rows that fill it
        (
            [
                ["", "First", "Last", "Email", "Phone", "Company", "Title"],
                ["0", "Ann", "Lee", "a@x.io", "+44 7911 123001", "Acme", "CTO"],
            ],
            1,
        ),
        # ... and a first data row with a note beside the table, under no header
        (
            [
                ["First", "Last", "Email", "Phone"],
                ["Ann", "Lee", "a@x.io", "+44 7911 123001", "called 3/4"],
            ],
            1,
        ),
        # a line of group labels over the header is still passed over
        ([["Candidate", "", "", "Contact", "", "Other"], ["A", "B", "C", "D", "E", "F"]], 2),
        # a one-column file
        ([["Name"], ["Ann"]], 1),
        # nothing to read: row 1, so that reading it says the file is empty
        ([[], [""]], 1),
        # only values: the first row with any
        ([[], ["1", "2"], ["3", "4"]], 2),
    ],
)
def test_the_header_is_the_first_row_that_reads_as_column_names(
    rows: list[list[str]], expected: int
) -> None:
    assert find_header_row(numbered(*rows)) == expected


def test_a_title_line_is_what_a_missing_column_error_suggests_a_header_row_for() -> None:
    assert looks_like_title(["Candidate export", "", ""])
    assert not looks_like_title(["Name", "Email"])


def test_a_csv_with_a_title_and_a_note_is_read_from_its_header() -> None:
    with open_table(DATA / "header_row_3.csv") as table:
        rows = [(row.row_number, row.values) for row in table.rows]
    assert table.header_row == 3
    assert table.headers == ["First Name", "Last Name", "Email"]
    assert rows == [(4, ("Ann", "Lee", "ann@example.com")), (5, ("Bob", "Ray", "bob@example.com"))]


def test_a_given_header_row_is_taken_as_it_is() -> None:
    with open_table(DATA / "header_row_3.csv", header_row=1) as table:
        assert (table.header_row, table.headers) == (1, ["Candidate export from LegacyATS"])


def test_a_semicolon_file_with_a_title_keeps_its_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "titled.csv"
    path.write_text(
        "Candidates; exported by LegacyATS\n\n"
        "Name;Email;Phone\nAnn;ann@example.com;+44 7911 123001\n",
        encoding="utf-8",
    )
    with open_table(path) as table:
        rows = [row.values for row in table.rows]
    assert (table.delimiter, table.header_row) == (";", 3)
    assert rows == [("Ann", "ann@example.com", "+44 7911 123001")]


def test_a_workbook_with_a_merged_title_and_blank_rows_is_read_from_its_header(
    tmp_path: Path,
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"] = "Candidates from LegacyATS"
    sheet.merge_cells("A1:C1")
    sheet["A2"] = "Exported on:"
    sheet["B2"] = "2024-03-01"
    sheet.append([])
    sheet.append(["Name", "Email", "Phone"])
    sheet.append(["Ann", "ann@example.com", 447911123001])
    workbook.save(tmp_path / "titled.xlsx")
    with open_table(tmp_path / "titled.xlsx") as table:
        rows = [(row.row_number, row.values) for row in table.rows]
    assert (table.header_row, table.headers) == (4, ["Name", "Email", "Phone"])
    assert rows == [(5, ("Ann", "ann@example.com", "447911123001"))]


def test_a_csv_written_with_pandas_index_keeps_its_first_candidate(tmp_path: Path) -> None:
    """The index column has no header and every data row fills it: the first candidate's row is
    wider than the header, but it is a candidate (it holds an e-mail and a phone), not the
    header: taken for one, it was lost and the mapping found none of its columns."""
    path = tmp_path / "export.csv"
    path.write_text(
        ",First Name,Last Name,Email,Phone,Company,Title\n"
        "0,Ada,Lovelace,ada@example.com,+44 7911 123123,Analytical Engines,Engineer\n"
        "1,Bob,Babbage,bob@example.com,+44 7911 123124,Difference Ltd,Founder\n",
        encoding="utf-8",
    )
    with open_table(path) as table:
        rows = [(row.row_number, row.values[1]) for row in table.rows]
    assert table.header_row == 1
    assert table.headers[1:3] == ["First Name", "Last Name"]
    assert rows == [(2, "Ada"), (3, "Bob")]
