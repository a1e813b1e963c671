"""The one writer of a run: every outcome goes to the reports, the journal, the ledger and the
progress callback from here, so that they can never disagree."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice

from importer.errors import Code, Note
from importer.read.tables import SourceRow
from importer.record.journal import Journal
from importer.record.ledger import Claimant, Granted, Imported, Ledger, now_iso
from importer.record.outcomes import RowOutcome, Status
from importer.record.report import Counts, Recorder
from importer.record.run_identity import row_hash
from importer.run.accounts import RowLedgers
from importer.run.keys import RowKey
from importer.run.options import ImportOptions, Progress
from importer.run.settle import Work

# Rows queued behind a row being sent that are marked in the journal with it: one commit for up
# to this many rows, and after a crash at most this many more looked up before being resent.
MARK_AHEAD = 32
# Rows queued behind a row whose keys the ledger claims with its own: one commit for up to this
# many rows. Another process wanting one of those keys waits until the row is sent.
CLAIM_AHEAD = 32
# Both 32 rather than 16: 4-5 % more rows a second when nothing else limits the import (20,000
# rows at concurrency 32, 8 µs less CPU a row); 64 gave 2 % more again for twice the lookups
# after a crash and longer waits for another import of the same people.


def _ahead(queued: Iterable[Work], limit: int) -> Iterator[Work]:
    """The rows among the first ``limit`` queued that may be claimed or marked ahead.

    Only rows resume can look up: a row without an e-mail left claimed or marked by a crash
    would be rejected as outcome-unknown instead of sent, so it waits for its own turn."""
    return (w for w in islice(queued, limit) if w.email)


class Sink:
    def __init__(
        self,
        options: ImportOptions,
        recorder: Recorder,
        keys: RowKey,
        journal: Journal | None,
        ledgers: RowLedgers | None,
        run_id: str,
        input_name: str,
        total: int | None,
    ) -> None:
        self.options = options
        self.recorder = recorder
        self.keys = keys
        self.journal = journal
        self.ledgers = ledgers
        self.run_id = run_id
        self.input_name = input_name
        self.total = total
        self.started = options.clock.now()
        self.last_progress = self.started

    async def claim(
        self,
        row: SourceRow,
        key: str | None,
        queued: Iterable[Work] = (),
        *,
        reimport: bool = False,
    ) -> Granted | Imported:
        """Reserve the row's key in the ledger before it is sent (waits while another process
        sends the same key); ``Imported`` when that process, or another, created it.

        ``queued``: the rows waiting behind it (of the same account), some of which are
        claimed with it, as ``sending`` marks them in the journal."""
        if self.ledgers is None or key is None:
            return Granted()
        # the row's hash is recorded with its outcome; a claim only says who sends it
        claimant = Claimant(self.run_id, self.input_name, row.row_number)
        # Made only if the ledger claims anything ahead: most rows' keys were claimed so.
        ahead = (
            (w.key, Claimant(self.run_id, self.input_name, w.row.row_number))
            for w in _ahead(queued, CLAIM_AHEAD)
            if w.key is not None
        )
        return await self.ledgers.of(row).claim(key, claimant, replace=reimport, ahead=ahead)

    async def sending(
        self, row: SourceRow, key: str | None, queued: Iterable[Work] = ()
    ) -> bytes | None:
        """Journal a row as being sent, before its request leaves; its ``row_hash`` if kept.

        ``queued``: the rows waiting behind it, some of which are marked with it (see
        ``Journal.sending``)."""
        if self.journal is None:
            return None
        digest = row_hash(row.values)
        ahead = []
        if not self.journal.marked(row.row_number):
            ahead = [
                (w.row.row_number, w.key, row_hash(w.row.values))
                for w in _ahead(queued, MARK_AHEAD)
                if not self.journal.marked(w.row.row_number)
            ]
        # Committed before the request leaves: a crash from here on leaves it in doubt.
        await self.journal.sending(row.row_number, key, digest, ahead)
        return digest

    def record(
        self,
        seq: int,
        outcome: RowOutcome,
        row: SourceRow,
        key: str | None = None,
        *,
        sent: bool = False,
        digest: bytes | None = None,
    ) -> None:
        """Report and journal a row's outcome; ``digest`` is its ``row_hash`` when known."""
        if key is None:
            key = self.keys.of(row, None)
        self.recorder.record(seq, outcome, row.values, key)
        if self.journal is not None and outcome.note != Note.RESUMED:
            digest = digest or row_hash(row.values)
            self.journal.record(outcome, key, digest, sent=sent)
        if sent and self.ledgers is not None and key is not None:
            ledger = self.ledgers.of(row)
            self._settle_claim(ledger, key, outcome, digest or row_hash(row.values))
        on_progress = self.options.on_progress
        if on_progress is not None:
            now = self.options.clock.now()
            if now - self.last_progress >= self.options.progress_interval:
                self.last_progress = now
                on_progress(self.progress())

    def _settle_claim(self, ledger: Ledger, key: str, outcome: RowOutcome, digest: bytes) -> None:
        if outcome.status is Status.CREATED:
            imported = Imported(
                id=outcome.id,
                remote_id=outcome.remote_id,
                created_at=now_iso(),
                run_id=self.run_id,
                input=self.input_name,
                row_number=outcome.row_number,
                row_hash=digest,
            )
            ledger.created(key, imported)
        elif any(r.code is Code.OUTCOME_UNKNOWN for r in outcome.rejects):
            ledger.in_doubt(key)
        else:
            ledger.release(key)

    def sent(self, email: str | None) -> None:
        """After a sent row's outcome is recorded: a row resume cannot look up is committed now."""
        if self.journal is not None and not email:
            # Resume could not look this row up, so its outcome cannot wait for the next
            # commit: a crash meanwhile would leave it outcome-unknown.
            self.journal.commit()

    def progress(self) -> Progress:
        counts: Counts = self.recorder.counts
        return Progress(
            rows_done=counts.rows,
            rows_total=self.total,
            created=counts.created,
            rejected=counts.rejected,
            skipped=counts.skipped,
            not_attempted=counts.not_attempted,
            elapsed=self.options.clock.now() - self.started,
        )

    def final_progress(self) -> None:
        """The last progress: every row read, and done up to where the work stopped. Rows a
        stop left unsent are not "done": the bar of a stopped import stays where it stopped."""
        if self.options.on_progress is None:
            return
        counts = self.recorder.counts
        unsent = counts.not_attempted - counts.notes[Note.DRY_RUN]
        self.options.on_progress(
            replace(self.progress(), rows_done=counts.rows - unsent, rows_total=counts.rows)
        )
