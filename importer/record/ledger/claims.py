"""Claims: the key-by-key state machine every ledger back end shares, in batched transactions.

A back end gives a ``Database`` (its connection, spoken to in SQLite's ``?`` placeholder
style) and says how a claim's owner is told alive from dead; everything else, the SQL of the
state machine and the grouping of claims and outcomes into few commits, is here once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any, NoReturn, Protocol, TypeVar

from importer.record.ledger.model import (
    Claimant,
    Granted,
    Imported,
    LedgerError,
    Scope,
    key_digest,
    now_iso,
)

# How often a row waits for another live process to finish the same key.
_WAIT_POLL = 0.1
# A transaction the database aborted to break a deadlock between two importers is run again.
_RETRIES = 5
# Outcomes wait this long for a claim's commit to share before committing on their own. Until
# then a crash leaves the key claimed by a dead process, which the next import takes over in
# doubt and looks up: nothing is created twice, and another process waiting for the key polls
# every ``_WAIT_POLL`` anyway.
_OUTCOME_DELAY = 0.05

ENTRY_COLUMNS = "id, remote_id, at, run_id, input, row_number, row_hash"

_T = TypeVar("_T")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """A ledger's connection, whatever the engine."""

    location: str
    """For messages and summary.json: a path or a URL, never a password."""
    lock_row: str
    """What a SELECT needs to lock the row it reads until the transaction ends."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor: ...

    def begin(self) -> None:
        """Start a write transaction."""

    def commit(self) -> None: ...

    def rollback(self) -> None:
        """Abandon the transaction, if one is open; never raises."""

    def failure(self, error: BaseException) -> bool:
        """Whether ``error`` is this engine's (to report as a ledger error)."""
        ...

    def retryable(self, error: BaseException) -> bool:
        """Whether the transaction failed only for racing another one (run it again)."""
        ...

    def close(self) -> None: ...


class ClaimingLedger:
    """A ``Ledger`` over a ``Database``. A claim commits at once, with the claims of the rows
    queued behind it (``ahead``) and the outcomes recorded since the last commit; outcomes
    alone commit within ``_OUTCOME_DELAY`` (at once outside a loop). Subclasses say who owns
    a claim and whether that owner is alive."""

    # Renewed every ``_renew_every`` seconds while the process lives (None: never needed).
    _renew_every: float | None = None

    def __init__(self, db: Database, scope: Scope) -> None:
        self.scope = scope
        self._db = db
        self._owner = uuid.uuid4().hex
        self._renewed = 0.0
        self._due: asyncio.TimerHandle | None = None
        self._pending: list[tuple[str, tuple[object, ...]]] = []
        # Keys claimed ahead for rows queued behind the one being claimed, and their answers.
        self._ahead: dict[str, Granted | Imported] = {}
        self._waiting = 0
        self._failure: LedgerError | None = None
        self._renewal: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def location(self) -> str:
        return self._db.location

    # -- owners: the back end's ------------------------------------------------------------

    def _renew(self) -> None:
        """Say, inside a transaction, that this owner is alive."""
        raise NotImplementedError

    def _owner_alive(self, owner: str) -> bool:
        raise NotImplementedError

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str) -> Imported | None:
        found = self._db.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries"
            " WHERE target = ? AND account_id = ? AND key_sha256 = ? AND state = 'created'",
            (self.scope.target, self.scope.account_id, key_digest(key)),
        ).fetchone()
        return None if found is None else Imported(*found)

    # -- claiming --------------------------------------------------------------------------

    async def claim(
        self,
        key: str,
        claimant: Claimant,
        *,
        replace: bool = False,
        ahead: Iterable[tuple[str, Claimant]] = (),
    ) -> Granted | Imported:
        answer = self._ahead.pop(key, None)
        if answer is not None:
            return answer
        # No claims ahead while a row waits for another process (see _give_back_ahead), nor
        # after waiting: the rows queued then may be in flight now, their keys this process's.
        if self._waiting:
            ahead = ()
        while True:
            answer = self._claim_now(key, claimant, replace, ahead)
            if answer is not None:
                self._keep_renewing()
                return answer
            ahead = ()
            self._give_back_ahead()
            self._waiting += 1
            try:
                await asyncio.sleep(_WAIT_POLL)
            finally:
                self._waiting -= 1

    def _claim_now(
        self,
        key: str,
        claimant: Claimant,
        replace: bool,
        ahead: Iterable[tuple[str, Claimant]],
    ) -> Granted | Imported | None:
        """Claim ``key`` and the keys ``ahead`` in one transaction, committed before this
        returns: a commit costs more than the rows in it, and waiting for the end of the
        event-loop turn to share one kept every worker a turn behind."""
        wanted = {key: claimant}
        for queued, queued_claimant in ahead:
            if queued not in self._ahead:
                wanted.setdefault(queued, queued_claimant)
        digests = {k: key_digest(k) for k in wanted}
        # One order for every process: two transactions claiming the same keys wait for each
        # other instead of deadlocking.
        ordered = sorted(wanted, key=digests.__getitem__)
        at = now_iso()
        try:
            answers = self._transaction(
                lambda: {k: self._try_claim(digests[k], wanted[k], replace, at) for k in ordered}
            )
        except LedgerError as error:
            self._failure = error  # raised again by the next claim or write, and by close
            raise
        for queued, answer in answers.items():
            # A key another live process holds is claimed again at its row's turn.
            if queued != key and answer is not None:
                self._ahead[queued] = answer
        return answers[key]

    def _give_back_ahead(self) -> None:
        """Before waiting for a key another process holds, give back the keys claimed ahead:
        that process may be waiting for one of them (the same people in another order), and
        neither would ever go on. A key left in doubt goes back to doubt."""
        granted = [(k, a) for k, a in self._ahead.items() if isinstance(a, Granted)]
        self._ahead.clear()
        if not granted:
            return
        for key, answer in granted:
            if answer.in_doubt:
                self.in_doubt(key)
            else:
                self.release(key)
        self.commit()

    def commit(self) -> None:
        """Commit the outcomes queued since the last commit."""
        if self._closed or not self._pending:
            return
        try:
            self._transaction(lambda: None)
        except LedgerError as error:
            self._failure = error  # raised again by the next claim or write, and by close
            raise

    def _try_claim(
        self, digest: bytes, claimant: Claimant, replace: bool, at: str
    ) -> Granted | Imported | None:
        """One attempt inside a write transaction; None while a live owner holds the key."""
        where = (self.scope.target, self.scope.account_id, digest)
        # Most keys are new: one statement claims them, a look at the entry only when it exists.
        inserted = self._db.execute(
            "INSERT INTO entries (target, account_id, key_sha256, state, owner, at, run_id,"
            " input, row_number, row_hash) VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (*where, self._owner, at, *_claimant(claimant)),
        )
        if inserted.rowcount == 1:
            return Granted()
        found = self._db.execute(
            f"SELECT state, owner, {ENTRY_COLUMNS} FROM entries"
            f" WHERE target = ? AND account_id = ? AND key_sha256 = ?{self._db.lock_row}",
            where,
        ).fetchone()
        if found is None:
            return None  # released by its owner between the two statements: try again
        state, owner = found[0], found[1]
        if state == "created":
            imported = Imported(*found[2:])
            # A replaced key keeps its entry until the new candidate exists; a key this very
            # run created (in a session before a resume) is never replaced.
            return Granted() if replace and imported.run_id != claimant.run_id else imported
        if state == "claimed" and (owner == self._owner or self._owner_alive(owner)):
            return None if owner != self._owner else Granted()
        self._db.execute(
            "UPDATE entries SET state = 'claimed', owner = ?, at = ?, run_id = ?, input = ?,"
            " row_number = ?, row_hash = ? WHERE target = ? AND account_id = ? AND key_sha256 = ?",
            (self._owner, at, *_claimant(claimant), *where),
        )
        return Granted(in_doubt=True)

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
        """Queue a write for the next commit: the ledger stays unlocked for other processes
        until then."""
        self._check_open()
        self._pending.append((sql, params))
        if self._due is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.commit()
            return
        self._due = loop.call_later(_OUTCOME_DELAY, self._commit_due)

    def _commit_due(self) -> None:
        self._due = None
        # A failure is kept for the next claim or write to raise, where the run handles it.
        with suppress(LedgerError):
            self.commit()

    def _transaction(self, work: Callable[[], _T]) -> _T:
        """The queued writes and ``work`` in one write transaction, committed."""
        self._check_open()
        if self._due is not None:
            self._due.cancel()
            self._due = None
        pending, self._pending = self._pending, []
        attempt = 0
        while True:
            try:
                self._db.begin()
                for sql, params in pending:
                    self._db.execute(sql, params)
                every = self._renew_every
                if every is not None and time.monotonic() - self._renewed > every:
                    self._renew()
                result = work()
                self._db.commit()
                return result
            except Exception as error:
                if not self._db.failure(error):
                    raise
                self._db.rollback()
                attempt += 1
                if attempt >= _RETRIES or not self._db.retryable(error):
                    self._fail(error)

    def _keep_renewing(self) -> None:
        """While an event loop runs, renew the lease even when no row is claimed for a while
        (every worker waiting out a Retry-After)."""
        if self._renewal is not None or self._renew_every is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._renewal = loop.call_later(self._renew_every, self._renew_now)

    def _renew_now(self) -> None:
        self._renewal = None
        if self._closed or self._failure is not None:
            return
        try:
            self._transaction(self._renew)
        except LedgerError as error:
            self._failure = error  # raised by the next claim or write, where the run handles it
            return
        self._keep_renewing()

    def _fail(self, error: BaseException) -> NoReturn:
        # what to do next (fix it, then --resume) is the stopped run's to say, once
        raise LedgerError(
            f"cannot write the ledger {self.location}: {error} (disk full? permissions?)"
        ) from None

    def _check_open(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise LedgerError(f"the ledger {self.location} is closed")

    def close(self) -> None:
        """Commit, give up this process's live claims (left in doubt), and close."""
        if self._closed:
            return
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        try:
            # Keys claimed ahead for rows that were never sent are free again.
            self._give_back_ahead()
            # A claim still held here was never settled: the process is ending, so whoever
            # needs the key next must look the candidate up first.
            self._write(
                "UPDATE entries SET state = 'doubt', owner = NULL WHERE owner = ?", (self._owner,)
            )
            self._write("DELETE FROM owners WHERE owner = ?", (self._owner,))
            self._transaction(lambda: None)
        finally:
            self._closed = True
            self._disconnect()

    def _disconnect(self) -> None:
        self._db.close()


def _claimant(claimant: Claimant) -> tuple[object, ...]:
    return (claimant.run_id, claimant.input, claimant.row_number, claimant.row_hash)
