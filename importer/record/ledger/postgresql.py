"""The ledger in PostgreSQL, for importers on several machines sharing one (``--state
postgresql://...``).

A claim's owner is alive while its database session is. Each ledger takes a session-level
advisory lock when it opens, named in its ``owners`` row, and PostgreSQL drops the lock the
moment the session ends: a process killed (``kill -9`` included) closes its socket, and a
machine that vanishes is cut off by the keepalives set on the session. A pid means nothing on
another machine, and a lease would need renewing on time: a process stalled past it (a laptop
asleep, a long pause) could wake up and send a key that another had taken over meanwhile. A
session cannot outlive its lock, so a claim is only taken over once its owner can no longer
commit anything, and nothing has to be renewed.

The tables live in their own schema, ``importer_ledger``, so they cannot collide with a
database's own; it is made on first use (with the CREATE privilege on the database), under a
transaction-level advisory lock so that importers starting together do not race to make it.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Sequence
from contextlib import suppress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from importer.record.ledger.claims import ClaimingLedger, Cursor
from importer.record.ledger.model import LedgerError, Scope, now_iso

_SCHEMA_NAME = "importer_ledger"
_VERSION = 1
# The first key of every advisory lock the importer takes ("ILDG"); the second is 0 for making
# the schema, or an owner's own.
_LOCK_CLASS = 0x494C4447
# How soon the server drops the session of a machine that stopped answering (and with it its
# claims), and the client gives up on a server that did: seconds.
_KEEPALIVE_IDLE, _KEEPALIVE_INTERVAL, _KEEPALIVE_COUNT = 15, 5, 3
_CONNECT_TIMEOUT = 10

_SCHEMA = f"""
CREATE SCHEMA IF NOT EXISTS {_SCHEMA_NAME};
CREATE TABLE IF NOT EXISTS {_SCHEMA_NAME}.meta (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS {_SCHEMA_NAME}.entries (
    target TEXT NOT NULL,
    account_id TEXT NOT NULL,
    key_sha256 BYTEA NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'doubt', 'created')),
    owner TEXT,
    id TEXT,
    remote_id TEXT,
    at TEXT NOT NULL,
    run_id TEXT NOT NULL,
    input TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    row_hash BYTEA,
    PRIMARY KEY (target, account_id, key_sha256)
);
CREATE TABLE IF NOT EXISTS {_SCHEMA_NAME}.owners (
    owner TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    lock_key INTEGER NOT NULL,
    since TEXT NOT NULL
)
"""


def safe_location(url: str) -> str:
    """The URL without its password, for messages, summary.json and the journal."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    host = f"{user}@{netloc[2]}" if netloc[1] else netloc[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


class PostgresDatabase:
    """A connection to the ledger's database, as ``claims.Database``, shared by the scopes of
    one run (``use`` and ``close`` count them): one session however many accounts it routes."""

    lock_row = " FOR UPDATE"

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = safe_location(url)
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._users = 0
        self._statements: dict[str, str] = {}

    def use(self) -> PostgresDatabase:
        if self._conn is None:
            self._conn = _connect(self.url, self.location)
        self._users += 1
        return self

    @property
    def connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None:
            raise LedgerError(f"the ledger {self.location} is closed")
        return self._conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        # The statements are written once for both engines, in SQLite's placeholder style.
        statement = self._statements.get(sql)
        if statement is None:
            statement = self._statements[sql] = sql.replace("?", "%s")
        return self.connection.execute(statement, params)

    def begin(self) -> None:
        self.connection.execute("BEGIN")

    def commit(self) -> None:
        self.connection.execute("COMMIT")

    def rollback(self) -> None:
        with suppress(psycopg.Error):
            self.connection.execute("ROLLBACK")

    def failure(self, error: BaseException) -> bool:
        return isinstance(error, psycopg.Error)

    def retryable(self, error: BaseException) -> bool:
        # Two importers' transactions waiting on each other's rows: the server aborts one.
        return isinstance(
            error, psycopg.errors.DeadlockDetected | psycopg.errors.SerializationFailure
        )

    def close(self) -> None:
        self._users -= 1
        if self._users <= 0 and self._conn is not None:
            self._conn.close()
            self._conn = None


def _connect(url: str, location: str) -> psycopg.Connection[tuple[object, ...]]:
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT,
            keepalives=1,
            keepalives_idle=_KEEPALIVE_IDLE,
            keepalives_interval=_KEEPALIVE_INTERVAL,
            keepalives_count=_KEEPALIVE_COUNT,
        )
    except psycopg.Error as error:
        raise LedgerError(f"cannot reach the ledger {location}: {_first_line(error)}") from None
    try:
        _prepare(conn, location)
    except LedgerError:
        conn.close()
        raise
    except psycopg.Error as error:
        conn.close()
        raise LedgerError(f"cannot open the ledger {location}: {_first_line(error)}") from None
    return conn


def _prepare(conn: psycopg.Connection[tuple[object, ...]], location: str) -> None:
    """Make the schema if it is missing, check its version, and set up the session."""
    for setting, value in (
        ("tcp_keepalives_idle", _KEEPALIVE_IDLE),
        ("tcp_keepalives_interval", _KEEPALIVE_INTERVAL),
        ("tcp_keepalives_count", _KEEPALIVE_COUNT),
        ("tcp_user_timeout", 1000 * _KEEPALIVE_IDLE * 2),
    ):
        conn.execute(f"SET {setting} = {value}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_CLASS,))
        for statement in _SCHEMA.split(";"):
            conn.execute(statement)
        found = conn.execute(f"SELECT version FROM {_SCHEMA_NAME}.meta").fetchone()
        if found is None:
            conn.execute(f"INSERT INTO {_SCHEMA_NAME}.meta VALUES (%s)", (_VERSION,))
        elif found[0] != _VERSION:
            raise LedgerError(
                f"the ledger {location} was written by another version of importer (format "
                f"{found[0]}, this one reads {_VERSION}); give another database with --state"
            )
    conn.execute(f"SET search_path = {_SCHEMA_NAME}")


def _first_line(error: psycopg.Error) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class PostgresLedger(ClaimingLedger):
    """A ``Ledger`` in a PostgreSQL database (a URL, or a run's shared connection)."""

    def __init__(self, where: str | PostgresDatabase, scope: Scope) -> None:
        db = PostgresDatabase(where) if isinstance(where, str) else where
        super().__init__(db.use(), scope)
        self._pg = db
        try:
            self._lock_key = self._lock()
            self._transaction(self._register)
        except BaseException:
            self._closed = True
            self._disconnect()
            raise

    def _lock(self) -> int:
        """Take this owner's advisory lock (a free second key drawn at random)."""
        while True:
            key = secrets.randbelow(2**31 - 2) + 1
            try:
                got = self._pg.connection.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, key)
                ).fetchone()
            except psycopg.Error as error:
                self._fail(error)
            if got is not None and got[0]:
                return key

    def _register(self) -> None:
        # An owner that died with this key left its row: it must not look alive.
        self._db.execute("DELETE FROM owners WHERE lock_key = ?", (self._lock_key,))
        self._db.execute(
            "INSERT INTO owners (owner, host, pid, lock_key, since) VALUES (?, ?, ?, ?, ?)",
            (self._owner, socket.gethostname(), os.getpid(), self._lock_key, now_iso()),
        )

    def _owner_alive(self, owner: str) -> bool:
        found = self._db.execute("SELECT lock_key FROM owners WHERE owner = ?", (owner,)).fetchone()
        if found is None:
            return False
        (held,) = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = ?::bigint::oid AND objid = ?::bigint::oid AND objsubid = 2)",
            (_LOCK_CLASS, found[0]),
        ).fetchone()
        return bool(held)

    def _disconnect(self) -> None:
        if hasattr(self, "_lock_key"):
            with suppress(psycopg.Error, LedgerError):
                self._pg.connection.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, self._lock_key)
                )
        self._db.close()
