"""The reports of every sample and test fixture, as stored under tests/expected/, and how to
make them again.

tests/test_expected_reports.py imports each file into a seeded sandbox (one request at a time,
so ids and order repeat) and compares ``results.csv``, ``rejects.csv`` and ``summary.json``
(without its timing fields) byte for byte with the stored ones; a file that cannot be imported
stores its error message as ``error.txt`` instead. A refactor must leave them unchanged.

When a change alters the reports on purpose (a new column, another delimiter, a better
message), regenerate them and review the diff as part of the change::

    .venv/bin/python -m tests.expected_reports        # rewrites tests/expected/
    git diff --stat tests/expected/ && git diff tests/expected/

The diff is the behaviour change, row by row: commit it with the code that caused it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer import ImportOptions, run_import
from importer.errors import ConfigError
from importer.sandbox import SandboxConfig, start_sandbox_thread

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "expected"
SAMPLES = ROOT / "samples"
DATA = ROOT / "tests" / "data"
REPORTS = ("results.csv", "rejects.csv", "summary.json")
ERROR = "error.txt"
# What differs from one run to the next however the rows went.
_TIMING = ("started_at", "duration_seconds", "rows_per_second")
_SPREADSHEETS = (".csv", ".xlsx", ".tsv", ".txt")
# Samples whose mapping is not named after them.
_SAMPLE_MAPPINGS = {"candidates": "default", "lever_migration": "lever"}
# Fixtures read with a second mapping besides their own, for a rule only that one sets.
_MORE_FIXTURE_MAPPINGS = {
    "phones_as_numbers.xlsx": ("phones_as_numbers_excel_phone",),
    "text_values.csv": ("text_values_excel_phone",),
}


@dataclass(frozen=True)
class Case:
    """One input file read with one mapping."""

    input: Path
    mapping: Path

    @property
    def name(self) -> str:
        """The case's folder under tests/expected/: FOLDER/FILE/MAPPING."""
        return f"{self.input.parent.name}/{self.input.name}/{self.mapping.stem}"


def cases() -> list[Case]:
    """Every sample with its shipped mapping and every fixture with its own (else default)."""
    found = []
    for sample in sorted(SAMPLES.iterdir()):
        mapping = _SAMPLE_MAPPINGS.get(sample.stem, sample.stem)
        found.append(Case(sample, ROOT / "mappings" / f"{mapping}.yaml"))
    for fixture in sorted(DATA.iterdir()):
        if fixture.suffix not in _SPREADSHEETS or fixture.name == "README.md":
            continue
        own = DATA / "mappings" / f"{fixture.stem}.yaml"
        found.append(Case(fixture, own if own.exists() else ROOT / "mappings" / "default.yaml"))
        for extra in _MORE_FIXTURE_MAPPINGS.get(fixture.name, ()):
            found.append(Case(fixture, DATA / "mappings" / f"{extra}.yaml"))
    return found


def make_reports(case: Case, out: Path) -> dict[str, bytes]:
    """Import the case into a fresh seeded sandbox; the reports as they are to be stored."""
    config = SandboxConfig(seed=1, rate_limit_per_minute=0)
    options = ImportOptions(
        mapping=case.mapping,
        out_dir=out,
        api_key="expected-reports",
        account_id="acc-expected",
        concurrency=1,
        rate=60_000.0,
        handle_signals=False,
        target="sandbox",
        # every case starts from an empty sandbox: what earlier cases created is not in it
        ledger=False,
    )
    with start_sandbox_thread(config) as sandbox:
        options.base_url = sandbox.url
        try:
            run_import(case.input, options)
        except ConfigError as error:
            return {ERROR: (_relative(str(error), out) + "\n").encode()}
    reports = {name: (out / name).read_bytes() for name in REPORTS[:2]}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    reports["summary.json"] = _stable_summary(summary, out)
    return reports


def _stable_summary(summary: dict[str, Any], out: Path) -> bytes:
    """summary.json without timings, with paths relative to the checkout and the out folder."""
    for key in _TIMING:
        summary.pop(key, None)
    for key, value in summary.items():
        if isinstance(value, str):
            summary[key] = _relative(value, out)
    return (json.dumps(summary, indent=2, ensure_ascii=False) + "\n").encode()


def _relative(text: str, out: Path) -> str:
    return text.replace(str(out), "OUT").replace(f"{ROOT}/", "")


def stored(case: Case) -> dict[str, bytes]:
    folder = EXPECTED / case.name
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def regenerate(work: Path) -> int:
    """Rewrite tests/expected/ from the code as it is; how many cases it wrote."""
    for folder in ("samples", "data"):
        shutil.rmtree(EXPECTED / folder, ignore_errors=True)
    every = cases()
    for case in every:
        folder = EXPECTED / case.name
        folder.mkdir(parents=True)
        for name, content in make_reports(case, work / case.name).items():
            (folder / name).write_bytes(content)
    return len(every)


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        count = regenerate(Path(work))
    print(f"wrote the reports of {count} cases under tests/expected/; review them with:")
    print("git diff tests/expected/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
