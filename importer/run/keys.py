"""The mapping's key of a row: what identifies a candidate across rows of a file and across runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from importer import rules
from importer.errors import Code, ConfigError, Reject
from importer.mapping import Mapping, normalise_header, template_parts
from importer.read.tables import SourceRow

# A tuple: ``str | int | float`` in an isinstance call builds the union anew every time, which
# cost each row ~1.5 k instructions.
_KEY_TYPES = (str, int, float)


class RowKey:
    """The mapping's ``key`` of a row: the value it sends in a field, or a column's cell.

    E-mails are compared case-insensitively, so an e-mail key is case-folded; other keys (such
    as a legacy ATS's candidate id) are compared as typed, less surrounding spaces.
    """

    def __init__(self, mapping: Mapping, headers: Sequence[str]) -> None:
        self.name = mapping.key
        self.path: tuple[str, ...] | None = None
        self.column: int | None = None
        present = {normalise_header(header) for header in headers}
        spec = next((s for path, s, _ in mapping.specs() if path == f"fields.{self.name}"), None)
        if spec is not None:
            if "[" in self.name:
                raise ConfigError(
                    f'{mapping.source}: key "{self.name}" is one entry of a list, which cannot '
                    "identify a candidate; name a column, or a single-value field such as email"
                )
            self.path = tuple(self.name.split("."))
            sources = list(spec.column or [])
            if spec.template is not None:
                sources += [name for _, name in template_parts(spec.template)[1]]
            # An optional column the file lacks leaves the field, and so the key, always empty.
            self.readable = any(normalise_header(name) in present for name in sources)
        elif "key" in mapping.model_fields_set:
            wanted = normalise_header(self.name)
            self.column = next(
                (i for i, header in enumerate(headers) if normalise_header(header) == wanted), None
            )
            self.readable = self.column is not None
        else:
            self.readable = False
        self.headers = headers
        self.fold = self.path == ("email",)
        # A cell that is no value (the mapping's empty values, an Excel error such as #N/A) is
        # no key, as it is no value of the field: rows sharing it are not the same person.
        self.empty = frozenset(value.strip() for value in mapping.empty_values)

    def of(self, row: SourceRow, body: dict[str, Any] | None) -> str | None:
        """The row's key; a field's key needs the row's body (None for rejected rows)."""
        value: object = None
        if self.column is not None:
            value = row.values[self.column] if self.column < len(row.values) else None
        elif self.path is not None and body is not None:
            value = body
            for part in self.path:
                value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or not isinstance(value, _KEY_TYPES):
            return None
        text = str(value).strip()
        if not text or text in self.empty or rules.excel_error(text) is not None:
            return None
        return text.casefold() if self.fold else text

    def reject(self, row_number: int, code: Code, message: str, key: str) -> Reject:
        column = self.headers[self.column] if self.column is not None else None
        field = ".".join(self.path) if self.path is not None else None
        return Reject(row_number, code, message, field=field, column=column, value=key)
