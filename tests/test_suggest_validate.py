"""suggest-mapping, then validate with what it wrote, on every sample and fixture and on messy
generated files: the suggested mapping turns a row away only when its identity is unusable."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import phonenumbers
import pytest

from importer.cli import main
from importer.suggest import suggest_for_file
from tests.data.make_messy import HABITS, messy_file
from tests.sandboxed import DATA, SAMPLES, import_file

IDENTITY = {"missing-name", "invalid-email"}
"""Codes of a row whose name or e-mail is unusable: the reasons a person would turn one away."""
UNREADABLE = {"ragged-row", "unbalanced-quote"}
"""Codes of a row whose cells cannot be told apart, so that its identity cannot be read either."""
SAME_PERSON = {"duplicate-in-file"}
"""A second row of a person the file already holds: a person imports the first one only."""
REFUSED = {"empty.csv", "blank_lines_only.csv", "unclosed_quote.csv"}
"""Fixtures refused as a whole (exit 2): nothing to read, or a quote that swallows the rest."""
NO_VALUE_AT_ALL = {"invalid-date"}
"""The code the suggested mapping still gives a cell that is no such value at all: a hire date
without a digit (``next Tuesday``), which it does not drop. Phones it keeps; what is no phone, no
web address or a custom value Excel destroyed (4.47701E+11) it leaves out with a warning."""
SPREADSHEETS = {".csv", ".tsv", ".txt", ".xlsx"}
FIXTURES = sorted(
    path
    for folder in (SAMPLES, DATA)
    for path in folder.iterdir()
    if path.suffix in SPREADSHEETS and not path.name.startswith("make_")
)


def suggest_then_validate(source: Path, folder: Path) -> tuple[int, list[dict[str, str]]]:
    """suggest-mapping SOURCE -o mapping.yaml, then validate SOURCE with it: the exit code of
    validate and its results.csv (exit 2 and no rows when either refused the file)."""
    mapping = folder / "mapping.yaml"
    if main(["suggest-mapping", str(source), "-o", str(mapping)]) != 0:
        return 2, []
    out = folder / "out"
    code = main(["validate", str(source), "--mapping", str(mapping), "--out", str(out), "--quiet"])
    if code == 2:
        return code, []
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        return code, list(csv.DictReader(f))


def rejected(results: list[dict[str, str]]) -> dict[int, set[str]]:
    return {
        int(r["row_number"]): set(r["error_code"].split(";"))
        for r in results
        if r["status"] == "rejected"
    }


@pytest.mark.parametrize("source", FIXTURES, ids=lambda p: p.name)
def test_the_suggested_mapping_rejects_only_rows_without_a_usable_identity(
    tmp_path: Path, source: Path
) -> None:
    code, results = suggest_then_validate(source, tmp_path)
    if source.name in REFUSED or not suggest_for_file(source).has_name:
        # refused as a whole, or nothing in it is a name (a reading fixture, not a candidate list)
        assert code == 2
        return
    assert code in (0, 1)
    assert results, "validate read no rows"
    wrong = {
        row: (codes, message)
        for row, codes, message in problems(results)
        if not codes <= IDENTITY | UNREADABLE | SAME_PERSON
        and not (codes <= NO_VALUE_AT_ALL and no_value_at_all(message))
    }
    assert wrong == {}
    nameless = [row for row, codes in rejected(results).items() if "missing-name" in codes]
    assert len(nameless) * 2 < len(results), "the mapping misses the name of most rows"


def problems(results: list[dict[str, str]]) -> list[tuple[int, set[str], str]]:
    return [
        (int(r["row_number"]), set(r["error_code"].split(";")), r["error_message"])
        for r in results
        if r["status"] == "rejected"
    ]


def no_value_at_all(message: str) -> bool:
    """The reject names a cell without a digit, or one whose digits Excel destroyed."""
    quoted = re.findall(r'"([^"]*)"', message)
    return (
        "decimal number" in message
        or "Excel already" in message
        or (bool(quoted) and not any(c.isdigit() for c in quoted[0]))
    )


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize("name", sorted(HABITS))
def test_messy_exports_lose_no_one_a_person_would_import(tmp_path: Path, name: str) -> None:
    source = tmp_path / name
    expected = messy_file(source, HABITS[name], rows=40, seed=3)
    code, results = suggest_then_validate(source, tmp_path)
    assert code in (0, 1)
    assert [int(r["row_number"]) for r in results] == [e.row_number for e in expected]
    unusable = {e.row_number for e in expected if not e.importable}
    assert set(rejected(results)) == unusable
    assert set().union(*rejected(results).values()) <= IDENTITY
    # a cell with no usable value costs that value, with a warning naming its column
    for e, result in zip(expected, results, strict=True):
        if e.importable:
            dropped = set(re.findall(r'value-dropped: column "([^"]+)"', result["warnings"]))
            assert dropped == e.unusable_cells, (e, result["warnings"])

    if HABITS[name].cover:  # the instructions sheet is passed over, and the mapping says so
        assert '\nsheet: "Candidates"\n' in (tmp_path / "mapping.yaml").read_text(encoding="utf-8")
    if HABITS[name].named_emails:
        assert any("email-extracted" in result["warnings"] for result in results)

    # into the sandbox: each phone sent is the one typed, but for formatting and country code
    imported = import_file(source, tmp_path / "sandbox", tmp_path / "mapping.yaml")
    for e in expected:
        if not e.importable:
            continue
        (sent,) = [p["phone"] for p in imported.body(e.row_number)["phone_numbers"]]
        code_digits = str(phonenumbers.country_code_for_region(e.region))
        typed = digits(e.phone)
        assert digits(sent) in (typed, code_digits + typed.lstrip("0")), (e, sent)
