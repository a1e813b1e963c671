"""The check step's rows: every row of the file as checked, paged, filtered, re-checked on an edit.

The check worker writes one SQLite file per check (``rows.sqlite`` in the job's folder): each
row's cells, its outcome (ready, rejected, skipped), the problems located in its cells and the
fields a ready row sends. The server pages through it and, when a cell is corrected on the
page, checks that one row again with the importer's own rules (``run.check``: the row on its
own, then the check across rows: duplicates, a routed row's account), so the counts stay those
the import will find. ``tests/test_web.py`` holds the equivalence test with the dry run's
results.csv.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from importer.errors import Code, Reject, RowWarning
from importer.mapping import Mapping, Prepared, normalise_header
from importer.read.tables import SourceRow
from importer.record.outcomes import RowOutcome
from importer.run.accounts import RowAccount
from importer.run.check import Checker, HeaderAgain, screen, skipped_as_shown
from importer.run.keys import RowKey

ROWS_FILE = "rows.sqlite"
PAGE_SIZE = 50
MAX_CELL = 32767
"""The longest text a corrected cell may hold: Excel's own limit for a cell."""
_LAST_ROW = 2**63 - 1
"""SQLite's largest INTEGER: a row number past it cannot even be looked up."""
SHOW = {
    "all": "1",
    "problems": "status = 'rejected'",
    "warnings": "status = 'ready' AND warnings IS NOT NULL",
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
    across TEXT,
    locked INTEGER NOT NULL,
    sends TEXT,
    body TEXT,
    warnings TEXT,
    email TEXT,
    edited TEXT
);
CREATE INDEX rows_status ON rows (status, row_number);
CREATE INDEX rows_email ON rows (email);
CREATE TABLE about (headers TEXT NOT NULL, links TEXT NOT NULL);
"""


class EditRefused(Exception):
    """A correction the check step cannot take; ``code`` is stable kebab-case, the message
    says why in the page's words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Checked:
    """One row as the check sees it, before the file-wide duplicate rule."""

    status: str
    """ready, rejected or skipped."""
    problems: list[dict[str, Any]]
    body: dict[str, Any] | None
    locked: bool = False
    """The row's shape is wrong (ragged, or misread): no cell edit can mend it."""
    warnings: list[dict[str, Any]] | None = None
    """What a ready row is sent without, or differently from typed."""


class RowChecker:
    """A mapping bound to a file's header row, checking rows with the import's own stages."""

    def __init__(
        self,
        mapping: Mapping,
        headers: Sequence[str],
        source: str,
        hidden: frozenset[int] = frozenset(),
    ) -> None:
        """``hidden``: the rows the sheet hides, which the page's imports skip."""
        self.hidden = hidden
        self.header = HeaderAgain(headers)
        self.mapper = mapping.bind(headers, source=source)
        self.keys = RowKey(mapping, headers)
        column = mapping.account.column if mapping.account is not None else None
        self.accounts = RowAccount(column, headers, source, None)
        self.headers = list(headers)
        self.where = {normalise_header(h): i for i, h in enumerate(headers)}

    def check(self, row: SourceRow) -> Checked:
        """The row on its own: misread, blank, ragged, or mapped and validated."""
        if row.problem is not None:
            return Checked("rejected", [self.located(row.problem)], None, locked=True)
        shown = skipped_as_shown(row, self.hidden, self.header)
        if shown is not None:
            return Checked("skipped", [self.located(r) for r in shown.rejects], None, locked=True)
        screened = screen(row, len(self.headers))
        if screened is not None:
            problems = [self.located(reject) for reject in screened.rejects]
            return Checked(screened.status.value, problems, None, locked=not row.is_blank)
        prepared = self.mapper.prepare(row)
        if prepared.body is None:
            return Checked("rejected", [self.located(r) for r in prepared.rejects], None)
        warnings = [self.located(w) for w in prepared.warnings] or None
        return Checked("ready", [], prepared.body, warnings=warnings)

    def located(self, reject: Reject | RowWarning) -> dict[str, Any]:
        """A problem or a warning with the positions of the cells that cause it."""
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
        self, rows: Iterable[tuple[int, tuple[str, ...], dict[str, Any]]]
    ) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """What the import's check across rows finds (or None) for each ready row: a
        duplicate, or a row routed to no account.

        ``rows`` are the ready rows in file order: number, cells and the body each sends.
        """
        checker = Checker(self.mapper, self.keys, len(self.headers), self.accounts, serialise=False)
        for number, cells, body in rows:
            prepared = Prepared(number, body, body.get("email"), ())
            outcome = checker.check(SourceRow(number, cells), prepared)
            yield (
                number,
                self.located(outcome.rejects[0]) if isinstance(outcome, RowOutcome) else None,
            )


def _check_text(text: str) -> None:
    """Refuse what no cell can hold: more than Excel takes, or an unpaired UTF-16 surrogate
    (a broken copy and paste), which neither SQLite nor a workbook can store."""
    if len(text) > MAX_CELL:
        raise EditRefused("cell-too-long", f"a cell holds at most {MAX_CELL:,} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise EditRefused(
            "cell-not-text",
            f"character {error.start + 1} of the text is half of a character (U+"
            f"{ord(text[error.start]):04X}), which no file can hold: type the text again",
        ) from None


def _problem(reject: Reject | RowWarning, positions: list[int]) -> dict[str, Any]:
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


def _email(body: dict[str, Any] | None) -> str | None:
    """The e-mail a body sends as the duplicate check compares it (any case)."""
    email = None if body is None else body.get("email")
    return email.casefold() if isinstance(email, str) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _dumps(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class CheckRows:
    """The rows of one check in SQLite; ``checker`` re-checks a row after an edit."""

    def __init__(self, path: Path, checker: RowChecker, links: Sequence[int] = ()) -> None:
        """``links``: the table's ``link_sources``, the columns its last ones hold links of."""
        self.path = path
        self.checker = checker
        self.links = tuple(links)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    @classmethod
    def create(cls, path: Path, checker: RowChecker, links: Sequence[int] = ()) -> CheckRows:
        store = cls(path, checker, links)
        store.db.executescript(_SCHEMA)
        store.db.execute(
            "INSERT INTO about VALUES (?, ?)",
            (orjson.dumps(checker.headers).decode(), orjson.dumps(list(links)).decode()),
        )
        return store

    @classmethod
    def open(cls, path: Path, mapping: Mapping, source: str) -> CheckRows:
        """The rows a check wrote, with a checker for the same mapping and header row."""
        db = sqlite3.connect(path)
        try:
            headers, links = db.execute("SELECT headers, links FROM about").fetchone()
        finally:
            db.close()
        return cls(path, RowChecker(mapping, orjson.loads(headers), source), orjson.loads(links))

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
            int(checked.locked),
            None if checked.body is None else orjson.dumps(sends(checked.body)).decode(),
            _dumps(checked.body),
            _dumps(checked.warnings),
            _email(checked.body),
            _dumps(originals or None),
        )

    def _settle_duplicates(self, emails: set[str] | None = None) -> list[int]:
        """Apply the duplicate check to the ready rows; the rows whose outcome changed.

        ``emails``: only the rows sending one of these e-mails, which is enough when the
        e-mail is the only thing two rows can share (the mapping's key is the e-mail).
        """
        query = "SELECT row_number, cells, body, across FROM rows WHERE own = 'ready'"
        found: list[str] = []
        if emails is not None:
            found = sorted(emails)
            query += f" AND email IN ({','.join('?' * len(found))})"
        current = self.db.execute(query + " ORDER BY row_number", found).fetchall()
        before = {number: duplicate for number, _, _, duplicate in current}
        ready = (
            (number, tuple(orjson.loads(cells)), orjson.loads(body))
            for number, cells, body, _ in current
        )
        changes = []
        for number, problem in self.checker.duplicates(ready):
            text = _dumps(problem)
            if text != before[number]:
                changes.append((text, "ready" if problem is None else "rejected", number))
        self.db.executemany("UPDATE rows SET across = ?, status = ? WHERE row_number = ?", changes)
        return [number for _, _, number in changes]

    def edit(self, number: int, position: int, text: str) -> tuple[list[int], str]:
        """Put ``text`` in a cell and check the row again.

        Returns the rows whose outcome changed and the cell's text in the file. Raises
        ``EditRefused`` for a row or a cell the file does not have, or text no cell can hold,
        before anything is written.
        """
        _check_text(text)
        cells, edited, email, twins = self._editable(number, position)
        originals = {int(k): v for k, v in orjson.loads(edited or "{}").items()}
        original = originals.get(position, cells[position])
        if text == original:
            originals.pop(position, None)
        else:
            originals[position] = original
        cells[position] = text
        for twin in (t for t, base in twins.items() if base == position):
            # a cell typed over loses its link (``edits.edited``); put back as typed, it keeps it
            if position in originals and cells[twin]:
                originals[twin], cells[twin] = cells[twin], ""
            elif position not in originals and twin in originals:
                cells[twin] = originals.pop(twin)
        self.db.execute("BEGIN")
        try:
            record = self._record(SourceRow(number, tuple(cells)), originals)
            self.db.execute(
                "UPDATE rows SET cells = ?, own = ?, status = ?, problems = ?, locked = ?, "
                "across = NULL, sends = ?, body = ?, warnings = ?, email = ?, edited = ? "
                "WHERE row_number = ?",
                (*record[1:], number),
            )
            emails = None
            if self.checker.keys.fold or not self.checker.keys.readable:
                emails = {e for e in (email, record[9]) if e is not None}
            changed = {number, *self._settle_duplicates(emails)}
        except BaseException:
            # left open, the transaction would refuse every later edit ("within a transaction")
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return sorted(changed), original

    def _editable(
        self, number: int, position: int
    ) -> tuple[list[str], str | None, str | None, dict[int, int]]:
        """Row ``number``'s cells, the file's text of those edited (JSON), its e-mail and its
        links' columns (twin → its column); ``EditRefused`` unless cell ``position`` may be
        edited."""
        found = None
        if 0 < number <= _LAST_ROW:
            found = self.db.execute(
                "SELECT cells, edited, email, locked FROM rows WHERE row_number = ?", (number,)
            ).fetchone()
        if found is None:
            raise EditRefused("no-such-row", f"the file has no row {number}")
        if found[3]:
            raise EditRefused(
                "row-misread",
                f"row {number} was not read as the file meant it (see its problem): correct it "
                "in the file itself and upload the file again",
            )
        cells = list(orjson.loads(found[0]))
        if not 0 <= position < len(cells):
            raise EditRefused("no-such-cell", f"row {number} has no cell in column {position + 1}")
        twins = dict(enumerate(self.links, len(cells) - len(self.links)))
        if position in twins:
            base = self.checker.headers[twins[position]]
            raise EditRefused(
                "link-column",
                f'column {position + 1} holds the web address the cell of column "{base}" links '
                f"to in the file: correct that cell, and what you type is read instead",
            )
        return cells, found[1], found[2], twins

    def summary(self) -> dict[str, Any]:
        return {
            "headers": self.checker.headers,
            "counts": self.counts(),
            "by_code": self.by_code(),
            "by_skip": self.by_skip(),
            "by_warning": self.by_warning(),
        }

    def by_skip(self) -> dict[str, int]:
        """Skipped rows by why: blank, or hidden in the sheet."""
        found = self.db.execute(
            "SELECT json_extract(p.value, '$.code') AS code, count(DISTINCT row_number)"
            " FROM rows, json_each(rows.problems) AS p WHERE status = 'skipped'"
            " GROUP BY code ORDER BY count(DISTINCT row_number) DESC, min(row_number)"
        )
        return dict(found)

    def by_warning(self) -> dict[str, int]:
        """Ready rows by the code of each warning (a row with two codes counts under both)."""
        found = self.db.execute(
            "SELECT json_extract(w.value, '$.code') AS code, count(DISTINCT row_number)"
            f" FROM rows, json_each(rows.warnings) AS w WHERE {SHOW['warnings']}"
            " GROUP BY code ORDER BY count(DISTINCT row_number) DESC, min(row_number)"
        )
        return dict(found)

    def counts(self) -> dict[str, int]:
        by_status = dict(self.db.execute("SELECT status, count(*) FROM rows GROUP BY status"))
        (duplicates,) = self.db.execute(
            "SELECT count(*) FROM rows WHERE json_extract(across, '$.code') = ?",
            (Code.DUPLICATE_IN_FILE.value,),
        ).fetchone()
        (warned,) = self.db.execute(
            f"SELECT count(*) FROM rows WHERE {SHOW['warnings']}"
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
            "warnings": warned,
            "edited_cells": edited,
        }

    def by_code(self) -> dict[str, int]:
        """Rejected rows by the code of each problem (a row with two codes counts under both)."""
        found = self.db.execute(
            "SELECT code, count(DISTINCT row_number) FROM ("
            " SELECT row_number, json_extract(p.value, '$.code') AS code"
            " FROM rows, json_each(rows.problems) AS p WHERE status = 'rejected'"
            " UNION ALL SELECT row_number, json_extract(across, '$.code') FROM rows"
            " WHERE across IS NOT NULL) GROUP BY code"
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
    (number, cells, _, status, problems, across, locked, pairs, body, warned, _, edited) = record
    found = orjson.loads(problems)
    if across is not None:
        found.append(orjson.loads(across))
    return {
        "row_number": number,
        "cells": orjson.loads(cells),
        "status": status,
        "problems": found,
        "sends": None if pairs is None or status != "ready" else orjson.loads(pairs),
        "body": None if body is None or status != "ready" else orjson.loads(body),
        "warnings": orjson.loads(warned) if warned and status == "ready" else [],
        "edited": orjson.loads(edited) if edited else {},
        "locked": bool(locked),
    }
