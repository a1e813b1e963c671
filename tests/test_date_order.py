"""A file whose dates are written the other way round from the mapping's day_first: the dates
that read only that way were rejected, and those that read both ways sent swapped (03/01/2024
as 3 January in a US file read day first), so the import stops before sending anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from importer import rules
from importer.errors import ConfigError
from importer.mapping import load_mapping
from importer.read.tables import SourceRow, open_table
from importer.run.date_order import DateOrder, check_date_order
from tests.sandboxed import DEFAULT_MAPPING, _read, import_file

HEADER = "First Name,Last Name,Email,Hired On\n"


@pytest.mark.parametrize(
    ("text", "day_first", "reading"),
    [
        ("31/12/2024", True, "ours"),
        ("12/31/2024", True, "other"),
        ("03/01/2024", True, "both"),
        ("03/01/2024 9:30 AM", False, "both"),
        ("12/31/2024", False, "ours"),
        ("05/05/2024", True, None),  # the same date either way
        ("2024-03-01", True, None),  # the order is ISO's
        ("1 March 2024", True, None),
        ("31/31/2024", True, None),  # no date at all
    ],
)
def test_how_a_date_reads_against_the_mappings_order(text, day_first, reading):
    assert rules.date_order(text, day_first) == reading


def write(tmp_path: Path, *dates: str) -> Path:
    path = tmp_path / "hires.csv"
    rows = [f"P{n},Q{n},p{n}@example.com,{date}\n" for n, date in enumerate(dates)]
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_a_us_file_read_day_first_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    path = write(tmp_path, "03/01/2024", "12/31/2023", "7/4/2023", "2024-02-01")
    with pytest.raises(ConfigError) as refused:
        import_file(path, tmp_path / "out")
    message = str(refused.value)
    assert message.startswith(f'{path}: column "Hired On" writes its dates with the month first')
    assert '"12/31/2023" (row 3) reads only so' in message
    assert '2 dates that read both ways, such as "03/01/2024" (row 2)' in message
    assert "set date: {day_first: false} in a copy of the mapping; if not, correct row 3" in (
        message
    )


def test_a_dry_run_reads_every_row_then_says_the_import_would_stop(tmp_path: Path) -> None:
    """``importer validate`` and the web page's check are dry runs: they said the file was fine
    but for one row, and the import then refused it."""
    out = tmp_path / "out"
    import_file(write(tmp_path, "31/12/2023"), out, dry_run=True)  # an earlier run's reports
    assert (out / "summary.json").exists()
    path = write(tmp_path, "03/01/2024", "12/31/2023", "04/05/2024")
    with pytest.raises(ConfigError) as refused:
        import_file(path, out, dry_run=True)
    message = str(refused.value)
    assert message.startswith(f'{path}: column "Hired On" writes its dates with the month first')
    assert "2 dates that read both ways" in message
    assert "An import would stop before sending anything: if the file writes" in message
    # each row's problems are reported as before; no summary says the run went otherwise
    results = {r["row_number"]: r for r in _read(out / "results.csv", "utf-8")}
    assert results["3"]["error_code"] == "invalid-date"
    assert "with the month first" in results["3"]["error_message"]
    assert not (out / "summary.json").exists()


def test_the_dry_runs_watch_passes_every_row_on_and_settles_as_the_check_does(
    tmp_path: Path,
) -> None:
    # the day-first date at the end settles the column: 03/01/2024 was read as it is meant
    path = write(tmp_path, "03/01/2024", "12/31/2023", "31/01/2024", "04/05/2024")
    with open_table(path) as table:
        order = DateOrder(load_mapping(DEFAULT_MAPPING), table.headers, dry_run=True)
        rows = [row.values[3] for row in order.watched(table.rows)]
    assert rows == ["03/01/2024", "12/31/2023", "31/01/2024", "04/05/2024"]
    order.check()


@pytest.mark.parametrize(
    "dates",
    [
        # a date that reads only the mapping's way: the file is day first, one date is a typo
        ("03/01/2024", "12/31/2023", "31/01/2024"),
        # no date would be swapped: the one that reads the other way is rejected, as before
        ("12/31/2023", "2024-02-01"),
    ],
)
def test_a_file_is_imported_when_no_date_would_be_sent_swapped(tmp_path: Path, dates) -> None:
    imported = import_file(write(tmp_path, *dates), tmp_path / "out")
    row = 2 + dates.index("12/31/2023")
    assert imported.outcomes()[row] == ("rejected", "invalid-date")


def test_the_check_reads_no_further_than_a_date_that_reads_only_the_mappings_way() -> None:
    """The check is one more pass over the file before sending: it ends where the answer is
    known (every date column has a date only the mapping's order reads)."""
    mapping = load_mapping(DEFAULT_MAPPING)
    headers = HEADER.strip().split(",")

    def rows() -> Iterator[SourceRow]:
        yield SourceRow(2, ["Ada", "L", "ada@example.com", "03/01/2024"])
        yield SourceRow(3, ["Bo", "M", "bo@example.com", "31/01/2024"])  # only day first
        raise AssertionError("read past the row that settled the column")

    check_date_order(mapping, headers, rows())
