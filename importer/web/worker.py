"""One check or import in its own process: progress as JSON lines on stdout, Stop is Ctrl-C.

The server starts ``python -m importer.web.worker JOB.json`` for every run, so a Stop from the
page is a SIGINT that the pipeline handles exactly as it handles Ctrl-C (finish what is in
flight, write the reports), and reading a large file never stalls the page. A check is the
pipeline's dry run; it also writes ``preview.json``: the first rows with the request body each
would send and its warnings, or the problems that stop it, located in the row's cells.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sys
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from importer.errors import ConfigError, Note, Reject, RowWarning
from importer.mapping import Mapping, load_mapping, normalise_header
from importer.read.limits import WorkbookLimits
from importer.read.tables import open_table
from importer.record.outcomes import Status
from importer.run.pipeline import ImportOptions, Progress, run_import
from importer.send.client import DEFAULT_BASE_URL

PREVIEW_FILE = "preview.json"


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _progress(p: Progress) -> None:
    emit(
        {
            "event": "progress",
            "rows_done": p.rows_done,
            "rows_total": p.rows_total,
            "created": p.created,
            "rejected": p.rejected,
            "skipped": p.skipped,
            "not_attempted": p.not_attempted,
            "elapsed": round(p.elapsed, 3),
            "rate": round(p.rate, 2),
            "eta": None if p.eta is None else round(p.eta, 1),
        }
    )


def public(message: str, spec: dict[str, Any]) -> str:
    """An error message with the private paths replaced by the names the user knows."""
    for private, known in (
        (spec["input"], spec["name"]),
        (spec["mapping"], spec["mapping_label"]),
        (spec["out_dir"], "the run's folder"),
    ):
        message = message.replace(private, known)
    return message


def run(spec: dict[str, Any]) -> int:
    """Run the job that ``spec`` (the server's JOB.json) describes; the exit code of the run."""
    mapping = load_mapping(spec["mapping"])
    out_dir = Path(spec["out_dir"])
    limits = WorkbookLimits(**spec.get("limits", {}))
    options = ImportOptions(
        mapping=mapping,
        out_dir=out_dir,
        sheet=spec.get("sheet"),
        dry_run=spec["dry_run"],
        base_url=spec.get("base_url") or DEFAULT_BASE_URL,
        account_id=spec.get("account_id"),
        target=spec.get("target"),
        state=spec.get("ledger"),
        resume=spec.get("resume", False),
        # the server hands the key over in the environment, never in JOB.json or the page
        api_key=os.environ.get("STACKONE_API_KEY") or None,
        # imports running at once are processes on one key: they pace as one through Redis
        pacer_url=os.environ.get("IMPORTER_PACER_URL") or None,
        on_progress=_progress,
        progress_interval=spec.get("progress_interval", 0.25),
        limits=limits,
    )
    summary = run_import(spec["input"], options)
    # Stop clicked after the run ended: nothing left to stop, and no traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _publish_summary(out_dir / "summary.json", spec)
    if spec["dry_run"]:
        preview = build_preview(spec, mapping, out_dir / "results.csv", spec["preview_rows"])
        (out_dir / PREVIEW_FILE).write_bytes(orjson.dumps(preview))
    return summary.exit_code


def _publish_summary(path: Path, spec: dict[str, Any]) -> None:
    """summary.json is downloaded from the page: name the user's file, not the server's folders."""
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary.update(input=spec["name"], mapping=spec["mapping_label"], out_dir="")
    for key in ("journal", "state"):
        if isinstance(summary.get(key), str):
            summary[key] = Path(summary[key]).name
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_preview(
    spec: dict[str, Any], mapping: Mapping, results: Path, limit: int
) -> dict[str, Any]:
    """The first ``limit`` rows: cells, what the dry run decided, and the body or the problems.

    The outcome of each row is the dry run's (results.csv), so a duplicate or a ragged row
    reads as it will in the import; ``RowMapper.prepare`` adds the body of a row that is ready
    and the column of each problem a cell causes.
    """
    with results.open(newline="", encoding="utf-8") as f:
        outcomes = list(islice(csv.DictReader(f), limit))
    with open_table(
        spec["input"],
        sheet=spec.get("sheet"),
        header_row=mapping.header_row,
        limits=WorkbookLimits(**spec.get("limits", {})),
    ) as table:
        mapper = mapping.bind(table.headers, source=spec["name"])
        where = {normalise_header(h): i for i, h in enumerate(table.headers)}
        rows = []
        for row, outcome in zip(table.rows, outcomes, strict=False):
            status = _status(outcome)
            body: dict[str, Any] | None = None
            rejects: Sequence[Reject] = ()
            warnings: Sequence[RowWarning] = ()
            if status in ("ready", "rejected") and not table.is_ragged(row):
                prepared = mapper.prepare(row)
                body = prepared.body if status == "ready" else None
                rejects = prepared.rejects
                warnings = prepared.warnings if status == "ready" else ()
            if rejects:
                problems = [_located(r, where) for r in rejects]
            elif outcome["error_code"]:
                problems = [_row_problem(outcome)]
            else:
                problems = []
            rows.append(
                {
                    "row_number": row.row_number,
                    "cells": list(row.values),
                    "status": status,
                    "body": body,
                    "problems": problems,
                    "warnings": [_located(w, where) for w in warnings],
                }
            )
    return {"headers": table.headers, "rows": rows}


def _status(outcome: dict[str, str]) -> str:
    status = outcome["status"]
    if status == Status.NOT_ATTEMPTED:
        return "ready" if outcome["note"] == Note.DRY_RUN else "unchecked"
    return status


def _located(reject: Reject | RowWarning, where: dict[str, int]) -> dict[str, Any]:
    positions: list[int] = []
    if reject.column:
        found = where.get(normalise_header(reject.column))
        # a row without a name names every column that could give one: "First Name / Last Name"
        names = [reject.column] if found is not None else reject.column.split(" / ")
        positions = [p for name in names if (p := where.get(normalise_header(name))) is not None]
    return {
        "code": reject.code.value,
        "message": reject.message,
        "column": reject.column,
        "field": reject.field,
        "positions": positions,
    }


def _row_problem(outcome: dict[str, str]) -> dict[str, Any]:
    return {
        "code": outcome["error_code"],
        "message": outcome["error_message"],
        "column": None,
        "field": None,
        "positions": [],
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    try:
        code = run(spec)
    except ConfigError as error:
        emit({"event": "error", "message": public(str(error), spec)})
        return 2
    except KeyboardInterrupt:
        emit({"event": "error", "message": "stopped before the first row was read"})
        return 3
    emit({"event": "done", "exit_code": code})
    return code


if __name__ == "__main__":
    sys.exit(main())
