"""The dry run: every stage but sending, with worker processes mapping a long file's rows."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from importer.errors import Note
from importer.mapping import PreparedFields
from importer.read.tables import SourceRow
from importer.record.outcomes import RowOutcome, Status
from importer.run.cores import default_workers
from importer.run.parallel import SERIAL_ROWS, PreparePool
from importer.run.settle import Work
from importer.run.stages import Stages
from importer.run.stop import stopped_by_signals

# Read once: Python 3.11 looks a class's attribute up in full each time (~900 instructions),
# and nearly every row's outcome is built with these.
_NOT_ATTEMPTED, _DRY_RUN = Status.NOT_ATTEMPTED, Note.DRY_RUN


def dry_run(
    stages: Stages, workers: int | None, pool: Callable[[int], PreparePool], signals: bool
) -> None:
    """``pool(n)`` makes a pool of n worker processes for the rows past the first few."""
    sink, stop = stages.sink, stages.stop
    with stopped_by_signals(stop, enabled=signals, blocking=True):
        for seq, row, mapped in _mapped_rows(stages, workers, pool):
            if stop.is_set():
                sink.record(seq, stop.outcome(row), row)
                continue
            decided = stages.decide(seq, row, mapped)
            if isinstance(decided, Work):
                # Every field given in order: keywords make a named tuple's __new__ a quarter
                # slower, on nearly every row.
                outcome = RowOutcome(
                    row.row_number,
                    _NOT_ATTEMPTED,
                    None,  # http_status
                    0,  # attempts
                    None,  # id
                    None,  # remote_id
                    (),  # rejects
                    _DRY_RUN,
                    decided.warnings,
                )
                sink.record(seq, outcome, row, decided.key)
            else:
                outcome, key = decided
                sink.record(seq, outcome, row, key)
    sink.final_progress()


def _mapped_rows(
    stages: Stages, workers: int | None, pool: Callable[[int], PreparePool]
) -> Iterator[tuple[int, SourceRow, PreparedFields | None]]:
    """The rows, mapped and validated by worker processes once the file proves long."""
    rows = stages.rows
    for seq, row in itertools.islice(rows, SERIAL_ROWS):
        yield seq, row, None
    if workers is None:
        workers = default_workers()
    following = next(rows, None)
    if following is None:
        return
    rest = itertools.chain((following,), rows)
    if workers < 1:
        yield from ((seq, row, None) for seq, row in rest)
        return
    with pool(workers) as running:
        yield from running.prepared(rest, stopped=stages.stop.is_set)
