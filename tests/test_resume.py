"""Safe re-runs end to end: --resume after a crash or a stop, and --state across runs."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from importer import ImportOptions, Progress, run_import_async
from importer.cli import main
from importer.clock import ScaledClock
from importer.errors import ConfigError
from importer.record.journal import Journal
from importer.record.journal_file import JOURNAL_FILE, unfinished_run
from importer.record.report import ImportSummary
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread
from importer.send.client import ApiClient
from tests.sandboxed import LEGACY_MAPPING

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAPPING = ROOT / "mappings" / "default.yaml"
HEADERS = ["First Name", "Last Name", "Email", "Candidate ID"]
ACCOUNT = "acc-1"
KEY = "test-key"


def person(i: int, email: str | None = None) -> list[str]:
    return [f"First{i}", f"Last{i}", f"person{i}@example.com" if email is None else email, f"L-{i}"]


def write_csv(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        writer.writerows(rows)
    return path


def read_results(out: Path) -> dict[int, dict[str, str]]:
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        return {int(r["row_number"]): r for r in csv.DictReader(f)}


def journal_sql(out: Path, *statements: str) -> None:
    with closing(sqlite3.connect(out / JOURNAL_FILE)) as db:
        for statement in statements:
            db.execute(statement)
        db.commit()


async def candidates(url: str) -> dict[str, str]:
    """E-mail → id of every candidate the sandbox holds (one page holds them all here)."""
    headers = {"Authorization": aiohttp.encode_basic_auth(KEY), "x-account-id": ACCOUNT}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{url}/unified/ats/candidates",
            params={"page_size": "1000"},
            headers=headers,
        ) as response,
    ):
        page = orjson.loads(await response.read())
    assert page["next"] is None
    return {c["emails"][0]["value"]: c["id"] for c in page["data"] if c["emails"]}


Session = Callable[[Path, Path], Awaitable[ImportSummary]]


def with_sandbox(
    config: SandboxConfig, scenario: Callable[[Sandbox, Session], Awaitable[Any]]
) -> Any:
    """Run ``scenario`` against one in-process sandbox; ``session(input, out, **options)``
    runs one import into it, both on the same fast clock."""
    clock = ScaledClock(20.0)

    async def run() -> Any:
        async with Sandbox(config, clock=clock) as sandbox:

            async def session(input_path: Path, out: Path, **options: Any) -> ImportSummary:
                settings: dict[str, Any] = {
                    "mapping": DEFAULT_MAPPING,
                    "out_dir": out,
                    "base_url": sandbox.url,
                    "api_key": KEY,
                    "account_id": ACCOUNT,
                    "clock": clock,
                    "handle_signals": False,
                    "rate": 60_000.0,
                    **options,
                }
                return await run_import_async(input_path, ImportOptions(**settings))

            return await scenario(sandbox, session)

    return asyncio.run(run())


NO_LIMIT = SandboxConfig(rate_limit_per_minute=0)
REFUSING = SandboxConfig(rate_limit_per_minute=0, fail_accounts={ACCOUNT: 412})


def test_resume_settles_each_row_by_what_the_journal_says(tmp_path: Path) -> None:
    """Created: reported, not sent. In flight: looked up (found → recovered; not → sent; no
    e-mail → outcome-unknown). Rejected or never reached: sent."""
    source = write_csv(tmp_path / "in.csv", [person(i) for i in range(2, 7)] + [person(7, "")])
    out = tmp_path / "out"

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        # Session 1 stops at the first answer (412) and sends nothing; the journal is then
        # edited to what a crash in the middle of a run leaves behind.
        first = await session(source, out)
        assert first.stopped_early
        journal_sql(
            out,
            "DELETE FROM rows WHERE row_number >= 6",
            "UPDATE rows SET status = 'created', http_status = 201, attempts = 1,"
            " id = 'old-2', remote_id = 'r-old-2', error_code = NULL WHERE row_number = 2",
            "UPDATE rows SET state = 'sending', status = NULL, error_code = NULL"
            " WHERE row_number IN (3, 4)",
            "UPDATE rows SET status = 'rejected', error_code = 'retries-exhausted'"
            " WHERE row_number = 5",
            "INSERT INTO rows (row_number, row_hash, state, session)"
            " VALUES (7, x'00', 'sending', 1)",
        )
        sandbox.configure(fail_accounts={})
        sandbox.reset()
        async with ApiClient(sandbox.url, KEY, ACCOUNT) as client:
            found = await client.create_candidate(
                b'{"first_name":"First3","last_name":"Last3","email":"person3@example.com"}'
            )

        summary = await session(source, out, resume=True)

        results = read_results(out)
        outcome = {n: (r["status"], r["note"], r["error_code"]) for n, r in results.items()}
        assert outcome == {
            2: ("created", "resumed", ""),
            3: ("created", "recovered", ""),
            4: ("created", "", ""),
            5: ("created", "", ""),
            6: ("created", "", ""),
            7: ("rejected", "", "outcome-unknown"),
        }
        assert (results[2]["id"], results[2]["remote_id"]) == ("old-2", "r-old-2")
        assert results[3]["id"] == found.id
        assert "being sent when an earlier run stopped" in results[7]["error_message"]
        ids = await candidates(sandbox.url)
        for n in (4, 5, 6):
            assert results[n]["id"] == ids[f"person{n}@example.com"]
        stats = sandbox.stats()
        # One POST made above, then rows 4, 5 and 6; one GET each for rows 3 and 4.
        assert (stats["posts"], stats["gets"] - 1, stats["duplicate_emails"]) == (4, 2, 0)
        assert summary.resumed
        assert summary.counts.notes["resumed"] == summary.counts.notes["recovered"] == 1
        assert summary.exit_code == 1
        assert unfinished_run(out) is None

    with_sandbox(REFUSING, scenario)


def test_resend_unverified_sends_an_in_flight_row_without_email(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [person(2, "")])
    out = tmp_path / "out"

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        await session(source, out)
        journal_sql(out, "UPDATE rows SET state = 'sending', status = NULL, error_code = NULL")
        sandbox.configure(fail_accounts={})
        summary = await session(source, out, resume=True, policy=_resend_unverified())
        assert read_results(out)[2]["status"] == "created"
        assert summary.exit_code == 0

    with_sandbox(REFUSING, scenario)


def _resend_unverified() -> Any:
    from importer.send.retry import RetryPolicy

    return RetryPolicy(resend_unverified=True)


def test_resume_after_a_crash_mid_run_creates_everyone_exactly_once(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [person(i) for i in range(300)])
    out = tmp_path / "out"
    config = SandboxConfig(
        rate_limit_per_minute=0, latency_mean=0.2, p500=0.03, p_drop=0.03, seed=7
    )

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        hundred = asyncio.Event()

        def watch(progress: Progress) -> None:
            if progress.created >= 100:
                hundred.set()

        crashing = asyncio.create_task(
            session(source, out, concurrency=16, on_progress=watch, progress_interval=0.0)
        )
        await hundred.wait()
        # Abandoned mid-run: requests in flight, rows queued, results half-written.
        crashing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await crashing
        with closing(sqlite3.connect(out / JOURNAL_FILE)) as db:
            in_flight = db.execute("SELECT count(*) FROM rows WHERE state = 'sending'").fetchone()
        assert in_flight[0] > 0
        with pytest.raises(ConfigError, match="add --resume to continue it"):
            await session(source, out)

        summary = await session(source, out, concurrency=16, resume=True)

        results = read_results(out)
        assert sorted(results) == list(range(2, 302))
        assert {r["status"] for r in results.values()} == {"created"}
        ids = await candidates(sandbox.url)
        assert {r["key"]: r["id"] for r in results.values()} == ids
        assert sandbox.stats()["duplicate_emails"] == 0
        assert summary.counts.notes["resumed"] >= 100 - in_flight[0]
        assert summary.exit_code == 0

    with_sandbox(config, scenario)


def crash_after_the_last_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal as a kill -9 right after the last answer leaves it: nothing more committed,
    outcomes still waiting for a commit lost."""
    monkeypatch.setattr("importer.record.journal._OUTCOME_DELAY", 3600.0)
    monkeypatch.setattr(Journal, "finish", lambda self, stop_reason: None)
    monkeypatch.setattr(Journal, "close", lambda self: self._db.close())


def journal_states(out: Path) -> dict[int, str]:
    with closing(sqlite3.connect(out / JOURNAL_FILE)) as db:
        return dict(db.execute("SELECT row_number, state FROM rows").fetchall())


@pytest.mark.parametrize(("email", "ledger"), [(True, False), (False, False), (True, True)])
def test_resume_after_a_crash_before_the_last_outcome_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, email: bool, ledger: bool
) -> None:
    source = write_csv(tmp_path / "in.csv", [person(i, None if email else "") for i in range(5)])
    out = tmp_path / "out"

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        with monkeypatch.context() as patch:
            crash_after_the_last_answer(patch)
            await session(source, out, concurrency=1, ledger=ledger)
        # Rows with an e-mail were marked together with the first one's commit, and their
        # outcomes waited for another, so all were lost; a row without an e-mail, which resume
        # could not look up, was marked at its turn and had its outcome committed at once.
        assert journal_states(out) == {n: "sending" if email else "done" for n in range(2, 7)}

        summary = await session(source, out, resume=True, ledger=ledger)

        results = read_results(out)
        notes = {n: (r["status"], r["note"]) for n, r in results.items()}
        # The ledger committed the rows as created: it knows their ids without a look-up.
        looked_up = email and not ledger
        note = ("created", "recovered") if looked_up else ("created", "resumed")
        assert notes == {n: note for n in range(2, 7)}
        assert all(r["id"] for r in results.values())
        assert sandbox.stats()["candidates"] == 5
        assert sandbox.stats()["posts"] == 5
        assert summary.lookups == (5 if looked_up else 0)
        assert summary.exit_code == 0

    with_sandbox(NO_LIMIT, scenario)


def test_resume_refuses_a_changed_input_or_mapping(tmp_path: Path) -> None:
    rows = [person(i) for i in range(2, 6)]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out"
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(LEGACY_MAPPING, encoding="utf-8")

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        await session(source, out)
        posts = sandbox.stats()["posts"]
        rows[1][2] = "someone.else@example.com"
        write_csv(source, rows)
        with pytest.raises(ConfigError) as caught:
            await session(source, out, resume=True)
        assert f"{source} has changed since the run in {out} started" in str(caught.value)
        assert "(row 3 is not what it was)" in str(caught.value)

        rows[1][2] = "person3@example.com"
        write_csv(source, rows)
        with pytest.raises(ConfigError, match=f"the mapping {mapping} has changed since"):
            await session(source, out, resume=True, mapping=mapping)
        assert sandbox.stats()["posts"] == posts

    with_sandbox(REFUSING, scenario)


def test_dry_run_refuses_an_out_folder_with_an_unfinished_run(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", [person(2)])
    out = tmp_path / "out"

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        await session(source, out)
        journal_sql(out, "UPDATE rows SET state = 'sending'")
        with pytest.raises(ConfigError, match="choose another --out, or finish that run first"):
            await session(source, out, dry_run=True)
        with pytest.raises(ConfigError, match="cannot go with --dry-run"):
            await session(source, out, dry_run=True, resume=True)

    with_sandbox(REFUSING, scenario)


def test_state_skips_rows_an_earlier_run_created(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    monday = write_csv(tmp_path / "monday.csv", [person(i) for i in range(3)])
    tuesday_rows = [person(i) for i in range(5)]
    tuesday_rows[1][0] = "Firstname-changed"
    tuesday = write_csv(tmp_path / "tuesday.csv", tuesday_rows)

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        await session(monday, tmp_path / "monday", state=state)
        first = read_results(tmp_path / "monday")
        summary = await session(tuesday, tmp_path / "tuesday", state=state)

        results = read_results(tmp_path / "tuesday")
        outcome = {n: (r["status"], r["error_code"]) for n, r in results.items()}
        assert outcome == {
            2: ("skipped", "already-imported"),
            3: ("skipped", "already-imported"),
            4: ("skipped", "already-imported"),
            5: ("created", ""),
            6: ("created", ""),
        }
        for n in (2, 3, 4):
            assert results[n]["id"] == first[n]["id"]
            assert (
                f"as {first[n]['id']} (row {n} of monday.csv); not sent again"
                in (results[n]["error_message"])
            )
        assert "has changed since" in results[3]["error_message"]
        assert "has changed since" not in results[2]["error_message"]
        assert results[5]["key"] == "person3@example.com"
        assert (summary.exit_code, summary.state) == (0, str(state))
        assert summary.counts.by_code["already-imported"] == 3
        assert sandbox.stats()["candidates"] == 5

    with_sandbox(NO_LIMIT, scenario)


def test_key_from_a_legacy_id_column(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(LEGACY_MAPPING, encoding="utf-8")
    night1 = write_csv(tmp_path / "night1.csv", [person(1), person(2)])
    # L-1 has a new e-mail since, L-3 is new, and L-3 appears twice.
    night2 = write_csv(
        tmp_path / "night2.csv",
        [person(1, "new.address@example.com"), person(3), person(3, "other@example.com")],
    )

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        await session(night1, tmp_path / "n1", state=state, mapping=mapping)
        first = read_results(tmp_path / "n1")
        assert [r["key"] for r in first.values()] == ["L-1", "L-2"]
        await session(night2, tmp_path / "n2", state=state, mapping=mapping)

        results = read_results(tmp_path / "n2")
        assert [(r["key"], r["status"], r["error_code"]) for r in results.values()] == [
            ("L-1", "skipped", "already-imported"),
            ("L-3", "created", ""),
            ("L-3", "rejected", "duplicate-in-file"),
        ]
        assert results[2]["id"] == first[2]["id"]
        assert "Candidate ID L-3 already appears in row 3" in results[4]["error_message"]
        assert sandbox.stats()["candidates"] == 3

    with_sandbox(NO_LIMIT, scenario)


def test_state_needs_a_key_the_file_has(tmp_path: Path) -> None:
    source = tmp_path / "no_email.csv"
    source.write_text("First Name,Last Name\nAda,Lovelace\n", encoding="utf-8")

    async def scenario(sandbox: Sandbox, session: Session) -> None:
        with pytest.raises(ConfigError, match="--state needs each row's key"):
            await session(source, tmp_path / "out", state=tmp_path / "state.sqlite", ledger=True)
        # Where it is not required, a ledger that cannot apply steps aside.
        summary = await session(source, tmp_path / "out", state=tmp_path / "state.sqlite")
        assert (summary.counts.created, summary.state) == (1, None)

    with_sandbox(NO_LIMIT, scenario)


def test_cli_refuses_a_repeat_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "in.csv", [person(i) for i in range(4)])
    out = tmp_path / "out"
    monkeypatch.setenv("STACKONE_API_KEY", KEY)
    with start_sandbox_thread(NO_LIMIT) as sandbox:
        command = ["run", str(source), "-m", str(DEFAULT_MAPPING), "--base-url", sandbox.url]
        command += ["--account-id", ACCOUNT, "--out", str(out), "--quiet"]
        assert main(command) == 0
        # Without the ledger, the journal is all that knows: a repeat is refused.
        assert main([*command, "--no-state"]) == 2
        assert "running it again would create them again. Add --resume" in capsys.readouterr().err
        assert main([*command, "--resume", "--json"]) == 0
        summary = orjson.loads(capsys.readouterr().out)
        assert (summary["resumed"], summary["notes"], summary["requests_by_status"]) == (
            True,
            {"resumed": 4},
            {},
        )
        assert sandbox.stats()["candidates"] == 4


def test_run_help_documents_resume_and_state(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--resume continue the run journaled in --out" in help_text
    assert "--state FILE|URL the ledger that remembers every candidate created" in help_text
    assert "--no-state keep no ledger" in help_text
    assert "--reimport send rows that the ledger says were imported before" in help_text
