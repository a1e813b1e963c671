"""Import → fix rejects.csv → import it with the same mapping, when the mapping pins the header
row of the original file (a title above it): the importer reads its own report's header from
row 1, says so, and the sandbox ends up holding each person once."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from importer.cli import main
from importer.mapping import load_mapping
from importer.read.tables import open_table
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread

KEY = "sk-test-round-trip-0123456789"
EXPORT = (
    "Candidate export – Acme\n"
    "\n"
    "First Name;Last Name;Email;Phone\n"
    "Ada;Lovelace;ada@example.com;+44 7400 123456\n"
    "Bo;Ray;bo at example.com;+44 7400 123457\n"
    "Cy;Young;cy@example.com;\n"
    "Di;Prince;di@example;+49 151 23456789\n"
)


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("STACKONE_API_KEY", KEY)
    with start_sandbox_thread(SandboxConfig(rate_limit_per_minute=0)) as running:
        yield running


def run_into(sandbox: Sandbox, source: Path, mapping: Path, out: Path) -> int:
    argv = ["run", str(source), "-m", str(mapping), "--base-url", sandbox.url]
    return main([*argv, "--account-id", "acc-1", "--out", str(out)])


def read_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


@pytest.fixture
def first_import(sandbox: Sandbox, tmp_path: Path) -> tuple[Path, Path]:
    """The export imported with the mapping suggest-mapping wrote for it: its rejects.csv and
    the mapping, which pins header_row: 3."""
    source = tmp_path / "export.csv"
    source.write_text(EXPORT, encoding="utf-8")
    mapping = tmp_path / "export.yaml"
    assert main(["suggest-mapping", str(source), "-o", str(mapping)]) == 0
    assert load_mapping(mapping).header_row == 3
    assert run_into(sandbox, source, mapping, tmp_path / "first") == 1
    assert sandbox.stats()["candidates"] == 2
    return tmp_path / "first" / "rejects.csv", mapping


def test_fixed_rejects_import_with_the_mapping_that_pins_the_header_row(
    sandbox: Sandbox,
    tmp_path: Path,
    first_import: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    rejects_csv, mapping = first_import
    rejects = read_rows(rejects_csv, ";")
    assert [(r["error_row"], r["error_code"]) for r in rejects] == [
        ("5", "invalid-email"),
        ("7", "invalid-email"),
    ]
    # What a recruiter does in Excel: correct the two addresses, save in the same form.
    rejects[0]["Email"], rejects[1]["Email"] = "bo@example.com", "di@example.org"
    fixed = tmp_path / "rejects-fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=list(rejects[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rejects)
    capsys.readouterr()

    assert run_into(sandbox, fixed, mapping, tmp_path / "second") == 0

    err = capsys.readouterr().err
    assert (
        "rejects-fixed.csv is a rejects report of importer (its last columns are error_row, "
        "error_code, error_field, error_message): its column names are read from row 1, not "
        "from row 3, the header row given for the file it was made from"
    ) in " ".join(err.split())
    results = read_rows(tmp_path / "second" / "results.csv")
    assert [(r["row_number"], r["status"]) for r in results] == [("2", "created"), ("3", "created")]
    stats = sandbox.stats()
    assert (stats["candidates"], stats["duplicate_emails"]) == (4, 0)
    summary = (tmp_path / "second" / "summary.json").read_text(encoding="utf-8")
    assert '"notices": [' in summary


def test_a_rejects_report_saved_as_a_workbook_reads_from_row_1_too(
    tmp_path: Path, first_import: tuple[Path, Path]
) -> None:
    rejects_csv, _ = first_import
    with rejects_csv.open(newline="", encoding="utf-8-sig") as f:
        lines = list(csv.reader(f, delimiter=";"))
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for line in lines:
        sheet.append(line)
    workbook = tmp_path / "rejects.xlsx"
    book.save(workbook)
    with open_table(workbook, header_row=3) as table:
        assert (table.header_row, table.headers[:3]) == (1, ["First Name", "Last Name", "Email"])
        assert table.header_note is not None
        assert [row.row_number for row in table.rows] == [2, 3]


def test_a_pinned_header_row_still_holds_for_any_other_file(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text(EXPORT, encoding="utf-8")
    with open_table(source, header_row=3) as table:
        assert (table.header_row, table.header_note) == (3, None)
    # the report's columns elsewhere than at the end of row 1 make no report
    other = tmp_path / "other.csv"
    other.write_text(
        "error_row,error_code,error_field,error_message,Name\nx,y,z,w,Ann\nName\nAnn\n",
        encoding="utf-8",
    )
    with open_table(other, header_row=3) as table:
        assert (table.header_row, table.headers) == (3, ["Name"])
