"""The ledger: every candidate the importer created, per API base and account, across runs.

StackOne has no idempotency key, so the ledger is what keeps a second import of the same file
(a double click, a cron line run again by hand, a fixed ``rejects.csv``) from creating the same
people twice. An import asks it about each row's key before sending, and tells it what became
of every row it sent.

Several processes may share one ledger at once (two cron jobs, the web page's workers), so
"is the key there?" and "create it" cannot be two steps. Each key goes through::

    (absent) --claim--> claimed --created--> created
                           |  \\--release--> (absent)       answered, not created
                           \\--in_doubt----> doubt          sent, no answer: may exist

A claim is committed before the request leaves. Another process that wants the same key
waits while the claim's owner is alive, then skips the row (created) or claims it itself
(released). A claim left ``doubt``, or whose owner died (its process is gone from this
machine, or it stopped renewing its lease), is taken over with ``in_doubt=True``: look the
candidate up before creating it.

Keys are stored as SHA-256 digests, never as typed: the ledger is a file in the user's data
folder that outlives every run, and it need not list anyone's e-mail address to do its job;
a key in hand can still be looked up (``importer ledger find``). The ledger holds no API key.

``Ledger`` is what an import needs; ``SqliteLedger`` keeps it in one SQLite file (WAL mode,
any number of processes on one machine). ``LedgerFile`` is the whole file, for the ``ledger``
command: recent imports, find a key, forget, export.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, Protocol, TypeVar

import platformdirs

from importer.errors import ConfigError

DATA_DIR_ENV = "IMPORTER_DATA_DIR"
"""Where the per-user ledgers live instead of the platform's data folder (tests set it)."""
LEDGER_FILE = "ledger.sqlite"
WEB_LEDGER_FILE = "web-ledger.sqlite"
_APP_ID = 0x494C4447  # "ILDG": tells a ledger from a journal or a stranger
_VERSION = 1
# Writers queue for the file; a run holding it longer than this is stuck, not busy.
_BUSY_TIMEOUT = 10.0
# An owner that has not renewed its lease for this long is taken for dead (another machine
# sharing the file, or a process frozen); on this machine a vanished process is seen at once.
LEASE_SECONDS = 60.0
_RENEW_EVERY = LEASE_SECONDS / 4
# How often a row waits for another live process to finish the same key.
_WAIT_POLL = 0.1

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
_ENTRY_COLUMNS = "id, remote_id, at, run_id, input, row_number, row_hash"


_T = TypeVar("_T")


class LedgerError(ConfigError):
    """The ledger cannot be opened or written (nothing more is sent)."""


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else platformdirs.user_data_path("importer")


def default_ledger_path() -> Path:
    """The per-user ledger of the command line and the Python API."""
    return default_data_dir() / LEDGER_FILE


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def when(timestamp: str) -> str:
    """``2026-11-28T19:30:01.123+00:00`` → ``2026-11-28 19:30 UTC`` for messages."""
    return f"{timestamp[:10]} {timestamp[11:16]} UTC"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose candidates: an API base (or a sandbox) and an account. Never shared across them."""

    target: str
    account_id: str


@dataclass(frozen=True, slots=True)
class Imported:
    """A candidate created by an import, as the ledger remembers it."""

    id: str | None
    remote_id: str | None
    created_at: str
    run_id: str
    input: str
    row_number: int
    row_hash: bytes | None = None

    def describe(self) -> str:
        """``on 2026-11-28 19:30 UTC as 6f1c… (row 7 of candidates.csv)``."""
        what = self.id or (f"remote id {self.remote_id}" if self.remote_id else "(no id returned)")
        return (
            f"on {when(self.created_at)} as {what} "
            f"(row {self.row_number} of {Path(self.input).name})"
        )


@dataclass(frozen=True, slots=True)
class Granted:
    """The key is this run's to create. ``in_doubt``: an earlier attempt may have created it
    unseen (sent without an answer, or its process died): look it up before creating it."""

    in_doubt: bool = False


@dataclass(frozen=True, slots=True)
class Claimant:
    """Who is sending a key: this run's id, file and row, for the entry and for messages."""

    run_id: str
    input: str
    row_number: int
    row_hash: bytes | None = None


class Ledger(Protocol):
    """One scope of a ledger, as an import uses it. Every method is safe against other
    processes using the same ledger at the same time."""

    @property
    def location(self) -> str:
        """Where it is kept, for messages and summary.json (a path; never a password)."""
        ...

    def get(self, key: str) -> Imported | None:
        """The candidate created with this key, or None (claims do not count)."""
        ...

    async def claim(
        self, key: str, claimant: Claimant, *, replace: bool = False
    ) -> Granted | Imported:
        """Reserve ``key`` for sending, committed before this returns; waits while another
        live process holds it. ``Imported`` when it was created meanwhile (unless
        ``replace``, which grants a created key so that it can be created again)."""
        ...

    def created(self, key: str, imported: Imported) -> None:
        """The key's candidate now exists (a claim is not needed: resume records this too)."""
        ...

    def in_doubt(self, key: str) -> None:
        """Sent without an answer: the next claim must look the candidate up first."""
        ...

    def release(self, key: str) -> None:
        """Answered and not created: the key is free again."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of the ledger, for the ``ledger`` command."""

    target: str
    account_id: str
    key_sha256: str
    state: str
    imported: Imported


@dataclass(frozen=True, slots=True)
class RunEntries:
    """One import as the ledger saw it: its file, target, account and how many it created."""

    run_id: str
    input: str
    target: str
    account_id: str
    first: str
    last: str
    created: int


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


class SqliteLedger:
    """A ``Ledger`` in one SQLite file. The claims and outcomes of one event-loop turn are
    committed together at its end (outcomes at once outside a loop); a claim returns once its
    commit is done."""

    def __init__(self, path: str | Path, scope: Scope, *, lease: float = LEASE_SECONDS) -> None:
        self.path = Path(path)
        self.scope = scope
        self.lease = lease
        self._db = _connect(self.path)
        self._owner = uuid.uuid4().hex
        self._host = socket.gethostname()
        self._renewed = 0.0
        self._due = False
        self._pending: list[tuple[str, tuple[object, ...]]] = []
        self._claims: list[tuple[_Claim, asyncio.Future[Granted | Imported | None]]] = []
        self._failure: LedgerError | None = None
        self._renewal: asyncio.TimerHandle | None = None
        self._closed = False
        self._transaction(self._renew)

    @property
    def location(self) -> str:
        return str(self.path)

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> Imported | None:
        found = self._db.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM entries"
            " WHERE target = ? AND account_id = ? AND key_sha256 = ? AND state = 'created'",
            (self.scope.target, self.scope.account_id, key_digest(key)),
        ).fetchone()
        return None if found is None else Imported(*found)

    # -- claiming --------------------------------------------------------------------------

    async def claim(
        self, key: str, claimant: Claimant, *, replace: bool = False
    ) -> Granted | Imported:
        while True:
            outcome = await self._claim_soon(_Claim(key, claimant, replace))
            if outcome is not None:
                self._keep_renewing()
                return outcome
            await asyncio.sleep(_WAIT_POLL)

    def _claim_soon(self, claim: _Claim) -> asyncio.Future[Granted | Imported | None]:
        """Claims made in one event-loop turn share a transaction with the outcomes recorded
        in it: its commit (file locks and a WAL write) costs more than the rows in it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Granted | Imported | None] = loop.create_future()
        self._claims.append((claim, future))
        self._commit_soon(loop)
        return future

    def commit(self) -> None:
        """Write and commit what is queued: outcomes, then claims."""
        self._due = False
        if self._closed or not (self._pending or self._claims):
            return
        claims, self._claims = self._claims, []
        try:
            results = self._transaction(
                lambda: [self._try_claim(c.key, c.claimant, c.replace) for c, _ in claims]
            )
        except LedgerError as error:
            # raised again by the next claim or write, and by close
            self._failure = error
            for _, future in claims:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(claims, results, strict=True):
            if not future.done():
                future.set_result(result)

    def _try_claim(self, key: str, claimant: Claimant, replace: bool) -> Granted | Imported | None:
        """One attempt inside a write transaction; None while a live owner holds the key."""
        where = (self.scope.target, self.scope.account_id, key_digest(key))
        # Most keys are new: one statement claims them, a look at the entry only when it exists.
        inserted = self._db.execute(
            "INSERT INTO entries (target, account_id, key_sha256, state, owner, at, run_id,"
            " input, row_number, row_hash) VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (*where, self._owner, now_iso(), *_claimant(claimant)),
        )
        if inserted.rowcount == 1:
            return Granted()
        found = self._db.execute(
            f"SELECT state, owner, {_ENTRY_COLUMNS} FROM entries"
            " WHERE target = ? AND account_id = ? AND key_sha256 = ?",
            where,
        ).fetchone()
        state, owner = found[0], found[1]
        if state == "created":
            # A replaced key keeps its entry until the new candidate exists.
            return Granted() if replace else Imported(*found[2:])
        if state == "claimed" and (owner == self._owner or self._owner_alive(owner)):
            return None if owner != self._owner else Granted()
        self._db.execute(
            "UPDATE entries SET state = 'claimed', owner = ?, at = ?, run_id = ?, input = ?,"
            " row_number = ?, row_hash = ? WHERE target = ? AND account_id = ? AND key_sha256 = ?",
            (self._owner, now_iso(), *_claimant(claimant), *where),
        )
        return Granted(in_doubt=True)

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

    # -- settling --------------------------------------------------------------------------

    def created(self, key: str, imported: Imported) -> None:
        self._write(
            "INSERT INTO entries (target, account_id, key_sha256, state, owner, id, remote_id,"
            " at, run_id, input, row_number, row_hash)"
            " VALUES (?, ?, ?, 'created', NULL, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (target, account_id, key_sha256) DO UPDATE SET state = 'created',"
            " owner = NULL, id = excluded.id, remote_id = excluded.remote_id, at = excluded.at,"
            " run_id = excluded.run_id, input = excluded.input,"
            " row_number = excluded.row_number, row_hash = excluded.row_hash",
            (
                self.scope.target,
                self.scope.account_id,
                key_digest(key),
                imported.id,
                imported.remote_id,
                imported.created_at,
                imported.run_id,
                imported.input,
                imported.row_number,
                imported.row_hash,
            ),
        )

    def in_doubt(self, key: str) -> None:
        self._write(
            "UPDATE entries SET state = 'doubt', owner = NULL"
            " WHERE target = ? AND account_id = ? AND key_sha256 = ? AND owner = ?",
            (self.scope.target, self.scope.account_id, key_digest(key), self._owner),
        )

    def release(self, key: str) -> None:
        self._write(
            "DELETE FROM entries"
            " WHERE target = ? AND account_id = ? AND key_sha256 = ? AND owner = ?",
            (self.scope.target, self.scope.account_id, key_digest(key), self._owner),
        )

    # -- transactions ----------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        """Queue a write for the next commit: the file stays unlocked for other processes
        until then."""
        self._check_open()
        self._pending.append((sql, params))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._commit_soon(loop)

    def _commit_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._due:
            self._due = True
            loop.call_soon(self.commit)

    def _transaction(self, work: Callable[[], _T]) -> _T:
        """The queued writes and ``work`` in one write transaction, committed."""
        self._check_open()
        pending, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN IMMEDIATE")
            for sql, params in pending:
                self._db.execute(sql, params)
            if time.monotonic() - self._renewed > _RENEW_EVERY:
                self._renew()
            result = work()
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            self._fail(error)
        return result

    def _renew(self) -> None:
        self._db.execute(
            "INSERT INTO owners VALUES (?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET"
            " renewed = excluded.renewed",
            (self._owner, self._host, os.getpid(), time.time()),
        )
        self._renewed = time.monotonic()

    def _keep_renewing(self) -> None:
        """While an event loop runs, renew the lease even when no row is claimed for a while
        (every worker waiting out a Retry-After)."""
        if self._renewal is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._renewal = loop.call_later(_RENEW_EVERY, self._renew_now)

    def _renew_now(self) -> None:
        self._renewal = None
        if self._closed:
            return
        self._transaction(self._renew)
        self._keep_renewing()

    def _fail(self, error: sqlite3.Error) -> NoReturn:
        if self._db.in_transaction:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
        raise LedgerError(
            f"cannot write the ledger {self.path}: {error}; the rows recorded before are "
            "safe: fix the cause (disk full? permissions?) and re-run with --resume"
        ) from None

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise LedgerError(f"the ledger {self.path} is closed")

    def close(self) -> None:
        """Commit, give up this process's live claims (left in doubt), and close."""
        if self._closed:
            return
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        try:
            # A claim still held here was never settled: the process is ending, so whoever
            # needs the key next must look the candidate up first.
            self._write(
                "UPDATE entries SET state = 'doubt', owner = NULL WHERE owner = ?", (self._owner,)
            )
            self._write("DELETE FROM owners WHERE owner = ?", (self._owner,))
            self._transaction(lambda: None)
        finally:
            self._closed = True
            self._db.close()


@dataclass(frozen=True, slots=True)
class _Claim:
    key: str
    claimant: Claimant
    replace: bool


def _claimant(claimant: Claimant) -> tuple[object, ...]:
    return (claimant.run_id, claimant.input, claimant.row_number, claimant.row_hash)


class LedgerFile:
    """A whole ledger file, every scope: what the ``ledger`` command shows and changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = _connect(self.path)

    def __enter__(self) -> LedgerFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()

    def recent(self, limit: int = 20) -> list[RunEntries]:
        """The latest imports that created candidates, newest first."""
        rows = self._db.execute(
            "SELECT run_id, input, target, account_id, min(at), max(at), count(*) FROM entries"
            " WHERE state = 'created' GROUP BY run_id, input, target, account_id"
            " ORDER BY max(at) DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RunEntries(*row) for row in rows]

    def find(self, key: str) -> list[Entry]:
        """Every scope's entry for ``key`` (as typed; an e-mail in any case)."""
        digests = {key_digest(key.strip()), key_digest(key.strip().casefold())}
        marks = ", ".join("?" for _ in digests)
        return list(self._entries(f"WHERE key_sha256 IN ({marks}) ORDER BY at", tuple(digests)))

    def entries(self) -> Iterator[Entry]:
        return self._entries("ORDER BY at", ())

    def _entries(self, clause: str, params: tuple[object, ...]) -> Iterator[Entry]:
        cursor = self._db.execute(
            f"SELECT target, account_id, key_sha256, state, {_ENTRY_COLUMNS} FROM entries {clause}",
            params,
        )
        for target, account_id, digest, state, *imported in cursor:
            yield Entry(target, account_id, digest.hex(), state, Imported(*imported))

    def forget(self, entries: list[Entry]) -> int:
        """Delete these entries (found by ``find``): their keys can be imported again."""
        self._db.execute("BEGIN IMMEDIATE")
        for entry in entries:
            self._db.execute(
                "DELETE FROM entries WHERE target = ? AND account_id = ? AND key_sha256 = ?",
                (entry.target, entry.account_id, bytes.fromhex(entry.key_sha256)),
            )
        self._db.execute("COMMIT")
        return len(entries)

    def forget_run(self, run_id: str) -> int:
        """Delete what one import created (``recent`` lists their ids)."""
        self._db.execute("BEGIN IMMEDIATE")
        deleted = self._db.execute(
            "DELETE FROM entries WHERE run_id = ? AND state = 'created'", (run_id,)
        ).rowcount
        self._db.execute("COMMIT")
        return deleted
