"""One check or import in its own process: progress as JSON lines on stdout, Stop is Ctrl-C.

The server starts ``python -m importer.web.worker JOB.json`` for every run, so a Stop from the
page is a SIGINT that the pipeline handles exactly as it handles Ctrl-C (finish what is in
flight, write the reports), and reading a large file never stalls the page. A check is the
pipeline's dry run; it also writes every row as checked (``checkrows``) for the check step,
which pages through them and re-checks a row when a cell is corrected. Corrected cells come in
JOB.json and are read in place of the file's, by the check and by the import alike.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from importer.errors import ConfigError
from importer.mapping import Mapping, load_mapping
from importer.read.edits import edited
from importer.read.limits import WorkbookLimits
from importer.read.tables import open_table
from importer.run.pipeline import ImportOptions, Progress, run_import
from importer.send import DEFAULT_BASE_URL
from importer.web.checkrows import ROWS_FILE, CheckRows, RowChecker
from importer.web.workspace import page_words

SpecEdits = dict[int, dict[int, tuple[str, str]]]


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
        # the reader names the file alone where it says how the file reads ("input.csv is
        # not UTF-8"): the upload's stored name, which the user never gave
        (f"{Path(spec['input']).name} ", f"{spec['name']} "),
        (spec["mapping"], spec["mapping_label"]),
        (spec["out_dir"], "the run's folder"),
    ):
        message = message.replace(private, known)
    return page_words(message)


def run(spec: dict[str, Any]) -> int:
    """Run the job that ``spec`` (the server's JOB.json) describes; the exit code of the run."""
    mapping = load_mapping(spec["mapping"])
    out_dir = Path(spec["out_dir"])
    edits = spec_edits(spec)
    limits = WorkbookLimits(**spec.get("limits", {}))
    options = ImportOptions(
        mapping=mapping,
        out_dir=out_dir,
        sheet=spec.get("sheet"),
        header_row=spec.get("header_row"),
        edits={
            row: {column: new for column, (_, new) in cells.items()} for row, cells in edits.items()
        },
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
        # The page imports what Excel shows: its check lists the rows a sheet hides as
        # skipped, with the reason, before anything is sent.
        hidden_rows="skip",
    )
    summary = run_import(spec["input"], options)
    # Stop clicked after the run ended: nothing left to stop, and no traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _publish_summary(out_dir / "summary.json", spec)
    if spec["dry_run"]:
        build_rows(spec, mapping, edits, out_dir / ROWS_FILE)
    return summary.exit_code


def _publish_summary(path: Path, spec: dict[str, Any]) -> None:
    """summary.json is downloaded from the page: name the user's file, not the server's folders."""
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary.update(input=spec["name"], mapping=spec["mapping_label"], out_dir="")
    if summary.get("notices"):
        summary["notices"] = [public(notice, spec) for notice in summary["notices"]]
    for key in ("journal", "state"):
        if isinstance(summary.get(key), str):
            summary[key] = Path(summary[key]).name
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def build_rows(spec: dict[str, Any], mapping: Mapping, edits: SpecEdits, path: Path) -> None:
    """Write every row as checked to ``path`` (``checkrows.ROWS_FILE``) for the check step."""
    values = {
        row: {column: value for column, (_, value) in cells.items()} for row, cells in edits.items()
    }
    originals = {
        row: {column: old for column, (old, _) in cells.items()} for row, cells in edits.items()
    }
    with open_table(
        spec["input"],
        sheet=spec.get("sheet"),
        header_row=spec.get("header_row") or mapping.header_row,
        limits=WorkbookLimits(**spec.get("limits", {})),
    ) as table:
        checker = RowChecker(mapping, table.headers, spec["name"], table.hidden_rows)
        store = CheckRows.create(path, checker, table.link_sources)
        try:
            # a twin of links emptied by an edit is shown as changed, with what it held
            store.fill(edited(table.rows, values, table.link_sources, originals), originals)
        finally:
            store.close()


def spec_edits(spec: dict[str, Any]) -> SpecEdits:
    """The job's corrected cells: row → column → (the file's text, the corrected text)."""
    return {
        int(row): {int(column): (old, new) for column, (old, new) in cells.items()}
        for row, cells in spec.get("edits", {}).items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    try:
        # held back since the server started this process: a Stop clicked meanwhile lands here
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
