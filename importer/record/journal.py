"""Safe re-runs: the run's journal, a SQLite file that survives any crash.

The journal (``<out>/journal.sqlite``) records one run: what makes it that run (the input's
bytes, how they were read, the mapping, the target) and, for each row, its key, a hash of its
cells, when it was sent and its outcome. A row is marked ``sending`` and committed before its
request leaves, so whenever the process dies, ``kill -9`` included, each row is either absent
(never sent), ``sending`` (may have been created: look it up before resending) or ``done``.

What outlives runs (the keys of the candidates created, per target and account) is the
ledger's (``importer.record.ledger``).

The journal is SQLite in WAL mode with ``synchronous=NORMAL``: a commit appends to the WAL
without an fsync, and survives the process dying at any instant (an OS crash or power cut may
lose the last commits). One commit a row: a row's mark carries the outcomes of the rows
answered since the last mark, and outcomes wait at most half a second for one. A run holds its
journal with an exclusive lock, so two runs can never share one.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from importer.errors import Code, ConfigError
from importer.read.tables import SourceRow
from importer.record.ledger import now_iso, when
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import join_codes, join_messages

JOURNAL_FILE = "journal.sqlite"
_JOURNAL_APP_ID = 0x494A4E4C  # "IJNL": tells a journal from a ledger or a stranger
_VERSION = 1
# Outcomes of rows that were never sent are derived again on resume, so losing a few to a
# crash is harmless: they share a commit with the next mark, or with this many others.
_UNSENT_BATCH = 1000
# Outcomes of sent rows wait for the next mark's commit, but no longer than this: a crash before
# they are committed leaves their rows ``sending``, and resume would look them up again.
_OUTCOME_DELAY = 0.5
# Another run holding the file answers "locked" at once; a short wait rides out a reader.
_BUSY_TIMEOUT = 0.2

_JOURNAL_SCHEMA = """
CREATE TABLE run (
    id TEXT NOT NULL,
    input TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    reading TEXT NOT NULL,
    mapping TEXT NOT NULL,
    mapping_sha256 TEXT NOT NULL,
    target TEXT NOT NULL,
    account_id TEXT NOT NULL,
    state TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE sessions (
    session INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    stop_reason TEXT
);
CREATE TABLE rows (
    row_number INTEGER PRIMARY KEY,
    key TEXT,
    row_hash BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'done')),
    session INTEGER NOT NULL,
    sent_at TEXT,
    status TEXT,
    http_status INTEGER,
    attempts INTEGER,
    id TEXT,
    remote_id TEXT,
    error_code TEXT,
    error_message TEXT,
    note TEXT
);
"""

_MARK_SENDING = """
INSERT INTO rows (row_number, key, row_hash, state, session, sent_at)
VALUES (?, ?, ?, 'sending', ?, ?)
ON CONFLICT (row_number) DO UPDATE SET
    key = excluded.key, row_hash = excluded.row_hash, state = 'sending',
    session = excluded.session, sent_at = excluded.sent_at, status = NULL, http_status = NULL,
    attempts = NULL, id = NULL, remote_id = NULL, error_code = NULL, error_message = NULL,
    note = NULL
"""

# sent_at is kept: it says when the row's request last left, whatever became of it since.
_RECORD_OUTCOME = """
INSERT INTO rows (row_number, key, row_hash, state, session, status, http_status, attempts, id,
                  remote_id, error_code, error_message, note)
VALUES (?, ?, ?, 'done', ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (row_number) DO UPDATE SET
    key = excluded.key, row_hash = excluded.row_hash, state = 'done',
    session = excluded.session, status = excluded.status, http_status = excluded.http_status,
    attempts = excluded.attempts, id = excluded.id, remote_id = excluded.remote_id,
    error_code = excluded.error_code, error_message = excluded.error_message, note = excluded.note
"""


class JournalError(ConfigError):
    """The journal cannot be opened or written."""


def row_hash(values: Sequence[str]) -> bytes:
    """A 16-byte digest of a row's cells, to tell whether a row has changed."""
    return hashlib.blake2b(orjson.dumps(list(values)), digest_size=16).digest()


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """What makes a resumed run the same run: same bytes, read the same way, same mapping and
    target. ``input``, ``mapping`` and ``state`` are paths kept for messages and the audit."""

    input: str
    input_sha256: str
    reading: str
    mapping: str
    mapping_sha256: str
    target: str
    account_id: str
    state: str | None = None


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One row as an earlier session of the run left it."""

    row_number: int
    key: str | None
    row_hash: bytes
    state: str
    sent_at: str | None
    status: str | None
    http_status: int | None
    attempts: int | None
    id: str | None
    remote_id: str | None
    error_code: str | None

    @property
    def created(self) -> bool:
        return self.state == "done" and self.status == Status.CREATED

    @property
    def in_doubt(self) -> bool:
        """Its create may have happened unseen: in flight at a crash, or ``outcome-unknown``."""
        codes = (self.error_code or "").split(";")
        return self.state == "sending" or Code.OUTCOME_UNKNOWN in codes


class _Store:
    """A SQLite file held exclusively by this run, with commits grouped per event-loop turn."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._db = db
        self._failure: sqlite3.Error | None = None
        self._unsent = 0
        self._closed = False

    def _write(self, sql: str, params: Sequence[object]) -> None:
        self._check()
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.execute(sql, params)
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
            raise JournalError(
                f"cannot write {self.path}: {self._failure}; what was recorded before is safe: "
                "fix the cause (disk full? permissions?) and re-run with --resume"
            )

    def close(self) -> None:
        if self._closed:
            return
        self.commit()
        self._closed = True
        self._db.close()
        self._check()


def _connect(path: Path, app_id: int, what: str) -> tuple[sqlite3.Connection, bool]:
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
    if version != _VERSION:
        db.close()
        raise JournalError(
            f"{path} was written by another version of importer (format {version}, this one "
            f"reads {_VERSION}); use another path"
        )
    return db, False


def _describe_unfinished(db: sqlite3.Connection) -> tuple[str, int]:
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
    db, new = _connect(path, _JOURNAL_APP_ID, "journal")
    try:
        if new:
            return None
        (finished,) = db.execute("SELECT finished_at IS NOT NULL FROM run").fetchone() or (True,)
        if finished:
            return None
        description, at_risk = _describe_unfinished(db)
        return description if at_risk else None
    finally:
        db.close()


class Journal(_Store):
    """One run's journal: ``open`` it, mark each row ``sending`` before its request leaves,
    ``record`` every outcome, ``finish`` it. ``previous`` reads what earlier sessions did."""

    def __init__(
        self,
        db: sqlite3.Connection,
        path: Path,
        *,
        run_id: str,
        session: int,
        resumed: bool,
    ) -> None:
        super().__init__(db, path)
        self.run_id = run_id
        self.session = session
        self.resumed = resumed
        # Outcomes of sent rows, written with the next commit (see ``record``).
        self._outcomes: list[tuple[object, ...]] = []
        self._deadline: asyncio.TimerHandle | None = None

    @classmethod
    def open(
        cls,
        out_dir: str | Path,
        identity: RunIdentity,
        *,
        resume: bool,
        rows: Iterable[SourceRow] = (),
    ) -> Journal:
        """Start a run in ``out_dir``, or with ``resume`` continue the one recorded there.

        Without ``resume``, a finished journal (or one whose run cannot have created anyone)
        is replaced and an unfinished one is refused. With ``resume``, a run of different
        input bytes, reading, mapping or target is refused; ``rows`` (the input as it is now)
        are read only then, to name the first row that differs. ``resume`` with no journal
        starts a new run. Raises ``JournalError`` (a ``ConfigError``: nothing was sent).
        """
        path = Path(out_dir) / JOURNAL_FILE
        db, new = _connect(path, _JOURNAL_APP_ID, "journal")
        try:
            if not new:
                run = db.execute(
                    "SELECT id, input_sha256, reading, mapping_sha256, target, account_id,"
                    " started_at, finished_at, state FROM run"
                ).fetchone()
                if resume and run is not None:
                    _check_same_run(db, run, identity, Path(out_dir), rows)
                    return cls._continue(db, path, run[0])
                if run is not None and run[7] is None:
                    description, at_risk = _describe_unfinished(db)
                    if at_risk:
                        raise JournalError(
                            f"{out_dir} holds {description}: add --resume to continue it, "
                            "or choose another --out"
                        )
                elif run is not None:
                    _refuse_repeat(db, run, identity, Path(out_dir))
            return cls._start(db, path, identity, fresh=new)
        except BaseException:
            db.close()
            raise

    @classmethod
    def _start(
        cls, db: sqlite3.Connection, path: Path, identity: RunIdentity, *, fresh: bool
    ) -> Journal:
        run_id = str(uuid.uuid4())
        db.execute("BEGIN IMMEDIATE")
        if not fresh:
            # One transaction: a crash leaves either the old journal or the new one.
            for table in ("run", "sessions", "rows"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(f"PRAGMA application_id = {_JOURNAL_APP_ID}")
        db.execute(f"PRAGMA user_version = {_VERSION}")
        for statement in _JOURNAL_SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        now = now_iso()
        db.execute(
            "INSERT INTO run VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (
                run_id,
                identity.input,
                identity.input_sha256,
                identity.reading,
                identity.mapping,
                identity.mapping_sha256,
                identity.target,
                identity.account_id,
                identity.state,
                now,
            ),
        )
        db.execute("INSERT INTO sessions (session, started_at) VALUES (1, ?)", (now,))
        db.execute("COMMIT")
        return cls(db, path, run_id=run_id, session=1, resumed=False)

    @classmethod
    def _continue(cls, db: sqlite3.Connection, path: Path, run_id: str) -> Journal:
        db.execute("BEGIN IMMEDIATE")
        (last,) = db.execute("SELECT coalesce(max(session), 0) FROM sessions").fetchone()
        session = last + 1
        db.execute("INSERT INTO sessions (session, started_at) VALUES (?, ?)", (session, now_iso()))
        # Unfinished until this session ends cleanly: rows it sends may end in doubt.
        db.execute("UPDATE run SET finished_at = NULL")
        db.execute("COMMIT")
        return cls(db, path, run_id=run_id, session=session, resumed=True)

    def previous(self, row_number: int) -> JournalRow | None:
        """The row as earlier sessions left it (None when they never reached it)."""
        found = self._db.execute(
            "SELECT row_number, key, row_hash, state, sent_at, status, http_status, attempts,"
            " id, remote_id, error_code FROM rows WHERE row_number = ?",
            (row_number,),
        ).fetchone()
        return None if found is None else JournalRow(*found)

    async def sending(self, row_number: int, key: str | None, digest: bytes) -> None:
        """Mark the row as being sent; returns once that is committed (before the request).

        The commit also carries the outcomes recorded since the last one.
        """
        self._write(_MARK_SENDING, (row_number, key, digest, self.session, now_iso()))
        # Committed at once: a WAL commit without fsync costs less than waiting for the end of
        # the loop turn to share one, which kept every worker a turn behind (bench scenario 3).
        self.commit()
        self._check()

    def record(
        self, outcome: RowOutcome, key: str | None, digest: bytes, *, sent: bool = False
    ) -> None:
        """Record a row's outcome.

        A sent row's outcome shares the next mark's commit, or is committed within
        ``_OUTCOME_DELAY`` seconds (at once outside an event loop); until then a crash leaves
        the row ``sending``, which resume settles by looking it up. Outcomes of rows never sent
        are committed in batches: resume derives them again.
        """
        rejects = outcome.rejects
        codes = messages = None
        if rejects:
            codes, messages = join_codes(rejects) or None, join_messages(rejects) or None
        params = (
            outcome.row_number,
            key,
            digest,
            self.session,
            outcome.status.value,
            outcome.http_status,
            outcome.attempts,
            outcome.id,
            outcome.remote_id,
            codes,
            messages,
            outcome.note,
        )
        if sent:
            self._check()
            self._outcomes.append(params)
            if self._deadline is None:
                self._commit_later()
            return
        self._write(_RECORD_OUTCOME, params)
        self._unsent += 1
        if self._unsent >= _UNSENT_BATCH:
            self.commit()

    def _commit_later(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._deadline = loop.call_later(_OUTCOME_DELAY, self._commit_deadline)

    def _commit_deadline(self) -> None:
        self._deadline = None
        self.commit()

    def _flush(self) -> None:
        if self._outcomes:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            # Cleared first: after a failure nothing is retried, the next write raises.
            outcomes, self._outcomes = self._outcomes, []
            self._db.executemany(_RECORD_OUTCOME, outcomes)

    def close(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().close()

    def finish(self, stop_reason: str | None) -> None:
        """End this session; the run is finished unless it stopped early (``stop_reason``)."""
        now = now_iso()
        self._write(
            "UPDATE sessions SET ended_at = ?, stop_reason = ? WHERE session = ?",
            (now, stop_reason, self.session),
        )
        if stop_reason is None:
            self._write("UPDATE run SET finished_at = ?", (now,))
        self.commit()
        self._check()


def _refuse_repeat(
    db: sqlite3.Connection, run: tuple[str, ...], identity: RunIdentity, out_dir: Path
) -> None:
    """The same file into the same account again, with nothing to skip what it created."""
    _, input_sha, _, _, target, account_id, started, _, _ = run
    same = (input_sha, target, account_id) == (
        identity.input_sha256,
        identity.target,
        identity.account_id,
    )
    # A --sandbox run starts an empty sandbox, and --state skips what was created before.
    if not same or target == "sandbox" or identity.state is not None:
        return
    (created,) = db.execute("SELECT count(*) FROM rows WHERE status = 'created'").fetchone()
    if created:
        raise JournalError(
            f"{out_dir} holds a finished run of this same file into the same account "
            f"({when(started)}), which created {created} candidates: running it again would "
            "create them again. Add --resume to send only the rows it did not create, or "
            "choose another --out"
        )


def _check_same_run(
    db: sqlite3.Connection,
    run: tuple[str, ...],
    identity: RunIdentity,
    out_dir: Path,
    rows: Iterable[SourceRow],
) -> None:
    _, input_sha, reading, mapping_sha, target, account_id, started, _, state = run
    since = f"since the run in {out_dir} started ({when(started)})"
    keep = (
        "--resume only continues a run with the same file and mapping: put the original back "
        "to finish that run, or start a new one with another --out"
    )
    if state:
        keep += f" (pass --state {state} again so that rows it created are skipped)"
    if input_sha != identity.input_sha256:
        where = _first_difference(db, rows)
        raise JournalError(f"{identity.input} has changed {since}{where}; {keep}")
    if reading != identity.reading:
        raise JournalError(
            f"{identity.input} would be read differently than {since} (then: {reading}; now: "
            f"{identity.reading}); pass the same --sheet, --encoding and --header-row"
        )
    if mapping_sha != identity.mapping_sha256:
        raise JournalError(f"the mapping {identity.mapping} has changed {since}; {keep}")
    if (target, account_id) != (identity.target, identity.account_id):
        raise JournalError(
            f"the run in {out_dir} imports into {target} (account {account_id}), this one into "
            f"{identity.target} (account {identity.account_id}); --resume must use the same "
            "--base-url (or --sandbox) and --account-id"
        )


def _first_difference(db: sqlite3.Connection, rows: Iterable[SourceRow]) -> str:
    recorded = db.execute("SELECT row_number, row_hash FROM rows ORDER BY row_number")
    known = dict(recorded.fetchall())
    for row in rows:
        digest = known.get(row.row_number)
        if digest is not None and digest != row_hash(row.values):
            return f" (row {row.row_number} is not what it was)"
    return " (rows were added, removed or changed after the rows it reached)"
