"""Errors as data: the exception tree, the stable reject codes and the records users see.

Exceptions steer control flow; ``Reject`` records are what reaches the reports::

    ImporterError
    ├── ConfigError            nothing can be sent (usage, unreadable input, bad mapping) → exit 2
    │   ├── MappingError       the mapping YAML is invalid; carries the key path of each problem
    │   ├── MissingColumnError a mapped column is not in the file's header row
    │   └── MissingSheetError  the workbook has no sheet of the name asked for
    └── ApiError               an answer (or a failure to get one) from the API
        ├── RetriableApiError  408/429: not processed, safe to resend after ``retry_after``
        ├── AmbiguousApiError  5xx, read timeout, dropped connection: may have been created
        ├── RejectedApiError   400/409/422 and other 4xx: this row is wrong, never resent
        └── FatalApiError      401/403/412/501: wrong for every row, the run stops → exit 3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from importer.read.headers import looks_like_title


class Code(StrEnum):
    """Stable kebab-case codes written to results.csv, rejects.csv and summary.json."""

    # reading
    RAGGED_ROW = "ragged-row"
    BLANK_ROW = "blank-row"
    HIDDEN_ROW = "hidden-row"
    HEADER_AGAIN = "header-again"
    UNBALANCED_QUOTE = "unbalanced-quote"
    PRECISION_LOST = "precision-lost"
    # mapping and validation
    REQUIRED_VALUE = "required-value"
    MISSING_NAME = "missing-name"
    INVALID_EMAIL = "invalid-email"
    INVALID_PHONE = "invalid-phone"
    INVALID_DATE = "invalid-date"
    INVALID_URL = "invalid-url"
    INVALID_VALUE = "invalid-value"
    DUPLICATE_IN_FILE = "duplicate-in-file"
    TOO_LARGE = "too-large"
    MISSING_ACCOUNT = "missing-account"
    # sending
    API_REJECTED = "api-rejected"
    ALREADY_EXISTS = "already-exists"
    RETRIES_EXHAUSTED = "retries-exhausted"
    OUTCOME_UNKNOWN = "outcome-unknown"
    RUN_STOPPED = "run-stopped"
    INTERRUPTED = "interrupted"
    # re-runs
    ALREADY_IMPORTED = "already-imported"


TITLES: dict[Code, str] = {
    Code.RAGGED_ROW: "The row has more or fewer cells than there are columns",
    Code.BLANK_ROW: "Blank row",
    Code.HIDDEN_ROW: "Hidden in the sheet",
    Code.HEADER_AGAIN: "The header row again",
    Code.PRECISION_LOST: "Excel already rounded this number",
    Code.REQUIRED_VALUE: "A required cell is empty",
    Code.MISSING_NAME: "No name",
    Code.INVALID_EMAIL: "Not a valid e-mail address",
    Code.INVALID_PHONE: "Not a valid phone number",
    Code.INVALID_DATE: "Not a date that can be read",
    Code.INVALID_URL: "Not a web address",
    Code.INVALID_VALUE: "A value the field does not take",
    Code.DUPLICATE_IN_FILE: "Duplicate of an earlier row",
    Code.API_REJECTED: "Refused by the ATS",
    Code.ALREADY_EXISTS: "Already in the ATS",
    Code.RETRIES_EXHAUSTED: "The ATS stayed too busy",
    Code.OUTCOME_UNKNOWN: "Unknown whether it was created",
    Code.RUN_STOPPED: "Not sent: the run stopped",
    Code.INTERRUPTED: "Not sent: the run was interrupted",
    Code.ALREADY_IMPORTED: "Imported by an earlier run",
}
"""Each code in plain words, short enough for a heading; the message gives the details."""


class Note(StrEnum):
    """Stable words in results.csv's ``note`` column: more about a row that needs no code."""

    RECOVERED = "recovered"  # found by the duplicate guard after an ambiguous failure
    RESUMED = "resumed"  # created by an earlier session of this run, not sent again
    DRY_RUN = "dry-run"  # valid, and not sent because the run was a dry run


class WarningCode(StrEnum):
    """Stable kebab-case codes of what a row was sent without, or sent differently from typed.

    A row with warnings is still created; results.csv's ``warnings`` column and summary.json
    carry them so that the user can check those values in the ATS.
    """

    KEPT_AS_TYPED = "kept-as-typed"  # a value that could not be read with certainty, sent as typed
    VALUE_DROPPED = "value-dropped"  # a value that could not be read, left out (on_invalid: drop)
    PHONE_PLUS_RESTORED = "phone-plus-restored"  # digits read as +<country code> (Excel's lost +)
    EMAIL_EXTRACTED = "email-extracted"  # the address out of "Name <address>" or "mailto:address"
    INVISIBLE_REMOVED = "invisible-removed"  # NUL, zero-width spaces... taken out of a value
    EXTRA_VALUES_DROPPED = "extra-values-dropped"  # a field of one value: a cell's others not sent
    NO_KEY = (
        "no-key"  # sent with no key (e-mail) for the ledger: importing it again creates it again
    )


WARNING_TITLES: dict[WarningCode, str] = {
    WarningCode.KEPT_AS_TYPED: "Sent as typed: could not be read with certainty",
    WarningCode.VALUE_DROPPED: "Left out: could not be read",
    WarningCode.PHONE_PLUS_RESTORED: "Phone read with the + that Excel dropped",
    WarningCode.EMAIL_EXTRACTED: "E-mail address read out of a name or a link",
    WarningCode.INVISIBLE_REMOVED: "Sent without invisible characters",
    WarningCode.EXTRA_VALUES_DROPPED: "Only the first of the cell's values sent",
    WarningCode.NO_KEY: "Not remembered: no e-mail (or key) to recognise it by next time",
}
"""Each warning code in plain words, as ``TITLES`` for the codes of rejects."""


def _by_fields(self: RowWarning | Reject) -> tuple[Any, ...]:
    """Pickle as a call with the fields. Worker processes send back every row's warnings and
    rejects; a frozen slots dataclass's own pickling calls ``dataclasses.fields`` and sets the
    fields one ``object.__setattr__`` at a time (3.0 us a warning there and back; 1.0 us so)."""
    fields = (self.row_number, self.code, self.message, self.field, self.column, self.value)
    return type(self), fields


@dataclass(frozen=True, slots=True)
class RowWarning:
    """Something a created row was sent without or differently from typed, and where it is."""

    row_number: int
    code: WarningCode
    message: str
    field: str | None = None
    column: str | None = None
    value: str | None = None

    __reduce__ = _by_fields


@dataclass(frozen=True, slots=True)
class Reject:
    """One problem with one row: where it is (row, column, field), what it is, and the value."""

    row_number: int
    code: Code
    message: str
    field: str | None = None
    column: str | None = None
    value: str | None = None

    __reduce__ = _by_fields


_HEADERS_SHOWN = 100
"""Headers listed when a mapped column is missing: enough to spot a near miss, while a header
row of thousands of columns still makes a message that fits on a screen."""


class ImporterError(Exception):
    """Base of every error the importer raises on purpose."""


class ConfigError(ImporterError):
    """Nothing can be sent: bad flags, credentials, unreadable input or mapping (exit 2)."""


class MappingError(ConfigError):
    """The mapping is invalid; ``problems`` holds one ``(key_path, message)`` per problem."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  {path}: {message}" for path, message in self.problems)
        super().__init__(f"{source}: invalid mapping\n{lines}")


class MissingColumnError(ConfigError):
    """The mapping names columns that the input's header row does not have."""

    def __init__(
        self,
        missing: Sequence[str],
        headers: Sequence[str],
        source: str = "",
        alternatives: Sequence[Sequence[str]] = (),
        other_sheets: Sequence[str] = (),
    ) -> None:
        """``alternatives``: groups of ``missing`` of which any one column would have done;
        ``other_sheets``: the workbook's visible sheets besides the one read."""
        self.missing = list(missing)
        self.headers = list(headers)
        self.source = source
        self.alternatives = [list(group) for group in alternatives]
        group_of = {name: tuple(group) for group in alternatives for name in group}
        parts: dict[tuple[str, ...], str] = {}
        for name in self.missing:
            group = group_of.get(name, (name,))
            quoted = " / ".join(f'"{n}"' for n in group)
            parts.setdefault(group, f"one of {quoted}" if len(group) > 1 else quoted)
        names = ", ".join(parts.values())
        named = [h for h in self.headers if h]
        existing = ", ".join(named[:_HEADERS_SHOWN]) or "(none)"
        if len(named) > _HEADERS_SHOWN:
            existing += f" and {len(named) - _HEADERS_SHOWN:,} more"
        where = f" in {source}" if source else ""
        hint = ""
        if looks_like_title(self.headers):
            hint = "; if the headers are on a later row, pass --header-row N"
        if other_sheets:
            sheets = ", ".join(f'"{name}"' for name in other_sheets)
            hint += (
                f"; the workbook's other sheets: {sheets}: to read one, pass --sheet NAME "
                "(or put sheet: NAME in the mapping)"
            )
        super().__init__(
            f"mapped column{'s' if len(self.missing) > 1 else ''} {names} not found{where}; "
            f"the headers are: {existing}{hint}"
        )


class MissingSheetError(ConfigError):
    """The workbook has no sheet of the name asked for (``sheets``: the names it has)."""

    def __init__(self, message: str, sheet: str, sheets: str) -> None:
        super().__init__(message)
        self.sheet = sheet
        self.sheets = sheets


class RunFailedError(ImporterError):
    """Something failed after requests were sent: the run stopped early (exit 3, never 2, since
    candidates may have been created); the message says what was kept and how to finish."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM while an import starts, as importer's own handlers raise it.

    Not KeyboardInterrupt itself: CPython remembers one that passes through ``exec`` of a
    string (a dataclass being made as a module loads) and, however it was handled, ends the
    process with SIGINT (exit 130) instead of the exit code it was given."""


class ApiError(ImporterError):
    """An HTTP answer, or the lack of one, that was not a 201."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class RetriableApiError(ApiError):
    """408 or 429: the request was not processed; resend after ``retry_after`` seconds."""

    def __init__(self, message: str, status: int, retry_after: float | None) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class AmbiguousApiError(ApiError):
    """5xx, read timeout or dropped connection: the candidate may exist; look before resending."""


class RejectedApiError(ApiError):
    """The API refused this row (400, 409, 422, other 4xx); ``code`` says how."""

    def __init__(self, message: str, status: int, code: Code) -> None:
        super().__init__(message, status)
        self.code = code


class FatalApiError(ApiError):
    """401, 403, 412 or 501: wrong for every row; the run stops without new requests."""
