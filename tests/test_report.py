"""Recorder: the results line it joins itself is byte for byte the one csv.writer writes."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from importer.errors import Code, Reject, RowWarning, WarningCode
from importer.read.escape import REJECTS_EXTRA_COLUMNS
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import RESULTS_COLUMNS, Recorder

HEADERS = ["First Name", "Email", "Notes"]
# Characters that make csv.writer quote, spreadsheet formula starts, and plain text.
ALPHABET = [",", '"', "\r", "\n", "'", "=", "+", "-", "@", "\t", " ", ";", "\0", "\u2028"]
ALPHABET += ["a", "Z", "7", ".", "é", "€", "😀", "_x000D_"]


def text(rng: random.Random, *, plain: float = 0.6) -> str:
    if rng.random() < plain:
        return rng.choice(["", "ann@example.com", "L-42", "dry-run", "Ada Lovelace"])
    return "".join(rng.choices(ALPHABET, k=rng.randint(1, 6)))


def outcome(rng: random.Random, number: int) -> RowOutcome:
    status = rng.choice(list(Status))
    rejects = tuple(
        Reject(number, rng.choice(list(Code)), text(rng), text(rng) or None, text(rng) or None)
        for _ in range(rng.choice([0, 0, 1, 2]))
    )
    warnings = tuple(
        RowWarning(number, rng.choice(list(WarningCode)), text(rng), text(rng) or None)
        for _ in range(rng.choice([0, 0, 0, 1, 2]))
    )
    ident: Any = rng.choice([None, "", text(rng), 12345])  # an int id takes csv.writer's path
    return RowOutcome(
        number,
        status,
        http_status=rng.choice([None, 201, 200, 409]),
        attempts=rng.randint(0, 3),
        id=ident,
        remote_id=rng.choice([None, text(rng)]),
        rejects=rejects,
        note=rng.choice([None, "", "dry-run", text(rng)]),
        warnings=warnings,
    )


def cases(count: int, seed: int = 7) -> list[tuple[RowOutcome, tuple[str, ...], str | None]]:
    rng = random.Random(seed)
    rows = []
    for number in range(2, count + 2):
        values = tuple(text(rng) for _ in range(rng.choice([2, 3, 4])))
        rows.append((outcome(rng, number), values, rng.choice([None, text(rng)])))
    return rows


def safe(value: str) -> str:
    """A cell that starts like a formula, after any apostrophes, gets one more in front."""
    return "'" + value if value.lstrip("'").startswith(("=", "+", "-", "@", "\t", "\r")) else value


def write_reference(out: Path, rows: list[tuple[RowOutcome, tuple[str, ...], str | None]]) -> None:
    """Both files as csv.writer writes every line, the way Recorder wrote them before."""
    out.mkdir()
    with (
        (out / "results.csv").open("w", newline="", encoding="utf-8") as results_file,
        (out / "rejects.csv").open("w", newline="", encoding="utf-8-sig") as rejects_file,
    ):
        results, rejects = csv.writer(results_file), csv.writer(rejects_file)
        results.writerow(RESULTS_COLUMNS)
        rejects.writerow([*HEADERS, *REJECTS_EXTRA_COLUMNS])
        for o, values, key in rows:
            codes = ";".join(dict.fromkeys(str(r.code) for r in o.rejects))
            message = safe("; ".join(r.message for r in o.rejects))
            results.writerow(
                [
                    o.row_number,
                    o.status,
                    "" if o.http_status is None else o.http_status,
                    o.attempts,
                    o.id or "",
                    o.remote_id or "",
                    codes,
                    message,
                    o.note or "",
                    "" if key is None else safe(key),
                    safe(" | ".join(f"{w.code}: {w.message}" for w in o.warnings)),
                ]
            )
            if o.status is Status.REJECTED:
                cells = [*map(safe, values[: len(HEADERS)]), *[""] * (len(HEADERS) - len(values))]
                fields = ";".join(r.field or r.column or "" for r in o.rejects)
                rejects.writerow([*cells, o.row_number, codes, fields, message])


def record(
    out: Path, rows: list[tuple[RowOutcome, tuple[str, ...], str | None]], order: list[int]
) -> Recorder:
    recorder = Recorder(out, HEADERS)
    for seq in order:
        recorder.record(seq, *rows[seq])
    recorder.close()
    return recorder


def test_results_and_rejects_match_csv_writer_on_tricky_values(tmp_path: Path) -> None:
    rows = cases(3000)
    write_reference(tmp_path / "reference", rows)
    recorder = record(tmp_path / "recorded", rows, list(range(len(rows))))
    for name in ("results.csv", "rejects.csv"):
        assert (tmp_path / "recorded" / name).read_bytes() == (
            tmp_path / "reference" / name
        ).read_bytes(), name
    assert recorder.counts.rows == len(rows)
    assert recorder.counts.rejected == sum(o.status is Status.REJECTED for o, _, _ in rows)
    assert recorder.counts.warned == sum(bool(o.warnings) for o, _, _ in rows)
    assert sum(recorder.counts.by_warning.values()) == sum(len(o.warnings) for o, _, _ in rows)


def test_rows_arriving_out_of_order_are_written_in_input_order(tmp_path: Path) -> None:
    rows = cases(500, seed=11)
    order = list(range(len(rows)))
    rng = random.Random(3)
    for start in range(0, len(order), 40):  # workers finish rows of a window in any order
        window = order[start : start + 40]
        rng.shuffle(window)
        order[start : start + 40] = window
    record(tmp_path / "in_order", rows, list(range(len(rows))))
    recorder = record(tmp_path / "shuffled", rows, order)
    assert recorder.pending == 0
    for name in ("results.csv", "rejects.csv"):
        assert (tmp_path / "shuffled" / name).read_bytes() == (
            tmp_path / "in_order" / name
        ).read_bytes()
