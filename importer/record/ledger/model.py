"""What a ledger is to an import: its scopes, entries and claims, and how keys are hashed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import platformdirs

from importer.errors import ConfigError

DATA_DIR_ENV = "IMPORTER_DATA_DIR"
"""Where the per-user ledgers live instead of the platform's data folder (tests set it)."""
LEDGER_FILE = "ledger.sqlite"
WEB_LEDGER_FILE = "web-ledger.sqlite"


class LedgerError(ConfigError):
    """The ledger cannot be opened or written (nothing more is sent)."""


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else platformdirs.user_data_path("importer")


def default_ledger_path() -> Path:
    """The per-user ledger of the command line and the Python API."""
    return default_data_dir() / LEDGER_FILE


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def when(timestamp: str) -> str:
    """``2026-11-28T19:30:01.123+00:00`` → ``2026-11-28 19:30 UTC`` for messages."""
    return f"{timestamp[:10]} {timestamp[11:16]} UTC"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose candidates: an API base (or a sandbox) and an account. Never shared across them."""

    target: str
    account_id: str


@dataclass(frozen=True, slots=True)
class Imported:
    """A candidate created by an import, as the ledger remembers it."""

    id: str | None
    remote_id: str | None
    created_at: str
    run_id: str
    input: str
    row_number: int
    row_hash: bytes | None = None

    def describe(self) -> str:
        """``on 2026-11-28 19:30 UTC as 6f1c… (row 7 of candidates.csv)``."""
        what = self.id or (f"remote id {self.remote_id}" if self.remote_id else "(no id returned)")
        return (
            f"on {when(self.created_at)} as {what} "
            f"(row {self.row_number} of {Path(self.input).name})"
        )


@dataclass(frozen=True, slots=True)
class Granted:
    """The key is this run's to create. ``in_doubt``: an earlier attempt may have created it
    unseen (sent without an answer, or its process died): look it up before creating it."""

    in_doubt: bool = False


@dataclass(frozen=True, slots=True)
class Claimant:
    """Who is sending a key: this run's id, file and row, for the entry and for messages."""

    run_id: str
    input: str
    row_number: int
    row_hash: bytes | None = None


class Ledger(Protocol):
    """One scope of a ledger, as an import uses it. Every method is safe against other
    processes using the same ledger at the same time."""

    @property
    def location(self) -> str:
        """Where it is kept, for messages and summary.json (a path; never a password)."""
        ...

    def get(self, key: str) -> Imported | None:
        """The candidate created with this key, or None (claims do not count)."""
        ...

    async def claim(
        self,
        key: str,
        claimant: Claimant,
        *,
        replace: bool = False,
        ahead: Iterable[tuple[str, Claimant]] = (),
    ) -> Granted | Imported:
        """Reserve ``key`` for sending, committed before this returns; waits while another
        live process holds it. ``Imported`` when it was created meanwhile (unless
        ``replace``, which grants a created key so that it can be created again).

        ``ahead``: the keys of rows queued behind it, claimed in the same commit where free,
        so that their own claims need none; those never claimed are freed by ``close``. It is
        read before the first wait or not at all."""
        ...

    def created(self, key: str, imported: Imported) -> None:
        """The key's candidate now exists (a claim is not needed: resume records this too)."""
        ...

    def in_doubt(self, key: str) -> None:
        """Sent without an answer: the next claim must look the candidate up first."""
        ...

    def release(self, key: str) -> None:
        """Answered and not created: the key is free again."""
        ...

    def commit(self) -> None:
        """Commit the outcomes queued since the last commit (claims commit them too)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Entry:
    """One key of the ledger, for the ``ledger`` command."""

    target: str
    account_id: str
    key_sha256: str
    state: str
    imported: Imported


@dataclass(frozen=True, slots=True)
class RunEntries:
    """One import as the ledger saw it: its file, target, account and how many it created."""

    run_id: str
    input: str
    target: str
    account_id: str
    first: str
    last: str
    created: int
