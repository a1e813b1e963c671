"""The record every input row ends as, whichever stage decided it."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from importer.errors import Reject, RowWarning


class Status(StrEnum):
    """The one outcome every input row ends in."""

    CREATED = "created"
    REJECTED = "rejected"
    SKIPPED = "skipped"
    NOT_ATTEMPTED = "not_attempted"


class RowOutcome(NamedTuple):
    """What happened to one row; ``rejects`` says why when it was not created, ``warnings``
    what a row that went ahead was sent without or differently from typed.

    A named tuple: every row ends as one, and a frozen dataclass took a dry run's row about
    a microsecond to build (a call to object.__setattr__ per field)."""

    row_number: int
    status: Status
    http_status: int | None = None
    attempts: int = 0
    id: str | None = None
    remote_id: str | None = None
    rejects: tuple[Reject, ...] = ()
    note: str | None = None
    warnings: tuple[RowWarning, ...] = ()
