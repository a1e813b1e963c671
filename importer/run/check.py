"""The check stage: a row becomes the body to send, or the outcome that keeps it from being sent.

Blank and ragged rows are decided before mapping; a mapped row then passes the in-file duplicate
checks (the same e-mail, or the same mapping key, as an earlier row). Worker processes of a
long dry run map rows too: they skip the rows ``screen`` decides, and hand back ``Prepared``'s
fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import orjson

from importer.errors import Code, Reject, RowWarning
from importer.mapping import PreparedFields, RowMapper
from importer.read.headers import normalise_header
from importer.read.tables import SourceRow
from importer.record.outcomes import RowOutcome, Status
from importer.run.accounts import RowAccount
from importer.run.firstrows import FirstRows
from importer.run.keys import RowKey


class Checked(NamedTuple):
    """A row ready to send: its body as JSON (empty when the checker does not serialise), its
    e-mail, its key and its warnings."""

    body: bytes
    email: str | None
    key: str | None
    warnings: tuple[RowWarning, ...] = ()


def needs_mapping(row: SourceRow, width: int) -> bool:
    """Whether the row is worth mapping: not blank, and as wide as the header."""
    values = row.values
    # SourceRow.is_blank's test, inline: the property and its call cost ~1 k instructions more,
    # for every row.
    return len(values) == width and bool("".join(values).strip())


def screen(row: SourceRow, width: int) -> RowOutcome | None:
    """The outcome of a row that is not worth mapping (see ``needs_mapping``), else None."""
    if needs_mapping(row, width):
        return None
    if row.is_blank:
        reject = Reject(row.row_number, Code.BLANK_ROW, "blank row")
        return RowOutcome(row.row_number, Status.SKIPPED, rejects=(reject,))
    return rejected(row, _ragged(row, width))


class Checker:
    """Checks each row of one file, in file order: the duplicate checks remember earlier rows."""

    def __init__(
        self,
        mapper: RowMapper,
        keys: RowKey,
        width: int,
        accounts: RowAccount,
        *,
        serialise: bool = True,
        hidden: frozenset[int] = frozenset(),
        headers: Sequence[str] = (),
    ) -> None:
        """``serialise``: give each row's body as the JSON to send; without it (a dry run, which
        sends none) ``Checked.body`` is empty, and no row pays for the encoding. ``hidden``:
        the rows to skip because the sheet hides them. ``headers``: the header row, whose
        repeats (files joined one after the other) are skipped."""
        self.mapper = mapper
        self.hidden = hidden
        self.header = HeaderAgain(headers)
        self.keys = keys
        self.width = width
        self.accounts = accounts
        # Fixed once the header is read; a property call on every row costs more than the test.
        self.routed = accounts.routed
        self.serialise = serialise
        # Compact tables rather than dicts of strings: a million e-mails in a dict take ~150 MB.
        self.first_row_of = FirstRows()
        self.first_row_of_key = FirstRows()

    def check(self, row: SourceRow, prepared: PreparedFields | None = None) -> RowOutcome | Checked:
        """A final outcome for a row that cannot be sent, or what to send.

        ``prepared`` is the row already mapped and validated elsewhere (a worker process);
        None for a row to map here, and for a row the worker left to ``screen``.
        """
        if row.problem is not None:  # found by the reader; a worker is sent the cells only
            return rejected(row, row.problem)
        shown = skipped_as_shown(row, self.hidden, self.header)
        if shown is not None:
            return shown
        if prepared is None:
            screened = screen(row, self.width)
            if screened is not None:
                return screened
            prepared = self.mapper.prepare(row)
        _, body, email, rejects, warnings = prepared  # one unpacking, not six lookups by name
        # The same person may be a candidate of two accounts: duplicates are per account.
        account, scope = "", ""
        if self.routed:
            routed_to = self.accounts.of(row)
            if routed_to is None:
                return RowOutcome(
                    row.row_number,
                    Status.REJECTED,
                    rejects=(*rejects, self.accounts.reject(row.row_number)),
                )
            account, scope = routed_to, f"{routed_to}\x00"
        if body is None:
            return RowOutcome(row.row_number, Status.REJECTED, rejects=rejects)
        if email:
            duplicate = self._duplicate_email(row, email, scope, account)
            if duplicate is not None:
                return rejected(row, duplicate)
        row_key = self.keys.of(row, body)
        if row_key is not None and not self.keys.fold:
            first = self.first_row_of_key.first(scope + row_key, row.row_number)
            if first != row.row_number:
                message = (
                    f"{self.keys.name} {row_key} already appears in row {first}"
                    f"{self._in(account)}, and it is the mapping's key, which identifies a "
                    "candidate; remove one of the two rows or correct the value"
                )
                reject = self.keys.reject(row.row_number, Code.DUPLICATE_IN_FILE, message, row_key)
                return rejected(row, reject)
        sent = orjson.dumps(body) if self.serialise else b""
        return Checked(sent, email, row_key, warnings)

    def _in(self, account: str) -> str:
        return f" for account {account}" if self.routed else ""

    def _duplicate_email(
        self, row: SourceRow, email: str, scope: str, account: str
    ) -> Reject | None:
        first = self.first_row_of.first(scope + email.casefold(), row.row_number)
        if first == row.row_number:
            return None
        column, cell = self.mapper.source_of("email", row)
        where = f'column "{column}": ' if column else ""
        return Reject(
            row.row_number,
            Code.DUPLICATE_IN_FILE,
            f"{where}e-mail {email} already appears in row {first}{self._in(account)}; "
            "remove one of the two rows or give them different e-mails",
            field="email",
            column=column,
            value=cell or email,
        )


class HeaderAgain:
    """Finds the header row repeated among the data, as where two exports were joined one after
    the other (``cat``, or pasted in Excel): its e-mail cell reads "Email", so it was rejected as
    an invalid address. A row is compared whole only when its cell in the first named column
    holds that column's header."""

    def __init__(self, headers: Sequence[str]) -> None:
        # compared as headers are matched: "first name" and "EMAIL" repeat "First Name", "Email"
        self.cells = tuple(normalise_header(header) for header in headers)
        # a word of the first named column's header inside the row's cell is one C-speed test,
        # which nearly every row fails
        named = [(i, cell) for i, cell in enumerate(self.cells) if cell]
        self.at = named[0][0] if named else 0
        self.first: str | None = named[0][1].split()[0] if named else None

    def repeats(self, row: SourceRow) -> bool:
        values = row.values
        return (
            self.first is not None
            and len(values) == len(self.cells)
            and self.first in values[self.at].casefold()
            and tuple(map(normalise_header, values)) == self.cells
        )

    def skipped(self, number: int) -> RowOutcome:
        message = (
            "the header row again, as where two files were joined one after the other: "
            "skipped, the rows below it are read as before"
        )
        return RowOutcome(
            number, Status.SKIPPED, rejects=(Reject(number, Code.HEADER_AGAIN, message),)
        )


def skipped_as_shown(
    row: SourceRow, hidden: frozenset[int], header: HeaderAgain
) -> RowOutcome | None:
    """The skip of a row the sheet hides (``hidden``: those to skip) or that repeats the header
    row, whatever its cells would map to; None for any other row. The import and the web page's
    check both ask this first."""
    number = row.row_number
    if hidden and number in hidden:
        message = (
            "the sheet hides this row (a filter, or rows hidden by hand), and hidden rows were "
            "to be skipped: show it in Excel and import the file again to send it"
        )
        return RowOutcome(
            number, Status.SKIPPED, rejects=(Reject(number, Code.HIDDEN_ROW, message),)
        )
    if header.repeats(row):
        return header.skipped(number)
    return None


def rejected(row: SourceRow, reject: Reject) -> RowOutcome:
    return RowOutcome(row.row_number, Status.REJECTED, rejects=(reject,))


def _ragged(row: SourceRow, width: int) -> Reject:
    cells = len(row.values)
    if cells > width:
        extra = ", ".join(repr(v) for v in row.values[width:])
        detail = f"extra cells: {extra}"
    else:
        detail = "the missing cells are left empty in rejects.csv"
    return Reject(
        row.row_number,
        Code.RAGGED_ROW,
        f"row has {cells} cells but the header has {width} ({detail}); "
        "check for a stray or missing delimiter or quote in this row",
    )
