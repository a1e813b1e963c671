"""Created candidates in SQLite: in memory by default, or a file to inspect after an import."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    email TEXT,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS candidates_by_email ON candidates (account_id, email);
"""


@dataclass(frozen=True, slots=True)
class StoredCandidate:
    seq: int
    id: str
    remote_id: str
    created_at: str
    body: str


class CandidateStore:
    """One row per create request that reached the provider, with the body exactly as sent.

    ``email`` is kept lowercased so look-ups and duplicate counts ignore case.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        # Autocommit: each insert is visible to another reader of the file at once, and WAL
        # with synchronous=NORMAL keeps that cheap.
        self._db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        (last,) = self._db.execute("SELECT coalesce(max(seq), 0) FROM candidates").fetchone()
        self._last_seq: int = last

    def add(
        self, *, candidate_id: str, account_id: str, email: str | None, created_at: str, body: str
    ) -> str:
        """Store one candidate and return its provider-style ``remote_id``."""
        seq = self._last_seq + 1
        remote_id = f"cand_{seq:06d}"
        self._db.execute(
            "INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, candidate_id, remote_id, account_id, _fold(email), created_at, body),
        )
        self._last_seq = seq
        return remote_id

    def has_email(self, account_id: str, email: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM candidates WHERE account_id = ? AND email = ? LIMIT 1",
            (account_id, _fold(email)),
        ).fetchone()
        return row is not None

    def page(
        self, account_id: str, email: str | None, after: int, size: int
    ) -> tuple[list[StoredCandidate], int | None]:
        """Up to ``size`` candidates with ``seq > after``, and the cursor of the next page."""
        sql = "SELECT seq, id, remote_id, created_at, body FROM candidates WHERE account_id = ?"
        params: list[object] = [account_id]
        if email is not None:
            sql += " AND email = ?"
            params.append(_fold(email))
        sql += " AND seq > ? ORDER BY seq LIMIT ?"
        params += [after, size + 1]
        rows = [StoredCandidate(*row) for row in self._db.execute(sql, params)]
        more = len(rows) > size
        return rows[:size], rows[size - 1].seq if more else None

    def count(self) -> int:
        (n,) = self._db.execute("SELECT count(*) FROM candidates").fetchone()
        return int(n)

    def duplicate_emails(self) -> list[str]:
        """E-mails stored more than once for the same account, in order of first creation."""
        rows = self._db.execute(
            "SELECT email FROM candidates WHERE email IS NOT NULL"
            " GROUP BY account_id, email HAVING count(*) > 1 ORDER BY min(seq)"
        )
        return [email for (email,) in rows]

    def clear(self) -> None:
        self._db.execute("DELETE FROM candidates")
        self._last_seq = 0

    def close(self) -> None:
        self._db.close()


def _fold(email: str | None) -> str | None:
    return email.lower() if email is not None else None
