"""End-to-end imports against the sandbox on 127.0.0.1, sharing one scaled clock with it."""

from __future__ import annotations

import asyncio
import csv
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from importer import ImportOptions, Progress, run_import_async
from importer.clock import ScaledClock
from importer.read.escape import escape_formula
from importer.record.report import ImportSummary, render_summary
from importer.sandbox import Sandbox, SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "candidates.csv"
DEFAULT_MAPPING = ROOT / "mappings" / "default.yaml"
HEADERS = ["First Name", "Last Name", "Email", "Phone", "Company", "Country"]


def write_candidates(path: Path, count: int, *, with_email: bool = True) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(count):
            email = f"person{i}@example.com" if with_email else ""
            writer.writerow(
                [f"First{i}", f"Last{i}", email, f"+44 20 7946 {i:04d}", "Acme", "United Kingdom"]
            )
    return path


def read_results(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_rejects(out: Path) -> tuple[list[str], list[list[str]]]:
    with (out / "rejects.csv").open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def import_into_sandbox(
    input_path: Path,
    out: Path,
    config: SandboxConfig | None = None,
    *,
    clock_factor: float = 20.0,
    mapping: Path = DEFAULT_MAPPING,
    **options: Any,
) -> tuple[ImportSummary, dict[str, Any]]:
    """Run one import into a fresh in-process sandbox; both see the same (fast) clock."""
    clock = ScaledClock(clock_factor)

    async def main() -> tuple[ImportSummary, dict[str, Any]]:
        async with Sandbox(config or SandboxConfig(), clock=clock) as sandbox:
            settings: dict[str, Any] = {
                "mapping": mapping,
                "out_dir": out,
                "base_url": sandbox.url,
                "api_key": "test-key",
                "account_id": "acc-1",
                "clock": clock,
                "handle_signals": False,
                "rate": 60_000.0,
                **options,
            }
            summary = await run_import_async(input_path, ImportOptions(**settings))
            return summary, sandbox.stats()

    return asyncio.run(main())


def test_sample_creates_valid_rows_and_rejects_broken_ones(tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary, stats = import_into_sandbox(SAMPLE, out)

    results = read_results(out)
    assert [r["row_number"] for r in results] == [str(n) for n in range(2, 21)]
    outcomes = {int(r["row_number"]): (r["status"], r["error_code"]) for r in results}
    assert outcomes[4] == ("rejected", "invalid-email")
    assert outcomes[8] == ("skipped", "blank-row")
    assert outcomes[9] == ("rejected", "invalid-date")
    assert outcomes[10] == ("rejected", "duplicate-in-file")
    # "not a phone" is no number: left out with a warning, and the candidate created
    assert outcomes[20] == ("created", "")
    assert results[-1]["warnings"].startswith('value-dropped: column "Phone": "not a phone"')
    created = [n for n, (status, _) in outcomes.items() if status == "created"]
    assert created == [2, 3, 5, 6, 7, *range(11, 21)]
    assert all(r["id"] and r["http_status"] == "201" for r in results if r["status"] == "created")
    assert stats["candidates"] == len(created) == summary.counts.created
    assert summary.exit_code == 1
    duplicate = next(r for r in summary.first_rejects if r.row_number == 10)
    assert (duplicate.column, duplicate.value) == ("Email", "ADA.LOVELACE@example.com")
    assert "row 2" in duplicate.message


def test_rejects_keep_original_columns_escaped_for_excel(tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_into_sandbox(SAMPLE, out)

    with SAMPLE.open(newline="", encoding="utf-8") as f:
        original = list(csv.reader(f))
    header, rejects = read_rejects(out)
    assert header == [*original[0], "error_row", "error_code", "error_field", "error_message"]
    by_row = {int(r[-4]): r for r in rejects}
    assert sorted(by_row) == [4, 9, 10]
    for row_number, line in by_row.items():
        assert line[: len(original[0])] == list(map(escape_formula, original[row_number - 1]))
    assert by_row[4][-3] == "invalid-email"
    assert "alan.turing@example" in by_row[4][-1]


def test_fixed_rejects_file_imports_through_the_same_mapping(tmp_path: Path) -> None:
    first_out = tmp_path / "first"
    import_into_sandbox(SAMPLE, first_out)
    header, rejects = read_rejects(first_out)
    column = {name: i for i, name in enumerate(header)}
    fixes = {
        "4": ("Email", "alan.turing@example.org"),
        "9": ("Hired On", "2024-05-01"),
        "10": ("Email", "ada.lovelace+second@example.com"),
    }
    for line in rejects:
        name, value = fixes[line[column["error_row"]]]
        line[column[name]] = value
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows([header, *rejects])

    second_out = tmp_path / "second"
    summary, stats = import_into_sandbox(fixed, second_out)

    assert summary.counts.created == 3
    assert summary.exit_code == 0
    assert [r["status"] for r in read_results(second_out)] == ["created"] * 3
    assert stats["candidates"] == 3


def test_429_pauses_the_whole_pool_and_no_request_lands_inside_retry_after(
    tmp_path: Path,
) -> None:
    rows = write_candidates(tmp_path / "in.csv", 60)
    config = SandboxConfig(rate_limit_per_minute=600, burst=2)
    summary, stats = import_into_sandbox(
        rows, tmp_path / "out", config, clock_factor=5.0, concurrency=8, rate=6000.0
    )

    assert summary.counts.created == 60
    assert stats["requests_by_status"].get("429", 0) > 0
    assert summary.requests_by_status["429"] == stats["requests_by_status"]["429"]
    assert stats["retry_after_violations"] == 0
    assert stats["duplicate_emails"] == 0


def test_duplicate_guard_recovers_candidates_behind_dropped_connections(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 40)
    config = SandboxConfig(rate_limit_per_minute=0, p_drop=0.25, seed=7)
    summary, stats = import_into_sandbox(rows, tmp_path / "out", config, concurrency=4)

    results = read_results(tmp_path / "out")
    assert stats["dropped"] > 0
    assert [r["status"] for r in results] == ["created"] * 40
    assert sum(r["note"] == "recovered" for r in results) == stats["dropped"]
    assert stats["candidates"] == 40
    assert stats["duplicate_emails"] == 0
    assert summary.lookups >= stats["dropped"]


def test_a_short_api_key_inside_emails_does_not_blind_the_duplicate_guard(tmp_path: Path) -> None:
    # The key "any" also occurs in "tiffany…@": scrubbing it out of the lookup's answer made
    # every dropped create look absent, and each was created a second time.
    rows = tmp_path / "in.csv"
    rows.write_text(
        "First Name,Last Name,Email\n"
        + "".join(f"Tiffany,Company{i},tiffany{i}@company.example\n" for i in range(30)),
        encoding="utf-8",
    )
    config = SandboxConfig(rate_limit_per_minute=0, p_drop=0.5, seed=11)
    _summary, stats = import_into_sandbox(
        rows, tmp_path / "out", config, api_key="any", concurrency=4
    )

    results = read_results(tmp_path / "out")
    assert stats["dropped"] > 0
    assert [r["status"] for r in results] == ["created"] * 30
    assert stats["candidates"] == 30
    assert stats["duplicate_emails"] == 0


def test_server_error_on_a_row_without_email_is_outcome_unknown(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 3, with_email=False)
    config = SandboxConfig(rate_limit_per_minute=0, p500=1.0)
    _summary, stats = import_into_sandbox(rows, tmp_path / "out", config)

    results = read_results(tmp_path / "out")
    assert [(r["status"], r["error_code"]) for r in results] == [
        ("rejected", "outcome-unknown")
    ] * 3
    assert stats["requests_by_status"] == {"500": 3}


def test_server_error_without_email_is_resent_when_asked(tmp_path: Path) -> None:
    from importer.send.retry import RetryPolicy

    rows = write_candidates(tmp_path / "in.csv", 10, with_email=False)
    config = SandboxConfig(rate_limit_per_minute=0, p500=0.3, seed=3)
    summary, stats = import_into_sandbox(
        rows, tmp_path / "out", config, policy=RetryPolicy(resend_unverified=True)
    )

    assert summary.counts.created == 10
    assert stats["requests_by_status"]["500"] > 0


def test_fatal_answer_stops_the_run_without_new_requests(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 50)
    config = SandboxConfig(rate_limit_per_minute=0, fail_accounts={"acct-off": 412})
    summary, stats = import_into_sandbox(
        rows, tmp_path / "out", config, account_id="acct-off", concurrency=4
    )

    results = read_results(tmp_path / "out")
    assert summary.exit_code == 3
    assert summary.stopped_early
    assert "412" in (summary.stop_reason or "")
    assert len(results) == 50
    assert {r["status"] for r in results} == {"not_attempted"}
    assert {r["error_code"] for r in results} == {"run-stopped"}
    assert stats["posts"] <= 4


def _interrupter(rows: int) -> tuple[Callable[[Progress], None], list[int]]:
    """An on_progress that sends this process Ctrl-C once ``rows`` are done, and where it did."""
    interrupted_at: list[int] = []

    def interrupt(progress: Progress) -> None:
        if progress.rows_done >= rows and not interrupted_at:
            interrupted_at.append(progress.rows_done)
            os.kill(os.getpid(), signal.SIGINT)

    return interrupt, interrupted_at


def test_interrupt_finishes_in_flight_rows_and_writes_every_outcome(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 200)
    config = SandboxConfig(rate_limit_per_minute=0, latency_mean=0.5)

    interrupt_after_ten, _ = _interrupter(10)
    summary, stats = import_into_sandbox(
        rows,
        tmp_path / "out",
        config,
        concurrency=4,
        handle_signals=True,
        on_progress=interrupt_after_ten,
        progress_interval=0.0,
    )

    results = read_results(tmp_path / "out")
    assert summary.exit_code == 3
    assert summary.stop_reason == "interrupted"
    assert len(results) == 200
    created = [r for r in results if r["status"] == "created"]
    assert 10 <= len(created) < 200
    assert stats["candidates"] == len(created)
    rest = [r for r in results if r["status"] != "created"]
    assert {(r["status"], r["error_code"]) for r in rest} == {("not_attempted", "interrupted")}


def test_interrupt_stops_a_dry_run_at_once_and_every_row_still_gets_an_outcome(
    tmp_path: Path,
) -> None:
    # The dry run never hands control back to the event loop: Ctrl-C must still reach it.
    rows = write_candidates(tmp_path / "in.csv", 200)
    interrupt_after_ten, interrupted_at = _interrupter(10)
    summary, _ = import_into_sandbox(
        rows,
        tmp_path / "out",
        dry_run=True,
        handle_signals=True,
        on_progress=interrupt_after_ten,
        progress_interval=0.0,
    )

    results = read_results(tmp_path / "out")
    assert summary.exit_code == 3
    assert summary.stop_reason == "interrupted"
    assert len(results) == 200
    checked = [r for r in results if r["note"] == "dry-run"]
    assert len(checked) == interrupted_at[0]
    rest = results[len(checked) :]
    assert {(r["status"], r["error_code"]) for r in rest} == {("not_attempted", "interrupted")}
    # the summary does not count the interrupted rows as valid
    text = render_summary(summary)
    assert f"{len(checked)} valid (not sent)" in text
    assert f"{len(rest)} not checked" in text


def test_heartbeat_answers_are_read_past_their_leading_newlines(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 3)
    config = SandboxConfig(rate_limit_per_minute=0, latency_mean=3.0, heartbeat_interval=1.0)
    summary, stats = import_into_sandbox(rows, tmp_path / "out", config, heartbeat=True)

    # the sandbox streamed newlines for 3 s before each body; the body's statusCode decides
    assert summary.counts.created == 3
    assert stats["requests_by_status"] == {"201": 3}


def test_dry_run_sends_nothing_and_marks_valid_rows_not_attempted(tmp_path: Path) -> None:
    summary, stats = import_into_sandbox(SAMPLE, tmp_path / "out", dry_run=True)
    results = read_results(tmp_path / "out")
    assert stats["requests_total"] == 0
    assert summary.counts.not_attempted == 15
    assert {r["note"] for r in results if r["status"] == "not_attempted"} == {"dry-run"}
    assert summary.exit_code == 1
