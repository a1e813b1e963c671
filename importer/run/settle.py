"""Deciding a checked row by what earlier runs did: resumed, already imported, or to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from importer.errors import Code, Note, RowWarning
from importer.read.tables import SourceRow
from importer.record.journal import Imported, ImportState, Journal, JournalRow, row_hash
from importer.record.outcomes import RowOutcome, Status
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
    """Rows created by an earlier session of this run are resumed; rows whose key the state
    holds from another run are skipped; the rest are sent."""

    def __init__(
        self,
        keys: RowKey,
        journal: Journal | None,
        state: ImportState | None,
        run_id: str,
        input_name: str,
    ) -> None:
        self.keys = keys
        self.journal = journal if journal is not None and journal.resumed else None
        self.state = state
        self.run_id = run_id
        self.input_name = input_name

    def settle(self, seq: int, row: SourceRow, checked: RowOutcome | Checked) -> Work | Settled:
        previous = None
        if self.journal is not None:
            previous = self.journal.previous(row.row_number)
            if previous is not None and previous.created:
                return self._resumed(row, previous), previous.key
        if isinstance(checked, RowOutcome):
            return checked, None
        body, email, key, warnings = checked
        if self.state is not None and key is not None:
            earlier = self.state.get(key)
            # Created by this very run: its journal says how, so it is not "already imported".
            if earlier is not None and earlier.run_id != self.run_id:
                return self._already_imported(row, key, earlier), key
        verify = previous is not None and previous.in_doubt
        return Work(seq, row, body, email, key, verify=verify, warnings=warnings)

    def _resumed(self, row: SourceRow, previous: JournalRow) -> RowOutcome:
        if self.state is not None and previous.key is not None:
            # The state commits after the journal: a crash in between left the state behind.
            self.state.add(
                Imported(
                    key=previous.key,
                    id=previous.id,
                    remote_id=previous.remote_id,
                    created_at=previous.sent_at or datetime.now(UTC).isoformat(),
                    run_id=self.run_id,
                    input=self.input_name,
                    row_number=row.row_number,
                    row_hash=previous.row_hash,
                )
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

    def _already_imported(self, row: SourceRow, key: str, earlier: Imported) -> RowOutcome:
        message = f"already imported {earlier.describe()}; not sent again"
        if earlier.row_hash is not None and earlier.row_hash != row_hash(row.values):
            message += "; the row has changed since: update the candidate in the ATS if needed"
        reject = self.keys.reject(row.row_number, Code.ALREADY_IMPORTED, message, key)
        return RowOutcome(
            row.row_number,
            Status.SKIPPED,
            id=earlier.id,
            remote_id=earlier.remote_id,
            rejects=(reject,),
        )
