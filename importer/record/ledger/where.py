"""Which ledger ``--state`` names: a SQLite file, or a PostgreSQL database by its URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from importer.record.ledger.claims import Database
from importer.record.ledger.model import Ledger, LedgerError, Scope
from importer.record.ledger.sqlite import SqliteDatabase, SqliteLedger

DATABASE_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_EXTRA = "importer[postgres]"


def is_database_url(where: str | Path) -> bool:
    return isinstance(where, str) and where.startswith(DATABASE_SCHEMES)


def _require_driver() -> None:
    """The PostgreSQL back end needs a driver that the default install leaves out."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise LedgerError(
            "a PostgreSQL ledger needs the psycopg driver, which this install of importer "
            f"lacks: pip install '{POSTGRES_EXTRA}'"
        ) from None


def location(where: str | Path) -> str:
    """How messages name the ledger: its path, or its URL without a password."""
    if is_database_url(where):
        _require_driver()
        from importer.record.ledger.postgresql import safe_location

        return safe_location(str(where))
    return str(where)


def open_database(where: str | Path) -> Database:
    """The whole ledger, every scope (for the ``ledger`` command)."""
    if is_database_url(where):
        _require_driver()
        from importer.record.ledger.postgresql import PostgresDatabase

        return PostgresDatabase(str(where)).use()
    return SqliteDatabase(Path(where))


def scope_opener(where: str | Path, target: str) -> Callable[[str], Ledger]:
    """A function opening the ledger's scope for one account of ``target``. A database's scopes
    share one connection, however many accounts a run routes rows to."""
    if is_database_url(where):
        _require_driver()
        from importer.record.ledger.postgresql import PostgresDatabase, PostgresLedger

        shared = PostgresDatabase(str(where))
        return lambda account: PostgresLedger(shared, Scope(target, account))
    path = Path(where)
    return lambda account: SqliteLedger(path, Scope(target, account))
