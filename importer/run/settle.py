"""Deciding a checked row by what earlier runs did: resumed, already imported, or to send."""

from __future__ import annotations

from dataclasses import dataclass

from importer.errors import Code, Note, RowWarning, WarningCode
from importer.read.tables import SourceRow
from importer.record.journal import Journal, JournalRow
from importer.record.ledger import Imported, now_iso
from importer.record.outcomes import RowOutcome, Status
from importer.record.run_identity import row_hash
from importer.run.accounts import RowLedgers
from importer.run.check import Checked
from importer.run.keys import RowKey


@dataclass(slots=True)
class Work:
    """A row to send, in the order it was read."""

    seq: int
    row: SourceRow
    body: bytes
    email: str | None
    key: str | None = None
    # In flight when an earlier session stopped: it may exist, so look it up before sending.
    verify: bool = False
    warnings: tuple[RowWarning, ...] = ()


# A row decided without sending, and its key.
Settled = tuple[RowOutcome, str | None]


class Settler:
    """Rows created by an earlier session of this run are resumed; rows whose key the ledger
    holds from another run are skipped (unless ``reimport``); the rest are sent.

    A run that sends learns what the ledger holds from each row's claim (``imported_before``),
    which asks in the same statement that reserves the key; a dry run, which claims nothing,
    looks each key up here (``look_up``)."""

    def __init__(
        self,
        keys: RowKey,
        journal: Journal | None,
        ledgers: RowLedgers | None,
        run_id: str,
        input_name: str,
        *,
        reimport: bool = False,
        look_up: bool = False,
    ) -> None:
        self.keys = keys
        self.journal = journal if journal is not None and journal.resumed else None
        self.ledgers = ledgers
        self.run_id = run_id
        self.input_name = input_name
        self.reimport = reimport
        self.look_up = look_up

    def settle(self, seq: int, row: SourceRow, checked: RowOutcome | Checked) -> Work | Settled:
        previous = None
        if self.journal is not None:
            previous = self.journal.previous(row.row_number)
            if previous is not None and previous.created:
                return self._resumed(row, previous), previous.key
        if isinstance(checked, RowOutcome):
            return checked, None
        body, email, key, warnings = checked
        if self.look_up and self.ledgers is not None and key is not None:
            earlier = self.ledgers.of(row).get(key)
            if earlier is not None and (earlier.run_id == self.run_id or not self.reimport):
                return self.imported_before(row, key, earlier), key
        if self.ledgers is not None and key is None:
            warnings = (*warnings, self._unremembered(row))
        verify = previous is not None and previous.in_doubt
        # verify and warnings given in order: by keyword, the call costs three quarters again.
        return Work(seq, row, body, email, key, verify, warnings)

    def _unremembered(self, row: SourceRow) -> RowWarning:
        """A row the ledger cannot remember: without its key, a later import cannot tell the
        candidate from a new one, and creates it again."""
        name = "e-mail" if self.keys.fold else f"{self.keys.name} (the mapping's key)"
        message = (
            f"no {name}, so the ledger cannot recognise this candidate: importing this row "
            f"again creates it again, even with the {name} filled in then"
        )
        return RowWarning(row.row_number, WarningCode.NO_KEY, message, self.keys.name)

    def _resumed(self, row: SourceRow, previous: JournalRow) -> RowOutcome:
        if self.ledgers is not None and previous.key is not None:
            # ... and the other way round: the journal's commit came first.
            self.ledgers.of(row).created(
                previous.key,
                Imported(
                    id=previous.id,
                    remote_id=previous.remote_id,
                    created_at=previous.sent_at or now_iso(),
                    run_id=self.run_id,
                    input=self.input_name,
                    row_number=row.row_number,
                    row_hash=previous.row_hash,
                ),
            )
        return RowOutcome(
            row.row_number,
            Status.CREATED,
            http_status=previous.http_status,
            attempts=previous.attempts or 0,
            id=previous.id,
            remote_id=previous.remote_id,
            note=Note.RESUMED,
        )

    def imported_before(self, row: SourceRow, key: str, earlier: Imported) -> RowOutcome:
        """The row's key is in the ledger as created: by an earlier session of this run
        (resumed), else by another import (skipped)."""
        if earlier.run_id == self.run_id:
            # The ledger commits apart from the journal: a crash after the ledger's commit
            # left the journal saying "sending" about a row the ledger saw created.
            return self._resumed_from_ledger(row, earlier)
        return self._already_imported(row, key, earlier)

    def _resumed_from_ledger(self, row: SourceRow, earlier: Imported) -> RowOutcome:
        return RowOutcome(
            row.row_number,
            Status.CREATED,
            id=earlier.id,
            remote_id=earlier.remote_id,
            note=Note.RESUMED,
        )

    def _already_imported(self, row: SourceRow, key: str, earlier: Imported) -> RowOutcome:
        """Skipped: the ledger holds the key from another import (or another process just
        created it)."""
        message = f"already imported {earlier.describe()}; not sent again"
        if earlier.row_hash is not None and earlier.row_hash != row_hash(row.values):
            message += "; the row has changed since: update the candidate in the ATS if needed"
        else:
            message += " (--reimport sends it anyway)"
        reject = self.keys.reject(row.row_number, Code.ALREADY_IMPORTED, message, key)
        return RowOutcome(
            row.row_number,
            Status.SKIPPED,
            id=earlier.id,
            remote_id=earlier.remote_id,
            rejects=(reject,),
        )
