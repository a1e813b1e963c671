"""The stages one row passes through, bundled for the two ways of running them (dry or sending)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from importer.mapping import PreparedFields
from importer.read.tables import SourceRow
from importer.run.check import Checker
from importer.run.settle import Settled, Settler, Work
from importer.run.sink import Sink
from importer.run.stop import Stop


@dataclass(slots=True)
class Stages:
    rows: Iterator[tuple[int, SourceRow]]
    """The rows not taken yet, numbered in read order; shared, so a stop can drain them."""
    checker: Checker
    settler: Settler
    sink: Sink
    stop: Stop

    def decide(
        self, seq: int, row: SourceRow, prepared: PreparedFields | None = None
    ) -> Work | Settled:
        """Check a row, then settle it by what earlier sessions and earlier runs did with it."""
        return self.settler.settle(seq, row, self.checker.check(row, prepared))

    def drain(self) -> None:
        """After a stop: every row not taken yet ends as not attempted."""
        for seq, row in self.rows:
            self.sink.record(seq, self.stop.outcome(row), row)
