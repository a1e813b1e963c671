"""The real pipeline into an in-process sandbox on 127.0.0.1, and what came out of it.

Shared by the corpus, legacy-mapping and suggest-mapping tests::

    imported = import_file(DATA / "ragged.csv", tmp_path, DEFAULT_MAPPING)
    imported.outcomes() == {2: ("created", ""), 3: ("rejected", "ragged-row"), ...}
    imported.body(2)["email"]    # the body the sandbox received for row 2
"""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from importer import ImportOptions, run_import_async
from importer.mapping import Mapping
from importer.record.report import ImportSummary
from importer.sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SAMPLES = ROOT / "samples"
MAPPINGS = ROOT / "mappings"
DEFAULT_MAPPING = MAPPINGS / "default.yaml"
# Candidate ID is the legacy ATS's id: the key across runs, kept in a custom field.
LEGACY_MAPPING = """
version: 1
key: Candidate ID
fields:
  first_name: {column: First Name}
  last_name: {column: Last Name}
  email: {column: Email, optional_column: true}
  custom_fields:
    - {name: Legacy ID, column: Candidate ID}
"""


@dataclass
class Imported:
    """The reports of one import and the bodies the sandbox stored, by candidate id."""

    summary: ImportSummary
    results: list[dict[str, str]]
    rejects: list[dict[str, str]]
    bodies: dict[str, dict[str, Any]]

    def outcomes(self) -> dict[int, tuple[str, str]]:
        """Row number → (status, error codes), one entry per line of results.csv."""
        numbers = [int(r["row_number"]) for r in self.results]
        assert len(numbers) == len(set(numbers)), "a row has more than one outcome"
        return {int(r["row_number"]): (r["status"], r["error_code"]) for r in self.results}

    def result(self, row_number: int) -> dict[str, str]:
        (found,) = [r for r in self.results if int(r["row_number"]) == row_number]
        return found

    def body(self, row_number: int) -> dict[str, Any]:
        """The request body the sandbox received for a created row."""
        return self.bodies[self.result(row_number)["id"]]

    def message(self, row_number: int) -> str:
        return self.result(row_number)["error_message"]


def import_file(
    path: Path, out: Path, mapping: Path | Mapping = DEFAULT_MAPPING, **options: Any
) -> Imported:
    """Import ``path`` into a fresh sandbox (or dry-run it with ``dry_run=True``)."""
    out.mkdir(parents=True, exist_ok=True)
    # beside the reports' folder, not in it: the importer refuses a folder holding other files
    database = out.with_name(f"{out.name}.sandbox.db")

    async def main() -> ImportSummary:
        config = SandboxConfig(rate_limit_per_minute=0, db_path=database)
        async with Sandbox(config) as sandbox:
            settings: dict[str, Any] = {
                "mapping": mapping,
                "out_dir": out,
                "base_url": sandbox.url,
                "api_key": "test-key",
                "account_id": "acc-1",
                "handle_signals": False,
                "rate": 60_000.0,
                **options,
            }
            return await run_import_async(path, ImportOptions(**settings))

    summary = asyncio.run(main())
    with closing(sqlite3.connect(database)) as db:
        bodies = {
            id_: json.loads(body) for id_, body in db.execute("SELECT id, body FROM candidates")
        }
    return Imported(
        summary, _read(out / "results.csv", "utf-8"), _read(out / "rejects.csv"), bodies
    )


def _read(path: Path, encoding: str = "utf-8-sig") -> list[dict[str, str]]:
    """The rows of a report; rejects.csv is in the input's delimiter (a comma or a semicolon)."""
    with path.open(newline="", encoding=encoding) as f:
        delimiter = ";" if "error_row;error_code" in f.readline() else ","
        f.seek(0)
        return list(csv.DictReader(f, delimiter=delimiter))
