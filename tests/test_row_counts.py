"""Every fixture and sample has as many data rows in the summary as a spreadsheet program shows.

The reference counts come from readers that share no code with the importer: the stdlib csv
module told each file's encoding and delimiter (as a person picks them in Excel's import
dialog), and openpyxl for workbooks. A data row is any row below the header up to the last
row holding a value; the blank rows after it are not rows anyone would count.
"""

import csv
from pathlib import Path

import openpyxl
import pytest

from importer import ImportOptions, run_import
from importer.errors import ConfigError
from importer.mapping import parse_mapping
from tests.sandboxed import DATA, SAMPLES

# A mapping every file satisfies: it reads no column, so each row gets its outcome.
ANY_MAPPING = {"version": 1, "fields": {"name": {"const": "Someone"}}}

# (encoding, delimiter, header row) where they differ from UTF-8 (BOM or not), "," and row 1.
DIALECTS = {
    "cp1252.csv": ("cp1252", ",", 1),
    "latin1.csv": ("latin-1", ",", 1),
    "semicolon.csv": ("utf-8", ";", 1),
    "tab.tsv": ("utf-8", "\t", 1),
    "pipe.txt": ("utf-8", "|", 1),
    "utf16_tab.txt": ("utf-16", "\t", 1),
    "excel_sep_line.csv": ("utf-8", ";", 1),  # Excel hides the sep= line: it is no row
    "header_row_3.csv": ("utf-8", ",", 3),
    "offset.xlsx": ("", "", 3),
}
# Lines a stray quote swallowed into one cell, which the importer reads as the rows they are.
SWALLOWED = {"unbalanced_quote.csv": 4}
UNREADABLE = {"empty.csv", "blank_lines_only.csv", "unclosed_quote.csv"}

FIXTURES = sorted(
    path
    for folder in (DATA, SAMPLES)
    for suffix in ("*.csv", "*.tsv", "*.txt", "*.xlsx")
    for path in folder.glob(suffix)
)


def spreadsheet_rows(path: Path) -> int:
    encoding, delimiter, header_row = DIALECTS.get(path.name, ("utf-8-sig", ",", 1))
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        sheet = next(s for s in book.worksheets if s.sheet_state == "visible")
        rows = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        with path.open(encoding=encoding, newline="") as f:
            lines = f.readlines()
        if lines and lines[0].lower().startswith("sep="):
            lines = lines[1:]
        rows = list(csv.reader(lines, delimiter=delimiter))
    filled = [n for n, row in enumerate(rows, 1) if "".join(map(str, row)).strip()]
    return max(filled, default=header_row) - header_row


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_the_summary_counts_the_rows_a_spreadsheet_shows(path: Path, tmp_path: Path) -> None:
    header_row = DIALECTS.get(path.name, ("", "", 1))[2]
    options = ImportOptions(
        mapping=parse_mapping(ANY_MAPPING, "any file"),
        out_dir=tmp_path,
        dry_run=True,
        header_row=header_row,
        handle_signals=False,
    )
    if path.name in UNREADABLE:
        with pytest.raises(ConfigError):
            run_import(path, options)
        return
    summary = run_import(path, options)
    assert summary.counts.rows == spreadsheet_rows(path) + SWALLOWED.get(path.name, 0)
    assert summary.counts.rows > 0


def test_every_fixture_is_counted() -> None:
    assert {p.name for p in FIXTURES} >= {"candidates.csv", "candidates.xlsx", "ragged.csv"}
    assert set(DIALECTS) | set(SWALLOWED) | UNREADABLE <= {p.name for p in FIXTURES}
