"""A 10,000-row legacy export through suggest-mapping and run into the sandbox: every row a
person would import is created, phones are sent as typed but for formatting, every line counted."""

from __future__ import annotations

import re
from pathlib import Path

import phonenumbers

from importer.suggest import suggest_for_file
from tests.data.make_legacy import legacy_export
from tests.sandboxed import import_file


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_a_legacy_export_imports_every_row_a_person_would(tmp_path: Path) -> None:
    source = tmp_path / "legacy.csv"
    expected = legacy_export(source, rows=10_000)
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(suggest_for_file(source).to_yaml(), encoding="utf-8")
    imported = import_file(source, tmp_path / "out", mapping, concurrency=20)

    outcomes = imported.outcomes()
    assert sorted(outcomes) == [e.row_number for e in expected]  # every line accounted for
    created = [e for e in expected if outcomes[e.row_number][0] == "created"]
    rejected = {n: codes for n, (status, codes) in outcomes.items() if status == "rejected"}
    assert [e.row_number for e in created] == [e.row_number for e in expected if e.importable]
    assert set(rejected.values()) <= {"invalid-email", "missing-name"}

    changed = []
    for e in created:
        sent = [p["phone"] for p in imported.body(e.row_number).get("phone_numbers", [])]
        assert len(sent) == (1 if e.phone else 0), e
        if not sent:
            continue
        typed = _digits(e.phone).lstrip("0")
        code = str(phonenumbers.country_code_for_region(e.region))
        if _digits(sent[0]) not in (typed, code + typed):
            changed.append((e.row_number, e.phone, sent[0]))
    assert changed == []

    counts = imported.summary.counts
    codes = {str(code): n for code, n in counts.by_code.items()}
    warnings = {str(code): n for code, n in counts.by_warning.items()}
    print(
        f"\n{counts.rows} rows: {counts.created} created, {counts.rejected} rejected {codes}, "
        f"{counts.warned} with warnings {warnings}"
    )
    assert counts.created == sum(e.importable for e in expected)
