"""A whole ledger, every scope: what the ``ledger`` command shows and changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from importer.record.ledger.claims import ENTRY_COLUMNS
from importer.record.ledger.model import Entry, Imported, RunEntries, key_digest
from importer.record.ledger.where import open_database


class LedgerFile:
    """Every scope of one ledger (a SQLite file or a PostgreSQL database)."""

    def __init__(self, where: str | Path) -> None:
        self._db = open_database(where)
        self.location = self._db.location

    def __enter__(self) -> LedgerFile:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()

    def recent(self, limit: int = 20) -> list[RunEntries]:
        """The latest imports that created candidates, newest first."""
        rows = self._db.execute(
            "SELECT run_id, input, target, account_id, min(at), max(at), count(*) FROM entries"
            " WHERE state = 'created' GROUP BY run_id, input, target, account_id"
            " ORDER BY max(at) DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [RunEntries(*row) for row in rows]

    def find(self, key: str) -> list[Entry]:
        """Every scope's entry for ``key`` (as typed; an e-mail in any case)."""
        digests = {key_digest(key.strip()), key_digest(key.strip().casefold())}
        marks = ", ".join("?" for _ in digests)
        return list(self._entries(f"WHERE key_sha256 IN ({marks}) ORDER BY at", tuple(digests)))

    def entries(self) -> Iterator[Entry]:
        return self._entries("ORDER BY at", ())

    def _entries(self, clause: str, params: tuple[object, ...]) -> Iterator[Entry]:
        cursor = self._db.execute(
            f"SELECT target, account_id, key_sha256, state, {ENTRY_COLUMNS} FROM entries {clause}",
            params,
        )
        for target, account_id, digest, state, *imported in cursor:
            yield Entry(target, account_id, bytes(digest).hex(), state, Imported(*imported))

    def forget(self, entries: list[Entry]) -> int:
        """Delete these entries (found by ``find``): their keys can be imported again."""
        self._db.begin()
        for entry in entries:
            self._db.execute(
                "DELETE FROM entries WHERE target = ? AND account_id = ? AND key_sha256 = ?",
                (entry.target, entry.account_id, bytes.fromhex(entry.key_sha256)),
            )
        self._db.commit()
        return len(entries)

    def forget_run(self, run_id: str) -> int:
        """Delete what one import created (``recent`` lists their ids)."""
        self._db.begin()
        deleted = self._db.execute(
            "DELETE FROM entries WHERE run_id = ? AND state = 'created'", (run_id,)
        ).rowcount
        self._db.commit()
        return deleted
