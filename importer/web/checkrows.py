"""The check step's rows: every row of the file as checked, paged, filtered, re-checked on an edit.

The check worker writes one SQLite file per check (``rows.sqlite`` in the job's folder): each
row's cells, its outcome (ready, rejected, skipped), the problems located in its cells and the
fields a ready row sends. The server pages through it and, when a cell is corrected on the
page, checks that one row again with the importer's own rules (``RowMapper.prepare`` for the
cells, then the file-wide duplicate rule over every row), so the counts stay those the import
will find. ``tests/test_web.py`` holds the equivalence test with the dry run's results.csv.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from importer.errors import Code, Reject
from importer.mapping import Mapping, normalise_header
from importer.read.tables import SourceRow

# The dry run's own row key and ragged-row reject, so the page and the import agree.
from importer.run.pipeline import _ragged, _RowKey

ROWS_FILE = "rows.sqlite"
PAGE_SIZE = 50
SHOW = {
    "all": "1",
    "problems": "status = 'rejected'",
    "edited": "edited IS NOT NULL",
}
"""The page's filters: a name → the SQL condition on a row."""
FIELD_LABELS = {
    "name": "Full name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "E-mail",
    "company": "Company",
    "title": "Job title",
    "country": "Country",
    "phone_number": "Phone",
    "hired_at": "Hire date",
    "phone_numbers": "Phone",
    "social_links": "Link",
    "custom_fields": "Custom field",
    "passthrough": "Passed through",
    "unified_custom_fields": "Unified custom field",
}
"""How the check step names each field of the request body."""
_SCHEMA = """
CREATE TABLE rows (
    row_number INTEGER PRIMARY KEY,
    cells TEXT NOT NULL,
    own TEXT NOT NULL,
    status TEXT NOT NULL,
    problems TEXT NOT NULL,
    duplicate TEXT,
    sends TEXT,
    body TEXT,
    email TEXT,
    email_from TEXT,
    key TEXT,
    edited TEXT
);
CREATE INDEX rows_status ON rows (status, row_number);
CREATE TABLE about (headers TEXT NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Checked:
    """One row as the check sees it, before the file-wide duplicate rule."""

    status: str
    """ready, rejected or skipped."""
    problems: list[dict[str, Any]]
    body: dict[str, Any] | None
    email: str | None
    """The e-mail it sends, case-folded: two rows with the same one are duplicates."""
    email_from: tuple[str | None, str | None, str] | None
    """The column and the cell the e-mail came from, and the e-mail as sent, for the
    duplicate's message."""
    key: str | None
    """The mapping's key when it is not the e-mail (which ``email`` covers)."""


class RowChecker:
    """A mapping bound to a file's header row, checking rows one at a time."""

    def __init__(self, mapping: Mapping, headers: Sequence[str], source: str) -> None:
        self.mapper = mapping.bind(headers, source=source)
        self.keys = _RowKey(mapping, headers)
        self.headers = list(headers)
        self.where = {normalise_header(h): i for i, h in enumerate(headers)}

    def check(self, row: SourceRow) -> Checked:
        if row.is_blank:
            problem = _problem(Reject(row.row_number, Code.BLANK_ROW, "blank row"), [])
            return Checked("skipped", [problem], None, None, None, None)
        if len(row.values) != len(self.headers):
            problem = _problem(_ragged(row, len(self.headers)), [])
            return Checked("rejected", [problem], None, None, None, None)
        prepared = self.mapper.prepare(row)
        if prepared.body is None:
            problems = [self.located(reject) for reject in prepared.rejects]
            return Checked("rejected", problems, None, None, None, None)
        email = email_from = None
        if prepared.email:
            email = prepared.email.casefold()
            email_from = (*self.mapper.source_of("email", row), prepared.email)
        key = None if self.keys.fold else self.keys.of(row, prepared.body)
        return Checked("ready", [], prepared.body, email, email_from, key)

    def located(self, reject: Reject) -> dict[str, Any]:
        """A problem with the positions of the cells that cause it."""
        positions: list[int] = []
        if reject.column:
            found = self.where.get(normalise_header(reject.column))
            # a row without a name names every column that could give one: "First / Last"
            names = [reject.column] if found is not None else reject.column.split(" / ")
            positions = [
                p for name in names if (p := self.where.get(normalise_header(name))) is not None
            ]
        return _problem(reject, positions)

    def duplicates(
        self, rows: Iterable[tuple[int, str | None, str | None, str | None]]
    ) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """The duplicate problem of each ready row, in file order, as the dry run finds them.

        ``rows`` are (row number, e-mail, e-mail source, key) of the ready rows in file order;
        yields (row number, the problem or None).
        """
        first_email: dict[str, int] = {}
        first_key: dict[str, int] = {}
        for number, email, email_from, key in rows:
            problem = None
            if email is not None and email_from is not None:
                first = first_email.setdefault(email, number)
                if first != number:
                    column, cell, shown = orjson.loads(email_from)
                    where = f'column "{column}": ' if column else ""
                    reject = Reject(
                        number,
                        Code.DUPLICATE_IN_FILE,
                        f"{where}e-mail {shown} already appears in row {first}; "
                        "remove one of the two rows or give them different e-mails",
                        field="email",
                        column=column,
                        value=cell or shown,
                    )
                    problem = self.located(reject)
            if problem is None and key is not None:
                first = first_key.setdefault(key, number)
                if first != number:
                    message = (
                        f"{self.keys.name} {key} already appears in row {first}, and it is the "
                        "mapping's key, which identifies a candidate; remove one of the two rows "
                        "or correct the value"
                    )
                    problem = self.located(
                        self.keys.reject(number, Code.DUPLICATE_IN_FILE, message, key)
                    )
            yield number, problem


def _problem(reject: Reject, positions: list[int]) -> dict[str, Any]:
    return {
        "code": reject.code.value,
        "message": reject.message,
        "column": reject.column,
        "field": reject.field,
        "positions": positions,
    }


def sends(body: dict[str, Any]) -> list[list[str]]:
    """The fields of a request body as (label, value) pairs, in the order they are sent."""
    pairs: list[list[str]] = []
    for field, value in body.items():
        label = FIELD_LABELS.get(field, field)
        if field in ("phone_numbers", "social_links"):
            key = "phone" if field == "phone_numbers" else "url"
            for item in value:
                kind = item.get("type")
                pairs.append([f"{label} ({kind})" if kind else label, str(item.get(key, ""))])
        elif field == "custom_fields":
            for item in value:
                name = item.get("name") or item.get("id") or item.get("remote_id") or ""
                pairs.append([f"{label}: {name}", _text(item.get("value"))])
        elif isinstance(value, dict):
            pairs.extend([f"{label}: {key}", _text(item)] for key, item in value.items())
        else:
            pairs.append([label, _text(value)])
    return pairs


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _dumps(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class CheckRows:
    """The rows of one check in SQLite; ``checker`` re-checks a row after an edit."""

    def __init__(self, path: Path, checker: RowChecker) -> None:
        self.path = path
        self.checker = checker
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    @classmethod
    def create(cls, path: Path, checker: RowChecker) -> CheckRows:
        store = cls(path, checker)
        store.db.executescript(_SCHEMA)
        store.db.execute("INSERT INTO about VALUES (?)", (orjson.dumps(checker.headers).decode(),))
        return store

    @classmethod
    def open(cls, path: Path, mapping: Mapping, source: str) -> CheckRows:
        """The rows a check wrote, with a checker for the same mapping and header row."""
        db = sqlite3.connect(path)
        try:
            (headers,) = db.execute("SELECT headers FROM about").fetchone()
        finally:
            db.close()
        return cls(path, RowChecker(mapping, orjson.loads(headers), source))

    def close(self) -> None:
        self.db.close()

    def fill(self, rows: Iterable[SourceRow], edited: dict[int, dict[int, str]]) -> None:
        """Check and store every row; ``edited`` gives the original text of corrected cells."""
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO rows VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
            (self._record(row, edited.get(row.row_number)) for row in rows),
        )
        self._settle_duplicates()
        self.db.execute("COMMIT")

    def _record(self, row: SourceRow, originals: dict[int, str] | None) -> tuple[Any, ...]:
        checked = self.checker.check(row)
        return (
            row.row_number,
            orjson.dumps(row.values).decode(),
            checked.status,
            checked.status,
            orjson.dumps(checked.problems).decode(),
            None if checked.body is None else orjson.dumps(sends(checked.body)).decode(),
            _dumps(checked.body),
            checked.email,
            _dumps(checked.email_from),
            checked.key,
            _dumps(originals or None),
        )

    def _settle_duplicates(self) -> list[int]:
        """Apply the duplicate rule to every ready row; the rows whose outcome changed."""
        current = self.db.execute(
            "SELECT row_number, email, email_from, key, duplicate FROM rows "
            "WHERE own = 'ready' ORDER BY row_number"
        ).fetchall()
        before = {number: duplicate for number, _, _, _, duplicate in current}
        changes = []
        for number, problem in self.checker.duplicates(row[:4] for row in current):
            text = _dumps(problem)
            if text != before[number]:
                changes.append((text, "ready" if problem is None else "rejected", number))
        self.db.executemany(
            "UPDATE rows SET duplicate = ?, status = ? WHERE row_number = ?", changes
        )
        return [number for _, _, number in changes]

    def edit(self, number: int, position: int, text: str) -> tuple[list[int], str]:
        """Put ``text`` in a cell and check the row again.

        Returns the rows whose outcome changed and the cell's text in the file. Raises
        ``KeyError`` for a row or a cell the file does not have.
        """
        found = self.db.execute(
            "SELECT cells, edited FROM rows WHERE row_number = ?", (number,)
        ).fetchone()
        if found is None:
            raise KeyError(f"the file has no row {number}")
        cells = list(orjson.loads(found[0]))
        if not 0 <= position < len(cells):
            raise KeyError(f"row {number} has no cell in column {position + 1}")
        originals = {int(k): v for k, v in orjson.loads(found[1] or "{}").items()}
        original = originals.get(position, cells[position])
        if text == original:
            originals.pop(position, None)
        else:
            originals[position] = original
        cells[position] = text
        self.db.execute("BEGIN")
        record = self._record(SourceRow(number, tuple(cells)), originals)
        self.db.execute(
            "UPDATE rows SET cells = ?, own = ?, status = ?, problems = ?, duplicate = NULL, "
            "sends = ?, body = ?, email = ?, email_from = ?, key = ?, edited = ? "
            "WHERE row_number = ?",
            (*record[1:], number),
        )
        changed = {number, *self._settle_duplicates()}
        self.db.execute("COMMIT")
        return sorted(changed), original

    def summary(self) -> dict[str, Any]:
        return {
            "headers": self.checker.headers,
            "counts": self.counts(),
            "by_code": self.by_code(),
        }

    def counts(self) -> dict[str, int]:
        by_status = dict(self.db.execute("SELECT status, count(*) FROM rows GROUP BY status"))
        (duplicates,) = self.db.execute(
            "SELECT count(*) FROM rows WHERE duplicate IS NOT NULL"
        ).fetchone()
        (edited,) = self.db.execute(
            "SELECT coalesce(sum((SELECT count(*) FROM json_each(edited))), 0) FROM rows "
            "WHERE edited IS NOT NULL"
        ).fetchone()
        return {
            "rows": sum(by_status.values()),
            "ready": by_status.get("ready", 0),
            "rejected": by_status.get("rejected", 0),
            "skipped": by_status.get("skipped", 0),
            "duplicates": duplicates,
            "edited_cells": edited,
        }

    def by_code(self) -> dict[str, int]:
        """Rejected rows by the code of each problem (a row with two codes counts under both)."""
        found = self.db.execute(
            "SELECT code, count(DISTINCT row_number) FROM ("
            " SELECT row_number, json_extract(p.value, '$.code') AS code"
            " FROM rows, json_each(rows.problems) AS p WHERE status = 'rejected'"
            " UNION ALL SELECT row_number, json_extract(duplicate, '$.code') FROM rows"
            " WHERE duplicate IS NOT NULL) GROUP BY code"
            " ORDER BY count(DISTINCT row_number) DESC, min(row_number)"
        )
        return dict(found)

    def page(self, show: str, page: int) -> dict[str, Any]:
        """One page of the rows ``show`` selects (a key of ``SHOW``), 1 being the first."""
        where = SHOW[show]
        (matching,) = self.db.execute(f"SELECT count(*) FROM rows WHERE {where}").fetchone()
        pages = max(1, -(-matching // PAGE_SIZE))
        page = min(max(1, page), pages)
        found = self.db.execute(
            f"SELECT * FROM rows WHERE {where} ORDER BY row_number LIMIT ? OFFSET ?",
            (PAGE_SIZE, (page - 1) * PAGE_SIZE),
        )
        return {
            "show": show,
            "page": page,
            "pages": pages,
            "matching": matching,
            "rows": [_row_json(record) for record in found],
        }

    def rows(self, numbers: Iterable[int]) -> list[dict[str, Any]]:
        wanted = list(numbers)
        found = self.db.execute(
            f"SELECT * FROM rows WHERE row_number IN ({','.join('?' * len(wanted))})", wanted
        )
        return [_row_json(record) for record in found]


def _row_json(record: tuple[Any, ...]) -> dict[str, Any]:
    (number, cells, _, status, problems, duplicate, pairs, body, _, _, _, edited) = record
    found = orjson.loads(problems)
    if duplicate is not None:
        found.append(orjson.loads(duplicate))
    return {
        "row_number": number,
        "cells": orjson.loads(cells),
        "status": status,
        "problems": found,
        "sends": None if pairs is None or status != "ready" else orjson.loads(pairs),
        "body": None if body is None or status != "ready" else orjson.loads(body),
        "edited": orjson.loads(edited) if edited else {},
    }
