"""The record every input row ends as, whichever stage decided it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from importer.errors import Reject, RowWarning


class Status(StrEnum):
    """The one outcome every input row ends in."""

    CREATED = "created"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    NOT_ATTEMPTED = "not_attempted"


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What happened to one row; ``rejects`` says why when it was not created, ``warnings``
    what a row that went ahead was sent without or differently from typed."""

    row_number: int
    status: Status
    http_status: int | None = None
    attempts: int = 0
    id: str | None = None
    remote_id: str | None = None
    rejects: tuple[Reject, ...] = ()
    note: str | None = None
    warnings: tuple[RowWarning, ...] = ()
