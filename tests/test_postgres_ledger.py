"""The ledger in PostgreSQL, end to end: importer processes (as on several machines) sharing
one database create each key once, a killed one's claims are taken over, ``--resume`` finishes
it, and the ``ledger`` command works on it. The interface itself is tested against both back
ends in test_ledger.py."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from importer.cli import main
from importer.record.ledger.postgresql import safe_location
from importer.sandbox import SandboxConfig, start_sandbox_thread
from tests.servers import fresh_database, postgres_server

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "mappings" / "default.yaml"
KEY = "sk-test-ledger-0123456789"
ACCOUNT = "acc-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


@pytest.fixture
def database(server: str) -> str:
    return fresh_database(server)


def write_people(path: Path, numbers: list[int]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email"])
        writer.writerows([f"First{i}", f"Last{i}", f"person{i}@example.com"] for i in numbers)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def with_password(url: str, password: str) -> str:
    return url.replace("importer@", f"importer:{password}@", 1)


def test_the_location_never_names_the_password() -> None:
    url = "postgresql://me:s3cret@db.example.com:5433/imports?sslmode=require&password=s3cret"
    assert safe_location(url) == "postgresql://me@db.example.com:5433/imports?sslmode=require"
    assert safe_location("postgres://db/x") == "postgres://db/x"


def test_two_processes_sharing_one_database_create_each_key_once_even_killed_and_resumed(
    tmp_path: Path, database: str
) -> None:
    # Rows 100-199 are in both files, reached at the same time (one ascending, one descending).
    # Process a is killed mid-run; b goes on, taking over a's unsettled claims; a resumes.
    files = {
        "a": write_people(tmp_path / "a.csv", list(range(200))),
        "b": write_people(tmp_path / "b.csv", list(reversed(range(100, 300)))),
    }
    # trust authentication ignores it: here only to see that it is written nowhere
    state = with_password(database, "pg-secret-42")
    config = SandboxConfig(rate_limit_per_minute=0, latency_mean=0.03, latency_jitter=0.5)
    env = {**os.environ, "STACKONE_API_KEY": KEY}
    with start_sandbox_thread(config) as sandbox:

        def command(name: str, *more: str) -> list[str]:
            return [
                *[sys.executable, "-m", "importer", "run", str(files[name]), "-m", str(MAPPING)],
                *["--base-url", sandbox.url, "--account-id", ACCOUNT, "--state", state],
                *["--out", str(tmp_path / name), "--concurrency", "8", "--quiet", *more],
            ]

        children = {
            name: subprocess.Popen(command(name), cwd=ROOT, env=env, stderr=subprocess.PIPE)
            for name in files
        }
        while sandbox.stats()["candidates"] < 80:
            assert children["a"].poll() is None
            time.sleep(0.02)
        os.kill(children["a"].pid, signal.SIGKILL)
        children["a"].communicate(timeout=60)
        _, b_err = children["b"].communicate(timeout=120)
        assert children["b"].returncode == 0, b_err
        resumed = subprocess.run(
            command("a", "--resume"), cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert resumed.returncode == 0, resumed.stderr
        stats = sandbox.stats()

    assert (stats["candidates"], stats["duplicate_emails"]) == (300, 0)
    results = {name: read_csv(tmp_path / name / "results.csv") for name in files}
    created = [r["key"] for rows in results.values() for r in rows if r["status"] == "created"]
    # a row created by a before the kill is created in a's results again on resume (from its
    # journal or the ledger), and skipped in b's; a row taken over by b after the kill was
    # found by its look-up (recovered) and is skipped in a's
    assert set(created) == {f"person{i}@example.com" for i in range(300)}
    ids: dict[str, set[str]] = {}
    for rows in results.values():
        for r in rows:
            assert r["status"] in ("created", "skipped"), r
            ids.setdefault(r["key"], set()).add(r["id"])
    assert all(len(found) == 1 for found in ids.values())  # one candidate per key
    for name in files:
        summary = (tmp_path / name / "summary.json").read_text(encoding="utf-8")
        assert json.loads(summary)["state"] == database
        journal = (tmp_path / name / "journal.sqlite").read_bytes()
        assert b"pg-secret-42" not in journal
        assert "pg-secret-42" not in summary
    with psycopg.connect(database) as conn:
        states = conn.execute(
            "SELECT state, count(*) FROM importer_ledger.entries GROUP BY state"
        ).fetchall()
        owners = conn.execute("SELECT count(*) FROM importer_ledger.owners").fetchone()
    assert states == [("created", 300)]
    assert owners is not None
    assert owners[0] <= 1  # only the killed process's row is left


def test_the_ledger_command_works_on_a_database(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("STACKONE_API_KEY", KEY)
    source = write_people(tmp_path / "people.csv", list(range(5)))
    with start_sandbox_thread(SandboxConfig(rate_limit_per_minute=0)) as sandbox:
        flags = ["--base-url", sandbox.url, "--account-id", ACCOUNT, "--state", database]
        run = ["run", str(source), "-m", str(MAPPING), "--quiet", *flags]
        assert main([*run, "--out", str(tmp_path / "one")]) == 0
        capsys.readouterr()

        assert main(["ledger", "--state", database, "list"]) == 0
        listed = capsys.readouterr().out
        assert f"      5  {ACCOUNT}" in listed
        assert main(["ledger", "--state", database, "find", "Person3@example.com"]) == 0
        assert f"{sandbox.url} · account {ACCOUNT}: created " in capsys.readouterr().out
        export = tmp_path / "ledger.csv"
        assert main(["ledger", "--state", database, "export", "-o", str(export)]) == 0
        assert len(read_csv(export)) == 5
        forget = ["ledger", "--state", database, "forget", "person3@example.com"]
        assert main([*forget, "--account-id", ACCOUNT]) == 0
        capsys.readouterr()

        # forgotten: sent again; the others: skipped as imported before
        assert main([*run, "--out", str(tmp_path / "two")]) == 0
        statuses = {r["key"]: r["status"] for r in read_csv(tmp_path / "two" / "results.csv")}
        assert statuses.pop("person3@example.com") == "created"
        assert set(statuses.values()) == {"skipped"}
        assert sandbox.stats()["candidates"] == 6


def test_a_database_that_cannot_be_reached_stops_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("STACKONE_API_KEY", KEY)
    source = write_people(tmp_path / "people.csv", [1])
    with start_sandbox_thread(SandboxConfig(rate_limit_per_minute=0)) as sandbox:
        state = "postgresql://importer:hunter2@127.0.0.1:1/nowhere"
        code = main(
            [
                *["run", str(source), "-m", str(MAPPING), "--base-url", sandbox.url],
                *["--account-id", ACCOUNT, "--state", state, "--out", str(tmp_path / "o")],
            ]
        )
        assert code == 2
        assert sandbox.stats()["posts"] == 0
    err = capsys.readouterr().err
    assert "cannot reach the ledger postgresql://importer@127.0.0.1:1/nowhere" in err
    assert "hunter2" not in err


WITHOUT_DRIVER = textwrap.dedent(
    """
    import sys
    sys.modules["psycopg"] = None  # as if the postgres extra were not installed
    from importer.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_without_the_driver_the_message_names_the_extra(tmp_path: Path) -> None:
    source = write_people(tmp_path / "people.csv", [1])
    state = "postgresql://importer@127.0.0.1:1/nowhere"
    run = ["run", str(source), "-m", str(MAPPING), "--sandbox", "--out", str(tmp_path / "o")]
    for args in ([*run, "--state", state], ["ledger", "--state", state, "list"]):
        done = subprocess.run(
            [sys.executable, "-c", WITHOUT_DRIVER, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2, done.stderr
        assert "needs the psycopg driver" in done.stderr
        assert "pip install 'importer[postgres]'" in done.stderr


def _open_scope(url: str, start: Any, answers: Any) -> None:
    from importer.record.ledger import scope_opener

    start.wait()
    try:
        scope_opener(url, "https://api.example.com")("acc-1").close()
        answers.put("ok")
    except Exception as error:  # reported to the test, which names it
        answers.put(repr(error))


def test_processes_using_a_new_database_at_once_all_get_in(server: str) -> None:
    """Workers starting together on an empty database: one makes the schema, the others wait
    for it instead of failing on a half-made one."""
    context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    failures = []
    for _ in range(5):
        url = fresh_database(server)
        start, answers = context.Barrier(4), context.Queue()
        processes = [
            context.Process(target=_open_scope, args=(url, start, answers)) for _ in range(4)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        failures += [answer for answer in (answers.get() for _ in processes) if answer != "ok"]
    assert failures == []
