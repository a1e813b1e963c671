"""The ledger: per-scope memory of created keys, claims between processes, the admin view."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from importer.record.ledger import (
    DATA_DIR_ENV,
    Claimant,
    Granted,
    Imported,
    Ledger,
    LedgerError,
    LedgerFile,
    Scope,
    SqliteLedger,
    default_ledger_path,
    key_digest,
    scope_opener,
)
from importer.record.ledger import sqlite as ledger_sqlite
from tests.servers import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parent.parent
SCOPE = Scope("https://api.example.com", "acc-1")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty ledger of each back end: a file, or a database of its own."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return fresh_database(request.getfixturevalue("postgres"))


def open_ledger(place: str, scope: Scope = SCOPE) -> Ledger:
    """A ledger as one process opens it (a connection of its own)."""
    return scope_opener(where(place), scope.target)(scope.account_id)


def where(place: str) -> str | Path:
    return place if place.startswith("postgresql://") else Path(place)


ROW = Claimant("run-1", "in/candidates.csv", 2, b"h" * 16)


def made(candidate_id: str, run_id: str = "run-1", row: int = 2) -> Imported:
    return Imported(
        candidate_id,
        f"r-{candidate_id}",
        "2026-12-02T10:30:01.123+00:00",
        run_id,
        "in/candidates.csv",
        row,
        b"h" * 16,
    )


def test_a_created_key_is_remembered_for_its_scope_only(place: str) -> None:
    ledger = open_ledger(place)
    assert asyncio.run(ledger.claim("ada@example.com", ROW)) == Granted()
    ledger.created("ada@example.com", made("c1"))
    ledger.close()

    again = open_ledger(place)
    assert again.get("ada@example.com") == made("c1")
    assert asyncio.run(again.claim("ada@example.com", ROW)) == made("c1")
    assert made("c1").describe() == "on 2026-12-02 10:30 UTC as c1 (row 2 of candidates.csv)"
    again.close()
    for scope in (Scope(SCOPE.target, "acc-2"), Scope("https://other.example.com", "acc-1")):
        other = open_ledger(place, scope)
        assert other.get("ada@example.com") is None
        assert asyncio.run(other.claim("ada@example.com", ROW)) == Granted()
        other.close()


def test_replace_grants_a_created_key_and_keeps_it_until_created_again(place: str) -> None:
    ledger = open_ledger(place)
    ledger.created("k", made("c1", "run-0"))
    assert asyncio.run(ledger.claim("k", ROW, replace=True)) == Granted()
    ledger.release("k")  # the new attempt failed: the first candidate is still remembered
    assert ledger.get("k") == made("c1", "run-0")
    ledger.created("k", made("c2", "run-2"))
    assert ledger.get("k") == made("c2", "run-2")
    ledger.close()


def test_replace_never_grants_a_key_the_same_run_created(place: str) -> None:
    """A resumed --reimport run: the ledger saw the row created before the journal did."""
    ledger = open_ledger(place)
    ledger.created("k", made("c1", ROW.run_id))
    assert asyncio.run(ledger.claim("k", ROW, replace=True)) == made("c1", ROW.run_id)
    ledger.close()


def test_keys_are_stored_as_digests(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    ledger = SqliteLedger(path, SCOPE)
    ledger.created("ada.lovelace@example.com", made("c1"))
    ledger.close()
    assert b"ada.lovelace" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT key_sha256 FROM entries").fetchall() == [
            (key_digest("ada.lovelace@example.com"),)
        ]


def test_a_live_claim_makes_the_other_wait_for_its_outcome(place: str) -> None:
    async def scenario(settle: str) -> Granted | Imported:
        first, second = open_ledger(place), open_ledger(place)
        assert await first.claim(settle, ROW) == Granted()
        waiting = asyncio.create_task(second.claim(settle, ROW))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        if settle == "created":
            first.created(settle, made("c1"))
        elif settle == "released":
            first.release(settle)
        else:
            first.in_doubt(settle)
        result = await asyncio.wait_for(waiting, 5)
        first.close()
        second.close()
        return result

    assert asyncio.run(scenario("created")) == made("c1")
    assert asyncio.run(scenario("released")) == Granted(in_doubt=False)
    assert asyncio.run(scenario("doubt")) == Granted(in_doubt=True)


def test_closing_leaves_unsettled_claims_in_doubt(place: str) -> None:
    first = open_ledger(place)
    asyncio.run(first.claim("k", ROW))
    first.close()
    second = open_ledger(place)
    assert asyncio.run(second.claim("k", ROW)) == Granted(in_doubt=True)
    second.close()


def ahead(*keys: str) -> list[tuple[str, Claimant]]:
    return [(key, Claimant(ROW.run_id, ROW.input, 3 + n)) for n, key in enumerate(keys)]


def test_keys_claimed_ahead_are_answered_without_asking_again(place: str) -> None:
    """The rows queued behind a claimed row have their keys claimed in the same commit: free
    ones granted, a created one answered as imported, and another live process's left to ask
    again at their turn."""

    async def scenario() -> None:
        setup, other, ledger = open_ledger(place), open_ledger(place), open_ledger(place)
        setup.created("made", made("c1", "run-0"))
        setup.close()
        assert await other.claim("held", ROW) == Granted()
        queued = ahead("free", "made", "held")
        assert await ledger.claim("first", ROW, ahead=queued) == Granted()
        # Claimed for this ledger already: another process waits for it.
        third = open_ledger(place)
        waiting = asyncio.create_task(third.claim("free", ROW))
        await asyncio.sleep(0.25)
        assert not waiting.done()
        assert await ledger.claim("free", ROW) == Granted()
        assert await ledger.claim("made", ROW) == made("c1", "run-0")
        held = asyncio.create_task(ledger.claim("held", ROW))
        await asyncio.sleep(0.25)
        assert not held.done()
        other.created("held", made("c2", "run-0"))
        assert await asyncio.wait_for(held, 5) == made("c2", "run-0")
        ledger.created("free", made("c3"))
        assert await asyncio.wait_for(waiting, 5) == made("c3")
        for opened in (other, ledger, third):
            opened.close()

    asyncio.run(scenario())


def test_a_claim_that_waits_gives_back_the_keys_claimed_ahead(place: str) -> None:
    """Two imports of the same people in opposite orders, each holding keys ahead that the
    other waits for, would wait for ever: the one that must wait gives its keys back first."""

    async def scenario() -> None:
        a, b = open_ledger(place), open_ledger(place)
        assert await a.claim("a1", ROW, ahead=ahead("x")) == Granted()
        assert await b.claim("b1", ROW, ahead=ahead("y")) == Granted()
        a_waits = asyncio.create_task(a.claim("y", ROW, ahead=ahead("z")))
        await asyncio.sleep(0.25)
        assert not a_waits.done()
        # x was a's, claimed ahead; a gave it back on waiting, and claims nothing ahead meanwhile
        assert await asyncio.wait_for(b.claim("x", ROW), 5) == Granted()
        assert await asyncio.wait_for(b.claim("z", ROW), 5) == Granted()
        assert await b.claim("y", ROW) == Granted()  # b's own, claimed ahead
        b.created("y", made("c1", "run-b"))
        assert await asyncio.wait_for(a_waits, 5) == made("c1", "run-b")
        a.close()
        b.close()

    asyncio.run(scenario())


def test_a_claim_that_waited_claims_nothing_ahead(place: str) -> None:
    """The rows queued when a claim began to wait may be in flight when it ends: claiming
    their keys ahead then would hand this process's own claims back as free."""

    async def scenario() -> None:
        other, ledger = open_ledger(place), open_ledger(place)
        assert await other.claim("h", ROW) == Granted()
        waits = asyncio.create_task(ledger.claim("h", ROW, ahead=ahead("q")))
        await asyncio.sleep(0.25)
        assert await ledger.claim("q", ROW) == Granted()  # another worker sends q meanwhile
        other.created("h", made("c1", "run-0"))
        assert await asyncio.wait_for(waits, 5) == made("c1", "run-0")
        ledger.close()  # q was never settled: it is in doubt, not free
        other.close()

    asyncio.run(scenario())
    after = open_ledger(place)
    assert asyncio.run(after.claim("q", ROW)) == Granted(in_doubt=True)
    after.close()


def test_closing_frees_keys_claimed_ahead_that_were_never_sent(place: str) -> None:
    first = open_ledger(place)
    asyncio.run(first.claim("sent", ROW, ahead=ahead("queued")))
    first.close()
    second = open_ledger(place)
    assert asyncio.run(second.claim("queued", ROW)) == Granted(in_doubt=False)
    assert asyncio.run(second.claim("sent", ROW)) == Granted(in_doubt=True)
    second.close()


CLAIM_AND_HANG = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from importer.record.ledger import Claimant, scope_opener
    place = sys.argv[1]
    where = place if place.startswith("postgresql://") else Path(place)
    ledger = scope_opener(where, "https://api.example.com")("acc-1")
    asyncio.run(ledger.claim("k", Claimant("run-9", "x.csv", 2)))
    print("claimed", flush=True)
    time.sleep(60)
    """
)


def test_a_claim_whose_process_died_is_taken_over_in_doubt(place: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, place], stdout=subprocess.PIPE, cwd=ROOT
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"claimed\n"
        ledger = open_ledger(place)

        async def claim_soon() -> Granted | Imported:
            return await asyncio.wait_for(ledger.claim("k", ROW), 0.5)

        with pytest.raises(TimeoutError):  # alive: wait for it
            asyncio.run(claim_soon())
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert asyncio.run(claim_soon()) == Granted(in_doubt=True)
        ledger.close()
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        assert child.stdout is not None
        child.stdout.close()


def test_a_claim_on_another_machine_expires_with_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    other = SqliteLedger(path, SCOPE)
    asyncio.run(other.claim("k", ROW))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE owners SET host = 'elsewhere', pid = 1")
    ledger = SqliteLedger(path, SCOPE, lease=60.0)

    async def claim_soon() -> Granted | Imported:
        return await asyncio.wait_for(ledger.claim("k", ROW), 0.3)

    with pytest.raises(TimeoutError):
        asyncio.run(claim_soon())
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE owners SET renewed = ?", (time.time() - 61,))
    assert asyncio.run(claim_soon()) == Granted(in_doubt=True)
    ledger.close()


RACE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from importer.record.ledger import Claimant, Granted, Imported, scope_opener
    place, name, keys = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    where = place if place.startswith("postgresql://") else Path(place)
    ledger = scope_opener(where, "https://api.example.com")("acc-1")

    async def one(key):
        claim = await ledger.claim(key, Claimant(name, "x.csv", 2))
        if isinstance(claim, Granted):
            await asyncio.sleep(0.001)  # the request
            ledger.created(key, Imported(f"{name}-{key}", None, "2026-12-02T10:00:00", name,
                                         "x.csv", 2))
            print(key, flush=True)

    async def main():
        await asyncio.gather(*(one(key) for key in keys))

    asyncio.run(main())
    ledger.close()
    """
)


def test_processes_racing_for_the_same_keys_create_each_once(place: str) -> None:
    open_ledger(place).close()
    keys = [f"k{i}" for i in range(150)]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACE,
                place,
                f"p{n}",
                ",".join(keys[n * 50 :] + keys[: n * 50]),
            ],
            stdout=subprocess.PIPE,
            cwd=ROOT,
        )
        for n in range(3)
    ]
    created: list[str] = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        created += out.decode().split()
    assert sorted(created) == sorted(keys)
    with LedgerFile(where(place)) as book:
        assert {e.state for e in book.entries()} == {"created"}
        assert len(list(book.entries())) == len(keys)


def test_the_ledger_file_lists_finds_forgets_and_exports(place: str) -> None:
    ledger = open_ledger(place)
    ledger.created("ada@example.com", made("c1"))
    ledger.created("grace@example.com", made("c2", row=3))
    ledger.created("alan@example.com", made("c3", "run-2"))
    ledger.close()
    other = open_ledger(place, Scope(SCOPE.target, "acc-2"))
    other.created("ada@example.com", made("c9", "run-3"))
    other.close()

    with LedgerFile(where(place)) as book:
        recent = book.recent()
        assert {r.run_id: r.created for r in recent} == {"run-1": 2, "run-2": 1, "run-3": 1}
        assert {r.account_id for r in recent} == {"acc-1", "acc-2"}
        found = book.find("  Ada@Example.com ")
        assert sorted((e.account_id, e.imported.id) for e in found) == [
            ("acc-1", "c1"),
            ("acc-2", "c9"),
        ]
        assert book.forget([e for e in found if e.account_id == "acc-1"]) == 1
        assert [e.imported.id for e in book.find("ada@example.com")] == ["c9"]
        assert book.forget_run("run-1") == 1
        assert sorted(e.imported.id or "" for e in book.entries()) == ["c3", "c9"]


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    stranger = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(stranger)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(LedgerError, match="not an importer ledger"):
        SqliteLedger(stranger, SCOPE)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all" * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        SqliteLedger(text, SCOPE)


def test_the_default_ledger_lives_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    assert default_ledger_path() == tmp_path / "data" / "ledger.sqlite"


def test_imported_describes_a_candidate_without_an_id() -> None:
    imported = Imported(None, "r9", "2026-11-28T19:30:01.123+00:00", "r", "x/b.csv", 9)
    assert imported.describe() == "on 2026-11-28 19:30 UTC as remote id r9 (row 9 of b.csv)"


def _open_and_close(path: str, start: Any, answers: Any) -> None:
    start.wait()
    try:
        ledger_sqlite._connect(Path(path)).close()
        answers.put("ok")
    except Exception as error:  # reported to the test, which names it
        answers.put(repr(error))


def test_processes_opening_a_new_ledger_at_once_all_get_in(tmp_path: Path) -> None:
    """Two cron jobs starting together on a fresh machine: SQLite answers the switch to WAL
    'locked' at once to all but one, which must wait, not fail."""
    context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    failures = []
    for attempt in range(15):
        path = str(tmp_path / f"{attempt}" / "ledger.sqlite")
        start, answers = context.Barrier(3), context.Queue()
        processes = [
            context.Process(target=_open_and_close, args=(path, start, answers)) for _ in range(3)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        failures += [answer for answer in (answers.get() for _ in processes) if answer != "ok"]
    assert failures == []


CLAIM_AHEAD_AND_HANG = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from importer.read.tables import SourceRow
    from importer.record.ledger import scope_opener
    from importer.run.accounts import RowAccount, RowLedgers
    from importer.run.options import ImportOptions
    from importer.run.settle import Work
    from importer.run.sink import Sink
    ledger = scope_opener(Path(sys.argv[1]), "https://api.example.com")("acc-1")
    ledgers = RowLedgers(RowAccount(None, (), "x.csv", None), sys.argv[1], lambda _: ledger)
    options = ImportOptions(mapping=Path("m.yaml"), out_dir=Path("."))
    sink = Sink(options, None, None, None, ledgers, "run-9", "x.csv", None)

    def work(number, email):
        return Work(number, SourceRow(number, (f"L{number}", email or "")), b"{}", email,
                    f"L{number}")

    queued = [work(3, "c@example.com"), work(4, None), work(5, "e@example.com")]
    asyncio.run(sink.claim(SourceRow(2, ("L2", "b@example.com")), "L2", queued))
    print("claimed", flush=True)
    time.sleep(60)
    """
)


def test_only_rows_that_resume_can_look_up_are_claimed_ahead(tmp_path: Path) -> None:
    """Rows keyed by the mapping's ``key:`` may have no e-mail: one claimed ahead and left in
    doubt by a kill -9 could not be looked up, and resume would reject it as outcome-unknown
    instead of sending it. It is claimed at its own turn only."""
    place = str(tmp_path / "ledger.sqlite")
    command = [sys.executable, "-c", CLAIM_AHEAD_AND_HANG, place]
    with subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT) as child:
        assert child.stdout is not None
        assert child.stdout.readline() == b"claimed\n"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    ledger = open_ledger(place)

    async def claims() -> list[Granted | Imported]:
        keys = ("L2", "L3", "L4", "L5")
        return [await asyncio.wait_for(ledger.claim(k, ROW), 5) for k in keys]

    assert asyncio.run(claims()) == [
        Granted(in_doubt=True),
        Granted(in_doubt=True),
        Granted(in_doubt=False),
        Granted(in_doubt=True),
    ]
    ledger.close()
