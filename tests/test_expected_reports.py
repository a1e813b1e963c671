"""Reports byte-identical to the stored ones, for every sample and fixture (see
tests/expected_reports.py for how they are made and how to update them on purpose)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.expected_reports import EXPECTED, Case, cases, make_reports, stored

UPDATE = "if the change is meant, run: .venv/bin/python -m tests.expected_reports"


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_the_reports_are_the_stored_ones(case: Case, tmp_path: Path) -> None:
    made = make_reports(case, tmp_path / "out")
    expected = stored(case)
    assert sorted(made) == sorted(expected), UPDATE
    for name, content in made.items():
        assert content.decode() == expected[name].decode(), f"{case.name}/{name}; {UPDATE}"
        assert content == expected[name], f"{case.name}/{name}: same text, other bytes; {UPDATE}"


def test_every_stored_case_is_still_made() -> None:
    stored_files = [p for p in EXPECTED.rglob("*") if p.is_file() and p.name != ".gitattributes"]
    folders = {str(p.parent.relative_to(EXPECTED)) for p in stored_files}
    assert folders == {case.name for case in cases()}, UPDATE
