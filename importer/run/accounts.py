"""Which linked account each row goes to (the run's one, or the cell of the mapping's column),
and the ledger scope each row is checked against."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from importer.errors import Code, ConfigError, MissingColumnError, Reject
from importer.mapping import normalise_header
from importer.read.tables import SourceRow
from importer.record.journal_file import JOURNAL_FILE
from importer.record.ledger import (
    Imported,
    Ledger,
    default_ledger_path,
    is_database_url,
    location,
    scope_opener,
)
from importer.run.keys import RowKey
from importer.run.options import ImportOptions


class RowAccount:
    """The account of each row: ``column``'s cell (less surrounding spaces), else ``fixed``.

    A file whose rows name their accounts is *routed*: each row goes to its own
    ``x-account-id``, and what is per account (duplicates, the ledger, a stop for a disabled
    integration, a provider's throttle) is counted per row's account.
    """

    def __init__(
        self, column: str | None, headers: Sequence[str], source: str, fixed: str | None
    ) -> None:
        self.column = column
        self.fixed = fixed
        self.index: int | None = None
        if column is not None:
            wanted = normalise_header(column)
            matches = [i for i, header in enumerate(headers) if normalise_header(header) == wanted]
            if not matches:
                raise MissingColumnError([column], headers, source)
            if len(matches) > 1:
                raise ConfigError(
                    f'the account column "{column}" matches {len(matches)} headers of {source}; '
                    "rename one of them"
                )
            self.index = matches[0]

    @property
    def routed(self) -> bool:
        return self.index is not None

    def of(self, row: SourceRow) -> str | None:
        """The row's account; None when its account cell is empty (or missing)."""
        if self.index is None:
            return self.fixed
        values = row.values
        account = values[self.index].strip() if self.index < len(values) else ""
        return account or None

    def reject(self, row_number: int) -> Reject:
        return Reject(
            row_number,
            Code.MISSING_ACCOUNT,
            f'the account column "{self.column}" is empty, so the row has nowhere to go; '
            "fill in the linked account id",
            field="account",
            column=self.column,
            value="",
        )


class RowLedgers:
    """The ledger scope each row is checked against: the run's account's, or in a routed run
    its own account's, opened on the first row for that account.

    The same person may be a candidate of two accounts, so a key the ledger holds for one
    account says nothing about another.
    """

    def __init__(
        self, accounts: RowAccount, location: str, open_scope: Callable[[str], Ledger]
    ) -> None:
        self.accounts = accounts
        self.location = location
        self._open_scope = open_scope
        self._scopes: dict[str, Ledger] = {}

    def of(self, row: SourceRow) -> Ledger:
        return self.scope(self.accounts.of(row) or "")

    def scope(self, account: str) -> Ledger:
        """An account's scope, opened on first use: opened before anything is sent, a ledger
        that cannot be used stops the run then."""
        ledger = self._scopes.get(account)
        if ledger is None:
            ledger = self._scopes[account] = self._open_scope(account)
        return ledger

    def remember(self, created: Sequence[tuple[str, Imported]]) -> None:
        """Candidates created into the run's one account that the ledger does not hold (the
        earlier run of a journal being replaced kept none, or another), committed at once:
        the journal that knew of them is gone next."""
        if not created:
            return
        ledger = self.scope(self.accounts.fixed or "")
        for key, imported in created:
            if ledger.get(key) is None:
                ledger.created(key, imported)
        ledger.commit()

    def close(self) -> None:
        for ledger in self._scopes.values():
            ledger.close()


def open_ledgers(
    options: ImportOptions, keys: RowKey, input_name: str, accounts: RowAccount
) -> RowLedgers | None:
    """The ledger for this target, a scope per account; None when it is off or cannot apply.

    Unless required (``options.ledger``), it steps aside quietly where it cannot work: a
    mapping that gives rows no key, a dry run without an account. The run's one account is
    opened now; in a run routed to several accounts, each is opened on its first row.
    """
    if options.ledger is False:
        return None
    required = options.ledger is True
    place = default_ledger_path() if options.state is None else options.state
    if not keys.readable:
        if not required:
            return None
        raise ConfigError(
            f"--state needs each row's key, but the mapping's key \"{keys.name}\" is not a "
            f"column of {input_name}: set the mapping's key: to a column or field this file has"
        )
    target = options.target or options.base_url.rstrip("/")
    if not accounts.routed and options.account_id is None:
        if not required:
            return None
        raise ConfigError(
            "--state remembers imports per account: pass --account-id or set STACKONE_ACCOUNT_ID"
        )
    if not is_database_url(place):
        place = Path(place)
        if place.resolve() == (Path(options.out_dir) / JOURNAL_FILE).resolve():
            raise ConfigError(f"--state {place} is the run's journal: give another file")
    ledgers = RowLedgers(accounts, location(place), scope_opener(place, target))
    if accounts.fixed is not None and not accounts.routed:
        ledgers.scope(accounts.fixed)
    return ledgers
