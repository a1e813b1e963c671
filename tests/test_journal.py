"""The journal: what it remembers, what it refuses, and kill -9 at any instant."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from importer.errors import Code, Reject
from importer.read.tables import SourceRow
from importer.record.journal import _OUTCOME_DELAY, Journal
from importer.record.journal_file import JOURNAL_FILE, JournalError, unfinished_run
from importer.record.ledger import LedgerError, Scope, SqliteLedger
from importer.record.outcomes import RowOutcome, Status
from importer.record.run_identity import RunIdentity, row_hash
from importer.run.options import ImportOptions
from importer.run.settle import Work
from importer.run.sink import Sink

ROOT = Path(__file__).resolve().parent.parent
IDENTITY = RunIdentity(
    input="in.csv",
    input_sha256="a" * 64,
    reading="csv, encoding 'utf-8', delimiter ',', header row 1",
    mapping="m.yaml",
    mapping_sha256="b" * 64,
    target="https://api.example.com",
    account_id="acc-1",
)
DIGEST = row_hash(("Ada", "ada@example.com"))


def created(row_number: int, candidate_id: str = "c1") -> RowOutcome:
    return RowOutcome(row_number, Status.CREATED, 201, 1, candidate_id, f"r{row_number}")


def unknown(row_number: int) -> RowOutcome:
    reject = Reject(row_number, Code.OUTCOME_UNKNOWN, "no answer")
    return RowOutcome(row_number, Status.REJECTED, None, 2, rejects=(reject,))


def query(out: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(out / JOURNAL_FILE)) as db:
        return db.execute(sql).fetchall()


def finished_run(out: Path, identity: RunIdentity = IDENTITY) -> Journal:
    journal = Journal.open(out, identity, resume=False)
    journal.record(created(2), "k", DIGEST, sent=True)
    journal.finish(None)
    journal.close()
    return journal


def test_rows_keep_their_state_across_a_reopen(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    asyncio.run(journal.sending(2, "ada@example.com", DIGEST))
    journal.record(created(2, "cand-2"), "ada@example.com", DIGEST, sent=True)
    asyncio.run(journal.sending(3, "bob@example.com", DIGEST))
    journal.record(unknown(4), "cy@example.com", DIGEST, sent=True)
    skipped = Reject(5, Code.BLANK_ROW, "blank row")
    journal.record(RowOutcome(5, Status.SKIPPED, rejects=(skipped,)), None, DIGEST)
    journal.close()

    resumed = Journal.open(tmp_path, IDENTITY, resume=True)
    assert (resumed.resumed, resumed.session, resumed.run_id) == (True, 2, journal.run_id)
    two, three, four, five = (resumed.previous(n) for n in (2, 3, 4, 5))
    assert two is not None
    assert (two.created, two.in_doubt, two.id, two.remote_id) == (True, False, "cand-2", "r2")
    assert (two.key, two.row_hash) == ("ada@example.com", DIGEST)
    assert two.sent_at is not None
    assert three is not None
    assert (three.state, three.in_doubt) == ("sending", True)
    assert four is not None
    assert (four.error_code, four.in_doubt) == ("outcome-unknown", True)
    assert five is not None
    assert (five.in_doubt, five.sent_at) == (False, None)
    assert resumed.previous(6) is None
    resumed.close()


def test_unfinished_run_is_refused_without_resume(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    asyncio.run(journal.sending(2, "k", DIGEST))
    journal.record(created(3), "k3", DIGEST, sent=True)
    journal.close()

    with pytest.raises(JournalError) as caught:
        Journal.open(tmp_path, IDENTITY, resume=False)
    message = str(caught.value)
    assert "holds an unfinished run of in.csv" in message
    assert "1 rows done, 1 created, 1 in flight" in message
    assert "add --resume to continue it, or choose another --out" in message
    assert unfinished_run(tmp_path) is not None


def test_unfinished_run_that_created_nobody_is_replaced(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    stopped = Reject(2, Code.RUN_STOPPED, "not sent: the API answered 401")
    journal.record(RowOutcome(2, Status.NOT_ATTEMPTED, rejects=(stopped,)), None, DIGEST)
    journal.finish("the API answered 401")
    journal.close()

    assert unfinished_run(tmp_path) is None
    again = Journal.open(tmp_path, IDENTITY, resume=False)
    assert again.run_id != journal.run_id
    assert not again.resumed
    assert again.previous(2) is None
    again.close()


def test_finished_run_of_another_file_is_replaced(tmp_path: Path) -> None:
    finished_run(tmp_path)
    tonight = replace(IDENTITY, input="tonight.csv", input_sha256="c" * 64)
    again = Journal.open(tmp_path, tonight, resume=False)
    assert (again.session, again.resumed, again.previous(2)) == (1, False, None)
    again.close()


def test_same_file_into_the_same_account_again_is_refused(tmp_path: Path) -> None:
    finished_run(tmp_path)
    with pytest.raises(JournalError, match="which created 1 candidates: running it again would"):
        Journal.open(tmp_path, IDENTITY, resume=False)


@pytest.mark.parametrize(
    ("identity", "resume"),
    [
        (IDENTITY, True),  # sends only what was not created
        (replace(IDENTITY, state="state.sqlite"), False),  # skips what was created
        (replace(IDENTITY, target="sandbox"), False),  # a new sandbox starts empty
    ],
)
def test_same_file_again_is_allowed_when_nothing_would_be_created_twice(
    tmp_path: Path, identity: RunIdentity, resume: bool
) -> None:
    finished_run(tmp_path, identity)
    Journal.open(tmp_path, identity, resume=resume).close()


def test_resume_of_a_changed_input_names_the_first_changed_row(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    for n, cells in ((2, ("Ada",)), (3, ("Bob",))):
        journal.record(created(n), None, row_hash(cells), sent=True)
    journal.close()

    changed = replace(IDENTITY, input_sha256="f" * 64)
    rows = [SourceRow(2, ("Ada",)), SourceRow(3, ("Bobby",))]
    with pytest.raises(JournalError) as caught:
        Journal.open(tmp_path, changed, resume=True, rows=iter(rows))
    message = str(caught.value)
    assert message.startswith("in.csv has changed since the run in")
    assert "(row 3 is not what it was)" in message
    assert "put the original back to finish that run, or start a new one with another --out" in (
        message
    )
    appended = [SourceRow(2, ("Ada",)), SourceRow(3, ("Bob",)), SourceRow(4, ("Cy",))]
    with pytest.raises(JournalError, match="rows were added, removed or changed after"):
        Journal.open(tmp_path, changed, resume=True, rows=iter(appended))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"mapping_sha256": "0" * 64}, "the mapping m.yaml has changed since the run"),
        ({"reading": "xlsx, sheet 'Other', header row 1"}, "pass the same --sheet, --encoding"),
        ({"account_id": "acc-2"}, "--resume must use the same --base-url (or --sandbox)"),
        ({"target": "http://127.0.0.1:1"}, "imports into https://api.example.com (account acc-1)"),
    ],
)
def test_resume_refuses_another_mapping_reading_or_target(
    tmp_path: Path, change: dict[str, str], says: str
) -> None:
    Journal.open(tmp_path, IDENTITY, resume=False).close()
    with pytest.raises(JournalError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Journal.open(tmp_path, replace(IDENTITY, **change), resume=True)


def test_resume_with_no_journal_starts_a_new_run(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "new", IDENTITY, resume=True)
    assert (journal.resumed, journal.session) == (False, 1)
    journal.close()


def test_resuming_a_finished_run_makes_it_unfinished_until_it_ends(tmp_path: Path) -> None:
    finished_run(tmp_path)
    resumed = Journal.open(tmp_path, IDENTITY, resume=True)
    asyncio.run(resumed.sending(3, "k3", DIGEST))
    resumed.close()
    assert unfinished_run(tmp_path) is not None


def test_a_journal_in_use_is_refused(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    with pytest.raises(JournalError, match="is in use by another import right now"):
        Journal.open(tmp_path, IDENTITY, resume=True)
    journal.close()


def test_other_files_are_not_taken_for_a_journal_or_a_ledger(tmp_path: Path) -> None:
    Journal.open(tmp_path, IDENTITY, resume=False).close()
    with pytest.raises(LedgerError, match="is a SQLite file but not an importer ledger"):
        SqliteLedger(tmp_path / JOURNAL_FILE, Scope("t", "a"))
    ledger_folder = tmp_path / "ledger"
    SqliteLedger(ledger_folder / JOURNAL_FILE, Scope("t", "a")).close()
    with pytest.raises(JournalError, match="is a SQLite file but not an importer journal"):
        Journal.open(ledger_folder, IDENTITY, resume=False)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / JOURNAL_FILE).write_bytes(b"not a database" * 100)
    with pytest.raises(JournalError, match="is not an importer journal"):
        Journal.open(junk, IDENTITY, resume=False)


def test_row_hash_tells_rows_apart() -> None:
    assert row_hash(("a", "b")) == row_hash(["a", "b"])
    assert row_hash(("a", "b")) != row_hash(("ab",))
    assert row_hash(("a", "b")) != row_hash(("a", "b", ""))


# A child playing the pipeline's part against the journal until it is killed. "sent": mark each
# row, then record it; "batched": also leave big transactions of never-sent outcomes open, as
# the producer does for rejects; "in-flight": one row marked and one recorded, then wait past
# the outcome deadline; "answered": row 2 marked and recorded, then wait (its outcome waits for
# a commit); "next-mark": the same, and row 3 marked; "stopped": the same, and the session ended
# early, as a stopped run ends; "ahead": rows 3 and 4 marked with row 2, then row 3's turn.
_CHILD = f"""
import asyncio, sys
from pathlib import Path
from importer.record.journal import Journal
from importer.record.run_identity import RunIdentity
from importer.record.outcomes import RowOutcome, Status

identity = {IDENTITY!r}
mode = sys.argv[2]

def created(n):
    return RowOutcome(n, Status.CREATED, 201, 1, f"id{{n}}", f"r{{n}}")

async def main() -> None:
    journal = Journal.open(Path(sys.argv[1]), identity, resume=False)
    if mode == "in-flight":
        await journal.sending(2, "k2", bytes(16))
        journal.record(created(3), "k3", bytes(16), sent=True)
        await asyncio.sleep({_OUTCOME_DELAY} + 0.2)
        print("ready", flush=True)
        await asyncio.sleep(3600)
    if mode == "ahead":
        await journal.sending(2, "k2", bytes(16), [(3, "k3", bytes(16)), (4, "k4", bytes(16))])
        await journal.sending(3, "k3", bytes(16))  # marked already: no commit of its own
        print("ready", flush=True)
        await asyncio.sleep(3600)
    if mode in ("answered", "next-mark", "stopped"):
        await journal.sending(2, "k2", bytes(16))
        journal.record(created(2), "k2", bytes(16), sent=True)
        if mode == "next-mark":
            await journal.sending(3, "k3", bytes(16))
        if mode == "stopped":
            journal.finish("interrupted")
        print("ready", flush=True)
        await asyncio.sleep(3600)
    print("ready", flush=True)
    n = 2
    while True:
        if mode == "batched" and n % 5:
            journal.record(RowOutcome(n, Status.SKIPPED), None, bytes(16))
        else:
            await journal.sending(n, f"k{{n}}", bytes(16))
            journal.record(created(n), f"k{{n}}", bytes(16), sent=True)
        n += 1

asyncio.run(main())
"""


def kill_child(out: Path, mode: str, after: float) -> None:
    """Start the child, wait until it is writing, let it write for ``after`` s, kill -9 it."""
    command = [sys.executable, "-c", _CHILD, str(out), mode]
    with subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT, text=True) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        time.sleep(after)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL


def test_kill_9_with_a_request_in_flight_leaves_it_marked_sending(tmp_path: Path) -> None:
    kill_child(tmp_path, "in-flight", 0.0)

    journal = Journal.open(tmp_path, IDENTITY, resume=True)
    in_flight, recorded = journal.previous(2), journal.previous(3)
    assert in_flight is not None
    assert (in_flight.state, in_flight.in_doubt) == ("sending", True)
    # Nothing else was marked: the outcome was committed by its deadline.
    assert recorded is not None
    assert (recorded.created, recorded.id) == (True, "id3")
    journal.close()


def test_kill_9_before_an_outcome_is_committed_leaves_its_row_in_doubt(tmp_path: Path) -> None:
    kill_child(tmp_path, "answered", 0.0)

    journal = Journal.open(tmp_path, IDENTITY, resume=True)
    answered = journal.previous(2)
    assert answered is not None
    # Resume looks it up before sending it again, as for a row whose answer never came.
    assert (answered.state, answered.created, answered.in_doubt) == ("sending", False, True)
    journal.close()


def test_ending_a_session_commits_the_outcomes_waiting(tmp_path: Path) -> None:
    kill_child(tmp_path, "stopped", 0.0)

    journal = Journal.open(tmp_path, IDENTITY, resume=True)
    answered = journal.previous(2)
    assert answered is not None
    assert (answered.created, answered.id) == (True, "id2")
    journal.close()


def test_an_outcome_shares_the_next_marks_commit(tmp_path: Path) -> None:
    kill_child(tmp_path, "next-mark", 0.0)

    journal = Journal.open(tmp_path, IDENTITY, resume=True)
    answered, in_flight = journal.previous(2), journal.previous(3)
    assert answered is not None
    assert (answered.created, answered.id) == (True, "id2")
    assert in_flight is not None
    assert in_flight.state == "sending"
    journal.close()


@pytest.mark.parametrize(
    ("mode", "after"), [("sent", 0.07), ("sent", 0.31), ("batched", 0.13), ("batched", 0.37)]
)
def test_kill_9_at_any_instant_leaves_a_consistent_prefix(
    tmp_path: Path, mode: str, after: float
) -> None:
    # Mid-statement, mid-commit or mid-checkpoint: wherever the kill lands is fair game.
    kill_child(tmp_path, mode, after * random.uniform(0.5, 1.5))

    assert query(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    rows = query(tmp_path, "SELECT row_number, state, status, id FROM rows ORDER BY row_number")
    assert len(rows) > 10
    assert [r[0] for r in rows] == list(range(2, 2 + len(rows)))
    # Only the row whose request was about to leave can be caught between mark and outcome.
    assert [r for r in rows if r[1] == "sending"] in ([], [(rows[-1][0], "sending", None, None)])
    for number, state, status, candidate_id in rows:
        if state == "done":
            expected = ("created", f"id{number}") if status == "created" else ("skipped", None)
            assert (status, candidate_id) == expected
    resumed = Journal.open(tmp_path, IDENTITY, resume=True)
    assert (resumed.resumed, resumed.session) == (True, 2)
    resumed.close()


def test_rows_marked_ahead_are_durable_before_their_turn(tmp_path: Path) -> None:
    kill_child(tmp_path, "ahead", 0.0)

    journal = Journal.open(tmp_path, IDENTITY, resume=True)
    for number in (2, 3, 4):
        row = journal.previous(number)
        assert row is not None
        # resume looks each up before sending it, as for a request that got no answer
        assert (row.state, row.key, row.in_doubt) == ("sending", f"k{number}", True)
    journal.close()


def test_a_row_marked_ahead_but_not_sent_takes_its_outcome(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    asyncio.run(journal.sending(2, "k2", DIGEST, [(3, "k3", DIGEST), (4, "k4", DIGEST)]))
    assert (journal.marked(3), journal.marked(4)) == (True, True)
    stopped = Reject(3, Code.INTERRUPTED, "stopped")
    journal.record(RowOutcome(3, Status.NOT_ATTEMPTED, rejects=(stopped,)), "k3", DIGEST)
    assert journal.marked(3) is False
    asyncio.run(journal.sending(4, "k4", DIGEST))
    assert journal.marked(4) is False
    journal.close()

    resumed = Journal.open(tmp_path, IDENTITY, resume=True)
    three, four = resumed.previous(3), resumed.previous(4)
    assert three is not None
    assert (three.state, three.status, three.in_doubt) == ("done", "not_attempted", False)
    assert four is not None
    assert four.state == "sending"
    resumed.close()


def test_only_rows_that_resume_can_look_up_are_marked_ahead(tmp_path: Path) -> None:
    """A row without an e-mail left marked by a crash would be rejected as outcome-unknown
    instead of sent: it is marked at its own turn only."""
    journal = Journal.open(tmp_path, IDENTITY, resume=False)
    options = ImportOptions(mapping=Path("m.yaml"), out_dir=tmp_path)
    sink = Sink(options, None, None, journal, None, "run", "x.csv", None)  # type: ignore[arg-type]

    def work(number: int, email: str | None) -> Work:
        return Work(number, SourceRow(number, ("x", email or "")), b"{}", email, f"k{number}")

    queued = [work(3, "c@example.com"), work(4, None), work(5, "e@example.com")]
    digest = asyncio.run(sink.sending(SourceRow(2, ("x", "b@example.com")), "k2", queued))
    assert digest == row_hash(("x", "b@example.com"))
    assert [journal.marked(n) for n in (3, 4, 5)] == [True, False, True]
    journal.close()
