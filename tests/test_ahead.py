"""A workbook's checks started ahead in a child process: used only when they are what
``open_sheet`` would have found itself, and never the source of an error."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from importer.cli import main
from importer.errors import ConfigError
from importer.read import ahead, xlsx
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parent.parent / "samples" / "candidates.xlsx"
WORKBOOKS = [*sorted(DATA.glob("*.xlsx")), SAMPLE]


@pytest.fixture(autouse=True)
def every_size(monkeypatch: pytest.MonkeyPatch) -> None:
    # the fixtures are small; the rule for large ones is the same
    monkeypatch.setattr(xlsx, "AHEAD_FROM_BYTES", 0)


def calls_of(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Path]:
    """The paths ``xlsx.<name>`` is called with in this process from now on."""
    calls: list[Path] = []
    function = getattr(xlsx, name)

    def spy(path: Path, sheet: str | None, limits: WorkbookLimits) -> object:
        calls.append(path)
        return function(path, sheet, limits)

    monkeypatch.setattr(xlsx, name, spy)
    return calls


@pytest.fixture
def parent_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each time this process checks a workbook itself (the child's calls are its own)."""
    return calls_of(monkeypatch, "_checked")


def read(path: Path, sheet: str | None = None) -> tuple[str, str, list[xlsx.RawRow]]:
    with xlsx.open_sheet(path, sheet) as opened:
        return opened.name, opened.engine, list(opened.rows)


def outcome(path: Path, sheet: str | None = None) -> object:
    try:
        return read(path, sheet)
    except ConfigError as error:
        return str(error)


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda path: path.name)
def test_a_sheet_read_with_its_checks_done_ahead_is_the_sheet_read_without(path: Path) -> None:
    expected = outcome(path)
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    assert outcome(path) == expected
    assert ahead._pending is None  # taken, and its process ended


def test_the_childs_result_is_used_and_the_work_not_done_twice(
    tmp_path: Path, parent_checks: list[Path]
) -> None:
    path = shutil.copy(SAMPLE, tmp_path / "book.xlsx")
    expected = read(path)
    parent_checks.clear()
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    assert read(path) == expected
    # the child's own call to the spy happened in the child: only this process's are here
    assert parent_checks == []
    assert expected[1] == "calamine"
    assert len(expected[2]) > 10


def test_another_sheet_or_other_limits_are_checked_here_and_the_child_ended(
    parent_checks: list[Path],
) -> None:
    path = DATA / "hidden_sheet.xlsx"
    sheets = [name for name, _ in xlsx.list_sheets(path)]
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    pending = ahead._pending
    assert pending is not None
    read(path, sheets[-1])
    assert parent_checks == [path]
    assert not pending.process.is_alive()

    # checked ahead under limits that refuse it, read under the defaults: read, checked here
    assert xlsx.check_ahead(path, None, WorkbookLimits(max_cells=10))
    assert read(path)[1] == "calamine"
    assert parent_checks == [path, path]


def test_a_file_replaced_after_the_child_read_it_is_read_again(
    tmp_path: Path, parent_checks: list[Path]
) -> None:
    expected = read(DATA / "merged.xlsx")
    path = shutil.copy(DATA / "dates.xlsx", tmp_path / "book.xlsx")
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    shutil.copy(DATA / "merged.xlsx", tmp_path / "other.xlsx")
    os.replace(tmp_path / "other.xlsx", path)
    assert read(path) == expected
    assert parent_checks == [DATA / "merged.xlsx", path]


def test_a_child_that_dies_leaves_the_work_to_this_process(
    tmp_path: Path, parent_checks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shutil.copy(SAMPLE, tmp_path / "book.xlsx")
    monkeypatch.setattr(ahead, "_child", lambda *args: os.kill(os.getpid(), signal.SIGKILL))
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    assert read(path)[1] == "calamine"
    assert parent_checks == [path]


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"name,email\nAda,ada@example.com\n"],
    ids=["pdf", "csv"],
)
def test_a_file_the_child_refuses_is_refused_here_with_the_same_words(
    tmp_path: Path, content: bytes, parent_checks: list[Path]
) -> None:
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    expected = outcome(path)
    assert isinstance(expected, str)
    assert xlsx.check_ahead(path, None, DEFAULT_LIMITS)
    assert outcome(path) == expected
    assert parent_checks == [path, path]


def test_a_small_workbook_or_a_missing_file_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "AHEAD_FROM_BYTES", SAMPLE.stat().st_size + 1)
    assert not xlsx.check_ahead(SAMPLE, None, DEFAULT_LIMITS)
    monkeypatch.setattr(xlsx, "AHEAD_FROM_BYTES", 0)
    assert not xlsx.check_ahead(tmp_path / "gone.xlsx", None, DEFAULT_LIMITS)
    assert ahead._pending is None


@pytest.mark.parametrize(
    ("flags", "started"),
    [([], [SAMPLE]), (["--workers", "0"], []), (["--workers", "1"], [SAMPLE])],
    ids=["default", "workers-0", "workers-1"],
)
def test_the_command_line_starts_the_checks_ahead_unless_told_to_use_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], started: list[Path]
) -> None:
    monkeypatch.setattr("importer.run.cores.default_workers", lambda: 1)
    calls = calls_of(monkeypatch, "check_ahead")
    args = ["validate", str(SAMPLE), "--mapping", "mappings/default.yaml"]
    code = main([*args, "--out", str(tmp_path / "out"), "--quiet", *flags])
    assert code == 1  # the sample's rejects
    assert calls == started
    assert ahead._pending is None
