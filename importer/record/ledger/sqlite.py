"""The ledger in one SQLite file: WAL mode, any number of processes on one machine.

A claim's owner is alive while its process is (checked by pid on this machine) and, for a
file shared with another machine or a process frozen, while it renews its lease.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from importer.record.ledger.claims import ClaimingLedger, Cursor
from importer.record.ledger.model import LedgerError, Scope

_APP_ID = 0x494C4447  # "ILDG": tells a ledger from a journal or a stranger
_VERSION = 1
# Writers queue for the file; a run holding it longer than this is stuck, not busy.
_BUSY_TIMEOUT = 10.0
_CHECKPOINT_PAGES = 10_000
# An owner that has not renewed its lease for this long is taken for dead (another machine
# sharing the file, or a process frozen); on this machine a vanished process is seen at once.
LEASE_SECONDS = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    target TEXT NOT NULL,
    account_id TEXT NOT NULL,
    key_sha256 BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'doubt', 'created')),
    owner TEXT,
    id TEXT,
    remote_id TEXT,
    at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    input TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    row_hash BLOB,
    PRIMARY KEY (target, account_id, key_sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owners (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    renewed REAL NOT NULL
);
"""
# No index besides the key's: every index is more pages written for every row imported (a
# third of the ledger's cost per row), and only the ``ledger`` command, which may take its
# time, reads the entries by time or by run.


class SqliteDatabase:
    """A ledger file's connection, as ``claims.Database``."""

    lock_row = ""  # a write transaction locks the whole file

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._db = _connect(path)

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        return self._db.execute(sql, params)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    def failure(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.Error)

    def retryable(self, error: BaseException) -> bool:
        return False  # writers queue for the file's lock: no two transactions interleave

    def close(self) -> None:
        self._db.close()


def _wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. Two processes opening a new ledger at once race for that switch, and
    SQLite answers the loser "locked" at once, without waiting the busy timeout: so wait here."""
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _connect(path: Path) -> sqlite3.Connection:
    """Open (or make) the ledger at ``path``, shared with any other process."""
    db: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT)
        _wal(db)
        # A commit survives the process dying at any instant; an OS crash may lose the last.
        db.execute("PRAGMA synchronous = NORMAL")
        # Keys are hashes, so each commit dirties about a page per row, all over the file: a
        # checkpoint every 1,000 pages (SQLite's default) copied the same pages back again and
        # again, and took 40 % of a commit's time. The log grows to 40 MB at most instead of 4.
        db.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
        db.execute("BEGIN IMMEDIATE")
        (found_id,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if tables == 0:
            db.execute(f"PRAGMA application_id = {_APP_ID}")
            db.execute(f"PRAGMA user_version = {_VERSION}")
            found_id, version = _APP_ID, _VERSION
        if found_id != _APP_ID:
            raise LedgerError(f"{path} is a SQLite file but not an importer ledger; give another")
        if version != _VERSION:
            raise LedgerError(
                f"{path} was written by another version of importer (format {version}, this "
                f"one reads {_VERSION}); give another file with --state"
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("COMMIT")
    except LedgerError:
        if db is not None:
            db.close()
        raise
    except sqlite3.DatabaseError as error:
        if db is not None:
            db.close()
        raise LedgerError(f"cannot open the ledger {path}: {error}") from None
    except OSError as error:
        raise LedgerError(f"cannot open the ledger {path}: {error.strerror}") from None
    return db


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteLedger(ClaimingLedger):
    """A ``Ledger`` in one SQLite file."""

    def __init__(self, path: str | Path, scope: Scope, *, lease: float = LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.lease = lease
        self._renew_every = lease / 4
        super().__init__(SqliteDatabase(self.path), scope)
        self._host = socket.gethostname()
        self._transaction(self._renew)

    def _renew(self) -> None:
        self._db.execute(
            "INSERT INTO owners VALUES (?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET"
            " renewed = excluded.renewed",
            (self._owner, self._host, os.getpid(), time.time()),
        )
        self._renewed = time.monotonic()

    def _owner_alive(self, owner: str) -> bool:
        found = self._db.execute(
            "SELECT host, pid, renewed FROM owners WHERE owner = ?", (owner,)
        ).fetchone()
        if found is None:
            return False
        host, pid, renewed = found
        if host == self._host and not _alive(pid):
            return False
        return bool(time.time() - renewed < self.lease)
