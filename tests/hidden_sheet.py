"""A workbook whose sheet hides rows the way Excel writes them: a filter's hidden rows carry
hidden="1" among the attributes Excel writes on a row (spans, height), after a title row."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl

ROWS = [
    ("Ada", "Lovelace", "ada@example.org", "Hire"),
    ("Bob", "Smith", "bob@example.org", "Reject"),
    ("Cy", "Young", "cy@example.org", "Hire"),
    ("Di", "Prince", "di@example.org", "Reject"),
]
HIDDEN = (4, 6)  # Bob and Di: the filter on Status shows "Hire" only


def filtered_workbook(path: Path) -> Path:
    """Row 1 a title (hidden too, above the header: not a data row), row 2 the header."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Candidates"
    sheet.append(["Candidates to move"])
    sheet.append(["First Name", "Last Name", "Email", "Status"])
    for row in ROWS:
        sheet.append(row)
    sheet.auto_filter.ref = "A2:D6"
    for number in (1, *HIDDEN):
        sheet.row_dimensions[number].hidden = True
    book.save(path)
    # As Excel writes a row: spans and a height before hidden, not openpyxl's bare form.
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"]
    for number in (1, *HIDDEN):
        bare = f'<row r="{number}" hidden="1">'.encode()
        assert bare in sheet_xml
        excel = f'<row r="{number}" spans="1:4" ht="15" customHeight="1" hidden="1">'.encode()
        sheet_xml = sheet_xml.replace(bare, excel)
    parts["xl/worksheets/sheet1.xml"] = sheet_xml
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path
