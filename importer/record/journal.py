"""Safe re-runs: the run's journal, a SQLite file that survives any crash.

The journal (``<out>/journal.sqlite``) records one run: what makes it that run (the input's
bytes, how they were read, the mapping, the target) and, for each row, its key, a hash of its
cells, when it was sent and its outcome. A row is marked ``sending`` and committed before its
request leaves, so whenever the process dies, ``kill -9`` included, each row is either absent
(never sent), ``sending`` (may have been created: look it up before resending) or ``done``.

What outlives runs (the keys of the candidates created, per target and account) is the
ledger's (``importer.record.ledger``).

One commit a row: a row's mark carries the outcomes of the rows answered since the last mark,
and outcomes wait at most half a second for one. The file itself (a SQLite file one run holds
alone) is ``journal_file``'s; what makes a run that run is ``run_identity``'s.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from importer.errors import Code
from importer.read.tables import SourceRow
from importer.record.journal_file import (
    FORMAT_VERSION,
    JOURNAL_APP_ID,
    JOURNAL_FILE,
    JournalError,
    Store,
    connect,
    describe_unfinished,
)
from importer.record.ledger import Imported, now_iso
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import join_codes, join_messages
from importer.record.run_identity import (
    RunIdentity,
    check_same_run,
    created_unremembered,
    refuse_repeat,
)

# Outcomes of rows that were never sent are derived again on resume, so losing a few to a
# crash is harmless: they share a commit with the next mark, or with this many others.
_UNSENT_BATCH = 1000
# Outcomes of sent rows wait for the next mark's commit, but no longer than this: a crash before
# they are committed leaves their rows ``sending``, and resume would look them up again.
_OUTCOME_DELAY = 0.5

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


class Journal(Store):
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
        # Rows marked with an earlier row's commit and not sent yet (see ``sending``).
        self._ahead: set[int] = set()

    @classmethod
    def open(
        cls,
        out_dir: str | Path,
        identity: RunIdentity,
        *,
        resume: bool,
        rows: Iterable[SourceRow] = (),
        remember: Callable[[list[tuple[str, Imported]]], None] | None = None,
    ) -> Journal:
        """Start a run in ``out_dir``, or with ``resume`` continue the one recorded there.

        Without ``resume``, a finished journal (or one whose run cannot have created anyone)
        is replaced and an unfinished one is refused. ``remember`` (the run's ledger) is told,
        before a finished journal is replaced, of the candidates its run created that it
        cannot hold (``created_unremembered``). With ``resume``, a run of different
        input bytes, reading, mapping or target is refused; ``rows`` (the input as it is now)
        are read only then, to name the first row that differs. ``resume`` with no journal
        starts a new run. Raises ``JournalError`` (a ``ConfigError``: nothing was sent).
        """
        path = Path(out_dir) / JOURNAL_FILE
        db, new = connect(path, JOURNAL_APP_ID, "journal")
        try:
            if not new:
                run = db.execute(
                    "SELECT id, input_sha256, reading, mapping_sha256, target, account_id,"
                    " started_at, finished_at, state FROM run"
                ).fetchone()
                if resume and run is not None:
                    check_same_run(db, run, identity, Path(out_dir), rows)
                    return cls._continue(db, path, run[0])
                if run is not None and run[7] is None:
                    description, at_risk = describe_unfinished(db)
                    if at_risk:
                        raise JournalError(
                            f"{out_dir} holds {description}: add --resume to continue it, "
                            "or choose another --out"
                        )
                elif run is not None:
                    refuse_repeat(db, run, identity, Path(out_dir))
                    if remember is not None:
                        remember(created_unremembered(db, run, identity))
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
        db.execute(f"PRAGMA application_id = {JOURNAL_APP_ID}")
        db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
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

    def marked(self, row_number: int) -> bool:
        """Whether the row was marked ahead, with an earlier row's commit."""
        return row_number in self._ahead

    async def sending(
        self,
        row_number: int,
        key: str | None,
        digest: bytes,
        ahead: Sequence[tuple[int, str | None, bytes]] = (),
    ) -> None:
        """Mark the row as being sent; returns once that is committed (before the request).

        ``ahead`` are rows queued behind it, marked in the same commit so that their own turn
        needs none: a commit costs more than the rows in it. A crash before they are sent
        leaves them ``sending`` like a row in flight, so only rows that resume can look up
        belong there. The commit also carries the outcomes recorded since the last one.
        """
        if row_number in self._ahead:
            self._ahead.discard(row_number)
            self._check()
            return
        now = now_iso()
        marks = [(row_number, key, digest, self.session, now)]
        for queued, queued_key, queued_digest in ahead:
            if queued not in self._ahead and queued != row_number:
                marks.append((queued, queued_key, queued_digest, self.session, now))
                self._ahead.add(queued)
        self._write_many(_MARK_SENDING, marks)
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
        # marked ahead but not sent (skipped, stopped): the outcome replaces the mark
        self._ahead.discard(outcome.row_number)
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
