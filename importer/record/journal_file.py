"""The journal's SQLite file: held by one run alone, its commits grouped; and what an
unfinished one holds.

SQLite in WAL mode with ``synchronous=NORMAL``: a commit appends to the WAL without an fsync,
and survives the process dying at any instant (an OS crash or power cut may lose the last
commits). A run holds its journal with an exclusive lock, so two runs can never share one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from importer.errors import ConfigError
from importer.record.ledger import when

JOURNAL_FILE = "journal.sqlite"
JOURNAL_APP_ID = 0x494A4E4C  # "IJNL": tells a journal from a ledger or a stranger
FORMAT_VERSION = 1
# Another run holding the file answers "locked" at once; a short wait rides out a reader.
_BUSY_TIMEOUT = 0.2


class JournalError(ConfigError):
    """The journal cannot be opened or written."""


class Store:
    """A SQLite file held exclusively by this run, with commits grouped per event-loop turn."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._db = db
        self._failure: sqlite3.Error | None = None
        self._unsent = 0
        self._closed = False

    def _write(self, sql: str, params: Sequence[object]) -> None:
        self._write_many(sql, (params,))

    def _write_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self._check()
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.executemany(sql, rows)
        except sqlite3.Error as error:
            self._failure = error
            self._check()

    def commit(self) -> None:
        """Commit what is pending now; a failure is raised by the next write or ``close``."""
        if self._closed or self._failure is not None:
            return
        try:
            self._flush()
            if self._db.in_transaction:
                self._db.execute("COMMIT")
        except sqlite3.Error as error:
            self._failure = error
        self._unsent = 0

    def _flush(self) -> None:
        """Write what waits in memory for the next commit (a store may keep nothing there)."""

    def _check(self) -> None:
        if self._failure is not None:
            # what to do next (fix it, then --resume) is the stopped run's to say, once
            raise JournalError(
                f"cannot write {self.path}: {self._failure} (disk full? permissions?)"
            )

    def close(self) -> None:
        if self._closed:
            return
        self.commit()
        self._closed = True
        self._db.close()
        self._check()


def connect(path: Path, app_id: int, what: str) -> tuple[sqlite3.Connection, bool]:
    """Open ``path`` locked for this run alone; True when it is new (no schema yet)."""
    db: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT)
        # EXCLUSIVE before WAL: no shared-memory index, and the lock taken by the first write
        # below is kept until close, so a second run on the same file fails fast.
        db.execute("PRAGMA locking_mode = EXCLUSIVE")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("BEGIN IMMEDIATE")
        (found_id,) = db.execute("PRAGMA application_id").fetchone()
        (version,) = db.execute("PRAGMA user_version").fetchone()
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        db.execute("COMMIT")
    except sqlite3.OperationalError as error:
        if db is not None:
            db.close()
        if "locked" in str(error) or "busy" in str(error):
            raise JournalError(
                f"{path} is in use by another import right now: wait for it to finish"
                + (", or choose another --out" if what == "journal" else "")
            ) from None
        raise JournalError(f"cannot open the {what} {path}: {error}") from None
    except sqlite3.DatabaseError as error:
        if db is not None:
            db.close()
        raise JournalError(f"{path} is not an importer {what} ({error})") from None
    if tables == 0:
        return db, True
    if found_id != app_id:
        db.close()
        raise JournalError(f"{path} is a SQLite file but not an importer {what}; give another path")
    if version != FORMAT_VERSION:
        db.close()
        raise JournalError(
            f"{path} was written by another version of importer (format {version}, this one "
            f"reads {FORMAT_VERSION}); use another path"
        )
    return db, False


def describe_unfinished(db: sqlite3.Connection) -> tuple[str, int]:
    """``an unfinished run of x.csv (started …: 120 rows done, 100 created, 3 in flight)``,
    and how many rows it may have created (created or in doubt)."""
    run = db.execute("SELECT input, started_at FROM run").fetchone()
    done, created, sending, unknown = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'created'),"
        " count(*) FILTER (WHERE state = 'sending'),"
        " count(*) FILTER (WHERE error_code LIKE '%outcome-unknown%') FROM rows"
    ).fetchone()
    input_name, started = (Path(run[0]).name, when(run[1])) if run else ("?", "?")
    in_doubt = f", {sending} in flight" if sending else ""
    return (
        f"an unfinished run of {input_name} (started {started}: {done - sending} rows done, "
        f"{created} created{in_doubt})",
        created + sending + unknown,
    )


def unfinished_run(out_dir: str | Path) -> str | None:
    """What unfinished run ``out_dir`` holds that may have created candidates, or None."""
    path = Path(out_dir) / JOURNAL_FILE
    if not path.exists():
        return None
    db, new = connect(path, JOURNAL_APP_ID, "journal")
    try:
        if new:
            return None
        (finished,) = db.execute("SELECT finished_at IS NOT NULL FROM run").fetchone() or (True,)
        if finished:
            return None
        description, at_risk = describe_unfinished(db)
        return description if at_risk else None
    finally:
        db.close()
