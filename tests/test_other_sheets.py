"""A workbook kept one sheet per office, job or year: the import reads one sheet, and says which
others hold a table of the same columns, whose candidates were not imported."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from importer.read.other_sheets import sheets_like
from importer.web.workspace import page_words
from tests.data.make_xlsx import save
from tests.sandboxed import import_file

HEADER = ["First Name", "Last Name", "Email"]


def offices(folder: Path) -> Path:
    workbook = Workbook()
    london = workbook.active
    london.title = "London"
    london.append(HEADER)
    london.append(["Ada", "Lovelace", "ada@example.com"])
    berlin = workbook.create_sheet("Berlin")
    berlin.append(["Candidates in Berlin"])  # a title line, and the columns in another order
    berlin.append(["Email", "Last Name", "First Name"])
    berlin.append(["bjorn@example.de", "Müller", "Björn"])
    notes = workbook.create_sheet("Notes")  # another table
    notes.append(["Date", "Note"])
    notes.append(["2024-03-01", "called Ada"])
    template = workbook.create_sheet("Template")  # the columns, no one under them
    template.append(HEADER)
    lookup = workbook.create_sheet("Old")  # hidden sheets are not what anyone sees
    lookup.append(HEADER)
    lookup.append(["Cy", "Clark", "cy@example.com"])
    lookup.sheet_state = "hidden"
    # as Excel writes them: the cells' text in the shared strings
    save(workbook, "offices.xlsx", folder=folder, shared_strings=True)
    return folder / "offices.xlsx"


def test_the_sheets_with_the_columns_of_the_one_read_are_said(tmp_path: Path) -> None:
    path = offices(tmp_path)
    imported = import_file(path, tmp_path / "out")
    assert imported.outcomes() == {2: ("created", "")}
    assert imported.summary.notices == [
        'the workbook\'s sheet "Berlin" has the columns of sheet "London", the one read, and '
        'its rows were not read: to import them too, run again with --sheet "Berlin"'
    ]
    assert page_words(imported.summary.notices[0]).endswith(
        "to import them too, choose it under “Sheet” when matching the columns"
    )


def test_a_sheet_chosen_by_name_says_nothing_of_the_others(tmp_path: Path) -> None:
    path = offices(tmp_path)
    imported = import_file(path, tmp_path / "out", sheet="Berlin")
    assert imported.outcomes() == {3: ("created", "")}
    assert imported.summary.notices == []


def test_a_workbook_that_cannot_be_looked_into_further_says_nothing(tmp_path: Path) -> None:
    path = offices(tmp_path)
    assert sheets_like(path, "London", HEADER) == ["Berlin"]
    assert sheets_like(path, "London", ["Email"]) == []  # one name is no table's layout
    assert sheets_like(tmp_path / "missing.xlsx", "London", HEADER) == []
