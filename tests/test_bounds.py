"""Hostile workbooks are measured before they are loaded and refused with the limit to raise."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from importer.errors import ConfigError
from importer.read.limits import WorkbookLimits
from importer.read.tables import open_table
from importer.read.xlsx import list_sheets
from tests import bombs

ROOT = Path(__file__).resolve().parent.parent
MAPPING = str(ROOT / "mappings" / "default.yaml")
MEMORY_LIMIT = 2 << 30
"""Address space a validate process gets here: a bomb that gets loaded dies (or raises) well
before it could hurt the machine."""


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    err: str
    peak_rss_mb: float


def validate(path: Path, out: Path, *flags: str) -> Finished:
    """``importer validate`` in a process of its own, memory capped, its peak RSS measured."""

    def cap() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "importer", "validate", str(path), "-m", MAPPING),
            *("--out", str(out), "--quiet", "--workers", "0", *flags),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=cap,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stderr is not None
    err = process.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return Finished(process.returncode, err, usage.ru_maxrss / 1024)


@pytest.mark.parametrize(
    ("bomb", "flag"),
    [
        ("sparse-range", "--max-cells"),
        ("wide-rows", "--max-cells"),
        ("shared-strings", "--max-ratio"),
        ("big-sheet", "--max-unpacked-mb"),
    ],
)
def test_a_workbook_past_a_limit_is_refused_naming_the_flag_that_raises_it(
    bomb: str, flag: str, tmp_path: Path
) -> None:
    path = bombs.BOMBS[bomb](tmp_path, False)

    done = validate(path, tmp_path / "out")

    assert done.code == 2, done.err
    assert done.err.startswith("importer: error: ")
    assert flag in done.err
    assert "Traceback" not in done.err
    assert done.peak_rss_mb < 300


def test_a_4_kb_workbook_with_cells_at_a1_and_xfd1048576_is_refused_not_fatal(
    tmp_path: Path,
) -> None:
    path = bombs.sparse_range(tmp_path)
    assert path.stat().st_size < 5000

    done = validate(path, tmp_path / "out")

    # before the scan, calamine asked for 512 GiB and the process died by SIGABRT
    assert done.code == 2
    assert "1,048,576 rows × 16,384 columns = 17,179,869,184 cells" in done.err
    assert "--max-cells 17179869184" in done.err


def test_raising_the_limit_lets_a_sparse_workbook_through_on_the_streaming_reader(
    tmp_path: Path,
) -> None:
    path = bombs.sparse_range(tmp_path)
    limits = WorkbookLimits(max_cells=17_179_869_184)

    with open_table(path, limits=limits) as table:
        assert table.engine == "openpyxl"
        assert table.headers == ["Name", "Email"]
        last = list(table.rows)[-1]
    assert last.row_number == 1_048_576
    assert last.values[-1] == "1"


def test_the_shared_strings_limit_counts_the_unpacked_table(tmp_path: Path) -> None:
    path = bombs.shared_strings(tmp_path)
    limits = WorkbookLimits(max_ratio=1000, max_shared_strings_mb=100)

    with (
        pytest.raises(ConfigError, match="--max-shared-strings-mb 300"),
        open_table(path, limits=limits),
    ):
        pass


def test_a_part_that_unpacks_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    done = validate(bombs.lying_size(tmp_path), tmp_path / "out")

    assert done.code == 2
    assert "xl/worksheets/sheet1.xml" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize("streaming", [False, True], ids=["calamine", "openpyxl"])
@pytest.mark.parametrize("bomb", ["truncated-sheet", "malformed-xml", "dtd"])
def test_a_damaged_sheet_is_a_clear_error_on_either_reader(
    bomb: str, streaming: bool, tmp_path: Path
) -> None:
    path = bombs.BOMBS[bomb](tmp_path, False)

    with (
        pytest.raises(ConfigError, match="save it again") as raised,
        open_table(path, streaming_threshold=0 if streaming else 1 << 30) as table,
    ):
        list(table.rows)
    assert str(path) in str(raised.value)


def test_a_truncated_sheet_on_the_streaming_reader_exits_2_without_a_traceback(
    tmp_path: Path,
) -> None:
    done = validate(bombs.truncated_streamed_sheet(tmp_path), tmp_path / "out")

    assert done.code == 2, done.err
    assert "Traceback" not in done.err
    assert "truncated or damaged" in done.err


def test_a_header_wider_than_excel_allows_is_refused_in_a_csv(tmp_path: Path) -> None:
    path = bombs.ten_million_columns_csv(tmp_path)

    with (
        pytest.raises(ConfigError, match="1,000,000 columns, more than the 16,384"),
        open_table(path),
    ):
        pass


def test_the_sheet_lister_gives_names_and_visibility_in_the_workbook_order(
    tmp_path: Path,
) -> None:
    assert list_sheets(ROOT / "tests" / "data" / "hidden_sheet.xlsx") == [
        ("Lookup", False),
        ("Candidates", True),
        ("Archive", True),
    ]
    # it reads no cell: a sheet past every limit is listed all the same
    assert list_sheets(bombs.sparse_range(tmp_path)) == [("Candidates", True)]
