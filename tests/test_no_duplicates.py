"""Never the same person twice, end to end against the sandbox: re-imports, rejects fixed and
imported again, two processes at once, and the ``ledger`` command."""

from __future__ import annotations

import csv
import logging
import os
import random
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.cli import main
from importer.record.ledger import sqlite as ledger_sqlite
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "candidates.csv"
MAPPING = ROOT / "mappings" / "default.yaml"
KEY = "sk-test-ledger-0123456789"
ACCOUNT = "acc-1"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("STACKONE_API_KEY", KEY)
    with start_sandbox_thread(SandboxConfig(rate_limit_per_minute=0)) as running:
        yield running


def run_into(sandbox: Sandbox, source: Path, out: Path, *flags: str, quiet: bool = True) -> int:
    """``importer run`` of ``source`` into the sandbox; ``quiet=False`` keeps the summary text."""
    return main(
        [
            "run",
            str(source),
            "-m",
            str(MAPPING),
            "--base-url",
            sandbox.url,
            "--account-id",
            ACCOUNT,
            "--out",
            str(out),
            *(["--quiet"] if quiet else []),
            *flags,
        ]
    )


def read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))


def outcomes(out: Path) -> dict[int, tuple[str, str]]:
    return {
        int(r["row_number"]): (r["status"], r["error_code"]) for r in read_csv(out / "results.csv")
    }


def test_fixed_rejects_imported_again_leave_each_person_once(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    assert run_into(sandbox, SAMPLE, tmp_path / "first") == 1
    assert sandbox.stats()["candidates"] == 15
    rejects = read_csv(tmp_path / "first" / "rejects.csv", "utf-8-sig")
    assert {r["error_row"]: r["error_code"] for r in rejects} == {
        "4": "invalid-email",
        "9": "invalid-date",
        "10": "duplicate-in-file",
    }
    # What a recruiter does in Excel: fix the three bad cells, leave Ada's twin as it is.
    fixes = {"4": ("Email", "alan.turing@example.com"), "9": ("Hired On", "2024-01-09")}
    for row in rejects:
        if row["error_row"] in fixes:
            column, value = fixes[row["error_row"]]
            row[column] = value
    fixed = tmp_path / "rejects-fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=list(rejects[0]))
        writer.writeheader()
        writer.writerows(rejects)

    assert run_into(sandbox, fixed, tmp_path / "second") == 0

    assert outcomes(tmp_path / "second") == {
        2: ("created", ""),
        3: ("created", ""),
        4: ("skipped", "already-imported"),
    }
    twin = read_csv(tmp_path / "second" / "results.csv")[2]
    assert "already imported on " in twin["error_message"]
    assert "(row 2 of candidates.csv); not sent again" in twin["error_message"]
    stats = sandbox.stats()
    assert (stats["candidates"], stats["duplicate_emails"]) == (17, 0)


def test_the_same_file_twice_creates_nobody_the_second_time_and_says_why(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_into(sandbox, SAMPLE, tmp_path / "first") == 1
    capsys.readouterr()
    code = run_into(sandbox, SAMPLE, tmp_path / "again", quiet=False)

    assert code == 1  # the three rows to fix are still to fix
    assert sandbox.stats()["posts"] == 15
    statuses = [status for status, _ in outcomes(tmp_path / "again").values()]
    assert statuses.count("created") == 0
    assert statuses.count("skipped") == 16  # 15 already imported and the blank row
    err = capsys.readouterr().err
    assert "15 rows were created by an earlier import, as the ledger " in err
    assert "(skipped; --reimport sends them anyway)" in err
    # Another account of the same API is another ledger scope: created there.
    other = main(
        [
            "run",
            str(SAMPLE),
            "-m",
            str(MAPPING),
            "--base-url",
            sandbox.url,
            "--account-id",
            "acc-2",
            "--out",
            str(tmp_path / "other"),
            "--quiet",
        ]
    )
    assert other == 1
    assert sandbox.stats()["posts"] == 30


def test_a_row_without_an_e_mail_is_sent_with_a_warning_that_a_rerun_sends_it_again(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = tmp_path / "keyless.csv"
    source.write_text(
        "First Name,Last Name,Email\nAda,Lovelace,ada@example.org\nNo,Email,\n", encoding="utf-8"
    )
    for out in ("first", "again"):
        run_into(sandbox, source, tmp_path / out)
    first, again = (read_csv(tmp_path / out / "results.csv") for out in ("first", "again"))
    assert [(r["status"], r["warnings"][:7]) for r in first] == [
        ("created", ""),
        ("created", "no-key:"),
    ]
    assert [(r["status"], r["error_code"]) for r in again] == [
        ("skipped", "already-imported"),
        ("created", ""),
    ]
    assert again[1]["warnings"] == (
        "no-key: no e-mail, so the ledger cannot recognise this candidate: importing this row "
        "again creates it again, even with the e-mail filled in then"
    )
    assert sandbox.stats()["posts"] == 3


def test_no_state_and_reimport_send_rows_the_ledger_holds(sandbox: Sandbox, tmp_path: Path) -> None:
    assert run_into(sandbox, SAMPLE, tmp_path / "first") == 1
    assert run_into(sandbox, SAMPLE, tmp_path / "blind", "--no-state") == 1
    assert sandbox.stats()["posts"] == 30
    assert run_into(sandbox, SAMPLE, tmp_path / "again", "--reimport") == 1
    assert sandbox.stats()["posts"] == 45
    again = read_csv(tmp_path / "again" / "results.csv")
    # the ledger now holds the ids of the last creation
    assert main(["ledger", "find", "grace.hopper@example.com"]) == 0
    assert run_into(sandbox, SAMPLE, tmp_path / "last") == 1
    last = read_csv(tmp_path / "last" / "results.csv")
    assert last[1]["id"] == again[1]["id"]
    assert last[1]["status"] == "skipped"


def test_the_throwaway_sandbox_keeps_no_ledger(tmp_path: Path, private_data_dir: Path) -> None:
    for out in ("one", "two"):
        code = main(
            [
                "run",
                str(SAMPLE),
                "-m",
                str(MAPPING),
                "--sandbox",
                "--out",
                str(tmp_path / out),
                "--quiet",
            ]
        )
        assert code == 1
        statuses = [status for status, _ in outcomes(tmp_path / out).values()]
        assert statuses.count("created") == 15
    assert list(private_data_dir.iterdir()) == []


def test_the_ledger_command_lists_finds_forgets_and_exports(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], private_data_dir: Path
) -> None:
    assert run_into(sandbox, SAMPLE, tmp_path / "first") == 1
    capsys.readouterr()

    assert main(["ledger", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"     15  {ACCOUNT}" in listed
    assert sandbox.url in listed
    assert str(SAMPLE) in listed

    assert main(["ledger", "find", "ADA.Lovelace@example.com"]) == 0
    found = capsys.readouterr().out
    assert f"{sandbox.url} · account {ACCOUNT}: created " in found
    assert "row 2 of " in found
    assert main(["ledger", "find", "nobody@example.com"]) == 1
    assert "is not in " in capsys.readouterr().out

    export = tmp_path / "ledger.csv"
    assert main(["ledger", "export", "-o", str(export)]) == 0
    exported = read_csv(export)
    assert len(exported) == 15
    assert {r["state"] for r in exported} == {"created"}
    # keys are kept as hashes: no address, and no API key, anywhere in the ledger's files
    stored = b"".join(p.read_bytes() for p in private_data_dir.rglob("*") if p.is_file())
    assert b"ada.lovelace" not in stored
    assert KEY.encode() not in stored
    assert "ada.lovelace" not in export.read_text(encoding="utf-8")

    # A candidate deleted in the ATS on purpose: forget her, and she is imported again.
    assert main(["ledger", "forget", "ada.lovelace@example.com", "--account-id", ACCOUNT]) == 0
    assert "forgot ada.lovelace@example.com" in capsys.readouterr().out
    assert main(["ledger", "forget", "ada.lovelace@example.com"]) == 2
    assert "is not in " in capsys.readouterr().err
    assert run_into(sandbox, SAMPLE, tmp_path / "again") == 1
    assert outcomes(tmp_path / "again")[2] == ("created", "")
    assert sandbox.stats()["posts"] == 16

    run_id = next(line.rsplit(" · ", 1)[1] for line in listed.splitlines()[1:])
    assert main(["ledger", "forget", "--run", run_id]) == 0
    assert "forgot the 14 candidates of run" in capsys.readouterr().out
    assert main(["ledger", "--state", str(tmp_path / "none.sqlite"), "list"]) == 2
    assert "there is no ledger at" in capsys.readouterr().err


def people(numbers: range | list[int]) -> list[list[str]]:
    return [[f"First{i}", f"Last{i}", f"person{i}@example.com"] for i in numbers]


@pytest.mark.parametrize("concurrency", [8, 1])
def test_two_processes_importing_overlapping_files_create_each_key_once(
    tmp_path: Path, concurrency: int
) -> None:
    # The two files share 100 people, whom the two imports reach at the same time, each in an
    # order of its own. Each claims the keys of the rows queued behind the one it sends, so
    # each holds keys the other wants next (with one worker, only those).
    shared = [list(range(100, 200)), list(range(100, 200))]
    for seed, order in enumerate(shared):
        random.Random(seed).shuffle(order)
    files = {"a": people([*range(100), *shared[0]]), "b": people([*range(200, 300), *shared[1]])}
    for name, rows in files.items():
        with (tmp_path / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["First Name", "Last Name", "Email"])
            writer.writerows(rows)
    config = SandboxConfig(rate_limit_per_minute=0, latency_mean=0.03, latency_jitter=0.5)
    env = {**os.environ, "STACKONE_API_KEY": KEY}
    with start_sandbox_thread(config) as sandbox:
        commands = [
            [
                sys.executable,
                "-m",
                "importer",
                "run",
                str(tmp_path / f"{name}.csv"),
                "-m",
                str(MAPPING),
                "--base-url",
                sandbox.url,
                "--account-id",
                ACCOUNT,
                "--out",
                str(tmp_path / name),
                "--concurrency",
                str(concurrency),
                "--quiet",
            ]
            for name in files
        ]
        children = [
            subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
            for command in commands
        ]
        errors = [child.communicate(timeout=120)[1] for child in children]
        assert [child.returncode for child in children] == [0, 0], errors
        stats = sandbox.stats()

    assert (stats["candidates"], stats["duplicate_emails"], stats["posts"]) == (300, 0, 300)
    results = {name: read_csv(tmp_path / name / "results.csv") for name in files}
    created = [r["key"] for rows in results.values() for r in rows if r["status"] == "created"]
    assert sorted(created) == sorted(f"person{i}@example.com" for i in range(300))
    skipped = [r for rows in results.values() for r in rows if r["status"] == "skipped"]
    assert len(skipped) == 100
    assert {r["error_code"] for r in skipped} == {"already-imported"}
    ids = {r["key"]: r["id"] for rows in results.values() for r in rows}
    assert len(set(ids.values())) == 300  # a skipped row carries its twin's id


def test_a_ledger_that_cannot_be_written_stops_the_run_and_resume_finishes_it(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A disk that fills up mid-run: the workers fail while the reader waits for room in the
    full backlog; the run must end there (it waited minutes for nobody), every row said."""
    source = tmp_path / "people.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email"])
        writer.writerows(people(range(300)))
    commits = 0
    commit = ledger_sqlite.SqliteDatabase.commit

    def fills_up(database: ledger_sqlite.SqliteDatabase) -> None:
        nonlocal commits
        commits += 1
        if commits > 6:
            raise sqlite3.OperationalError("database or disk is full")
        commit(database)

    monkeypatch.setattr(ledger_sqlite.SqliteDatabase, "commit", fills_up)
    codes: list[int] = []
    out = tmp_path / "out"
    fast = ("--concurrency", "4", "--rate", "100000")
    run = threading.Thread(target=lambda: codes.append(run_into(sandbox, source, out, *fast)))
    run.start()
    run.join(timeout=60)
    assert not run.is_alive(), "the run did not end after its ledger failed"

    assert codes == [3]
    err = capsys.readouterr().err
    assert "cannot write the ledger" in err
    assert "database or disk is full" in err
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback
    results = outcomes(out)
    assert len(results) == 300
    created = [n for n, (status, _) in results.items() if status == "created"]
    assert len(created) == sandbox.stats()["posts"] > 0
    assert {results[n] for n in results if n not in created} == {("not_attempted", "run-stopped")}

    monkeypatch.setattr(ledger_sqlite.SqliteDatabase, "commit", commit)
    assert run_into(sandbox, source, out, *fast, "--resume") == 0
    stats = sandbox.stats()
    assert (stats["candidates"], stats["duplicate_emails"]) == (300, 0)


def test_a_stopped_import_says_how_to_finish_and_finishes_with_each_row_once(
    tmp_path: Path,
) -> None:
    source = tmp_path / "many people.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email"])
        writer.writerows(people(range(300)))
    out = tmp_path / "the out"
    env = {**os.environ, "STACKONE_API_KEY": KEY}
    config = SandboxConfig(rate_limit_per_minute=0, latency_mean=0.1)
    with start_sandbox_thread(config) as sandbox:
        command = [sys.executable, "-m", "importer", "run", str(source), "-m", str(MAPPING)]
        command += ["--base-url", sandbox.url, "--account-id", ACCOUNT, "--out", str(out)]
        with subprocess.Popen(
            command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
        ) as child:
            while sandbox.stats()["candidates"] < 30:
                assert child.poll() is None
                time.sleep(0.05)
            child.send_signal(signal.SIGTERM)
            _, err = child.communicate(timeout=60)
        assert child.returncode == 3
        lines = err.strip().splitlines()
        # the bar (here a log line) stops where the work stopped, and the summary says so
        last_progress = [line for line in lines if line.startswith("progress: ")][-1]
        done = int(last_progress.split()[1].split("/")[0])
        assert last_progress.startswith(f"progress: {done}/300 rows")
        assert 30 <= done < 300
        assert f"· {300 - done} not sent ·" in err
        assert f"remaining.csv (the {300 - done} rows not sent)" in err
        prefix = "to finish this import: "
        assert lines[-1].startswith(prefix)
        finish = shlex.split(lines[-1][len(prefix) :])
        assert finish == ["importer", *command[3:], "--resume"]
        remaining = read_csv(out / "remaining.csv", "utf-8-sig")
        assert [int(r["error_row"]) for r in remaining] == list(range(done + 2, 302))
        assert {r["error_code"] for r in remaining} == {"interrupted"}
        assert read_csv(out / "rejects.csv", "utf-8-sig") == []

        resumed = subprocess.run(
            [sys.executable, "-m", *finish], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert resumed.returncode == 0, resumed.stderr
        stats = sandbox.stats()
    assert (stats["candidates"], stats["duplicate_emails"]) == (300, 0)
    statuses = [status for status, _ in outcomes(out).values()]
    assert statuses == ["created"] * 300
    assert not (out / "remaining.csv").exists()


@pytest.mark.parametrize("ledger", ["--no-state", "--state"], ids=["no-state", "another-state"])
def test_a_rerun_into_the_same_out_skips_whom_its_journal_says_were_created(
    sandbox: Sandbox, tmp_path: Path, ledger: str
) -> None:
    """The ledger of the re-run never saw the first run: the journal the re-run replaces tells
    it whom that run created, so they are skipped, not created a second time."""
    out, state = tmp_path / "out", str(tmp_path / "again.sqlite")
    first = [ledger] if ledger == "--no-state" else [ledger, str(tmp_path / "first.sqlite")]
    assert run_into(sandbox, SAMPLE, out, *first) == 1
    assert sandbox.stats()["posts"] == 15
    created = {r["row_number"]: r["id"] for r in read_csv(out / "results.csv") if r["id"]}

    assert run_into(sandbox, SAMPLE, out, "--state", state) == 1
    assert sandbox.stats()["posts"] == 15
    again = read_csv(out / "results.csv")
    skipped = {r["row_number"]: r["id"] for r in again if r["error_code"] == "already-imported"}
    assert skipped == created
    assert "already imported on " in again[1]["error_message"]
    # remembered for good: the next run with that ledger, into another folder, skips them too
    assert run_into(sandbox, SAMPLE, tmp_path / "elsewhere", "--state", state) == 1
    assert sandbox.stats()["posts"] == 15
