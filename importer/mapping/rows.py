"""Building a request body from a row: every compiled field, then the request model's check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import orjson
from pydantic import (
    ValidationError,
)

from importer import rules
from importer.errors import Code, ConfigError, MissingColumnError, Reject, RowWarning
from importer.mapping.compile import (
    Failure,
    Headers,
    Origin,
    Program,
    Run,
    Warned,
    compile_entry,
)
from importer.mapping.models import MAX_REQUEST_BYTES, CandidateCreate, field_errors
from importer.mapping.schema import (
    AS_KINDS,
    NAME_FIELDS,
    SCALAR_KINDS,
    Kind,
    Mapping,
    ValueSpec,
    columns_of,
)
from importer.read.headers import normalise_header
from importer.read.tables import SourceRow
from importer.rules.text import NO_VALUE


class Prepared(NamedTuple):
    """One row mapped and validated: the body to send and its warnings, or every problem that
    stops it.

    A named tuple: one is made per row, several times faster than a frozen dataclass."""

    row_number: int
    body: dict[str, Any] | None
    email: str | None
    rejects: tuple[Reject, ...]
    warnings: tuple[RowWarning, ...] = ()


PreparedFields = tuple[
    int, dict[str, Any] | None, str | None, tuple[Reject, ...], tuple[RowWarning, ...]
]
"""``Prepared``'s fields in a plain tuple, as the rows a worker process mapped are handed on:
a named tuple costs the main process ~3 k instructions a row to build, a plain tuple next to
nothing. A ``Prepared`` is one too."""

Problems = list[tuple[str, Failure]]
Cautions = list[tuple[str, Warned]]
Trace = dict[str, Origin]


class RowMapper:
    """A mapping compiled against one header row; ``prepare`` maps and validates a row.

    Compiling resolves every column to its position and every rule to a function once, so
    preparing a row reads cells by index and calls only the rules the mapping names.
    """

    def __init__(self, mapping: Mapping, headers: Sequence[str], source: str = "") -> None:
        found = Headers(headers)
        empty = mapping.empty_values
        fields = mapping.fields

        def compile_(spec: ValueSpec, kind: Kind, multi: bool = False) -> Program | None:
            return compile_entry(spec, kind, found, empty, multi)

        self._scalars: list[tuple[str, Run, Program]] = []
        for name, kind in SCALAR_KINDS.items():
            spec = getattr(fields, name)
            if spec is not None and (program := compile_(spec, kind)) is not None:
                self._scalars.append((name, program.run, program))
        self._phones: list[tuple[Program, Program | None]] = []
        for phone in fields.phone_numbers:
            if (program := compile_(phone, "phone", multi=True)) is not None:
                type_ = None if phone.type is None else compile_(phone.type, "phone-type")
                self._phones.append((program, type_))
        self._links: list[tuple[Program, Program | None]] = []
        for link in fields.social_links:
            if (program := compile_(link, "url", multi=True)) is not None:
                derived = link.type is None or link.type.const == "from_domain"
                type_ = None if derived or link.type is None else compile_(link.type, "link-type")
                self._links.append((program, type_))
        self._link_types = {
            **rules.LINK_TYPES,
            **{k.lower(): v for k, v in mapping.link_types.items()},
        }
        self._custom: list[tuple[Program, dict[str, str], bool]] = []
        for custom in fields.custom_fields:
            multi = custom.split is not None
            if (program := compile_(custom, AS_KINDS[custom.as_], multi)) is not None:
                names = {"id": custom.id, "remote_id": custom.remote_id, "name": custom.name}
                base = {key: value for key, value in names.items() if value is not None}
                self._custom.append((program, base, multi))
        self._groups: list[tuple[str, list[tuple[str, str, Program, bool]]]] = []
        for group in ("passthrough", "unified_custom_fields"):
            entries = []
            for key, typed in getattr(fields, group).items():
                multi = typed.split is not None
                if (program := compile_(typed, AS_KINDS[typed.as_], multi)) is not None:
                    entries.append((key, f"{group}.{key}", program, multi))
            if entries:
                self._groups.append((group, entries))

        self._refuse_unusable(mapping, found, source)
        self._missing_name = _missing_name_failure(mapping, found)
        self._labels = list(headers)
        read = {
            normalise_header(name) for _, spec, _ in mapping.specs() for name in columns_of(spec)
        }
        # The columns a body can hold, where a too large body's big cell is looked for.
        self._read = [i for i, label in enumerate(headers) if normalise_header(label) in read]
        programs = [program for _, _, program in self._scalars]
        programs += [p for pair in (*self._phones, *self._links) for p in pair if p is not None]
        programs += [program for program, _, _ in self._custom]
        programs += [program for _, entries in self._groups for _, _, program, _ in entries]
        # When every value is proven, a body with no problem is one the model accepts: its
        # check would build a model instance per row only to throw it away.
        self._check_model = not all(program.proven for program in programs)

    def _refuse_unusable(self, mapping: Mapping, found: Headers, source: str) -> None:
        """Stop before any row when no row could be sent: no name, a mapped column missing,
        or a column that two headers name."""
        named = {name for name, _, _ in self._scalars if name in NAME_FIELDS}
        if "name" not in named and not {"first_name", "last_name"} <= named:
            # Every row would be a missing-name reject: better to send nothing and say why.
            unbound = [getattr(mapping.fields, name) for name in NAME_FIELDS if name not in named]
            found.missing.extend(
                c for spec in unbound if spec is not None for c in columns_of(spec)
            )
            if not found.missing:
                raise ConfigError(
                    f"{mapping.source or 'the mapping'}: no field gives a name; map name, or "
                    "first_name and last_name (the API needs a name for every candidate)"
                )
        if found.missing:
            raise MissingColumnError(
                list(dict.fromkeys(found.missing)),
                found.labels,
                source,
                list(dict.fromkeys(found.alternatives)),
            )
        if found.ambiguous:
            where = f"{source}: " if source else ""
            raise ConfigError(
                f"{where}the header row has the same column twice: "
                + "; ".join(found.ambiguous.values())
                + "; rename one of them"
            )

    def prepare(self, row: SourceRow) -> Prepared:
        """Map one row to a validated request body, or to every problem that stops it.

        ``row.values`` must line up with the header row given to ``bind`` (the pipeline turns
        ragged rows into rejects before they get here).
        """
        values = row.values
        problems: Problems = []
        cautions: Cautions = []
        body = self._build(values, problems, cautions, None)
        if self._check_model:
            try:
                CandidateCreate.model_validate(body)
            except ValidationError as error:
                problems.extend(self._locate(values, error))
        if (
            "name" not in body
            and ("first_name" not in body or "last_name" not in body)
            and not any(field in NAME_FIELDS for field, _ in problems)
        ):
            half = (
                "first_name" if "first_name" in body else "last_name" if "last_name" in body else ""
            )
            problems.append(("name", _missing_name(self._missing_name[half], cautions)))
        if problems:
            number = row.row_number
            rejects = tuple(
                Reject(number, f.code, f.message, field, f.column, f.value) for field, f in problems
            )
            return Prepared(number, None, None, rejects)
        # JSON spends at most 6 bytes a character (a \u escape), so a row whose cells hold less
        # than a sixth of the limit cannot reach it: only the rare long row is serialised here.
        # The cells joined are counted in a third of the time sum(map(len, ...)) takes.
        if len("".join(values)) * 6 > MAX_REQUEST_BYTES:
            too_large = self._too_large(row, len(orjson.dumps(body)))
            if too_large is not None:
                return Prepared(row.row_number, None, None, (too_large,))
        if cautions:
            number = row.row_number
            warnings = tuple(
                RowWarning(number, w.code, w.message, field, w.column, w.cell)
                for field, w in cautions
            )
            return Prepared(number, body, body.get("email"), (), warnings)
        return Prepared(row.row_number, body, body.get("email"), ())

    def _too_large(self, row: SourceRow, size: int) -> Reject | None:
        if size <= MAX_REQUEST_BYTES:
            return None
        values = row.values
        biggest = max(self._read or range(len(values)), key=lambda index: len(values[index]))
        column = self._labels[biggest] if biggest < len(self._labels) else None
        return Reject(
            row.row_number,
            Code.TOO_LARGE,
            f"the request for this row would be {size / 1e6:.1f} MB, more than the "
            f'{MAX_REQUEST_BYTES / 1e6:.0f} MB that can be sent; column "{column}" holds '
            f"{len(values[biggest]):,} characters: shorten the cell, or leave the column out of "
            "the mapping",
            column=column,
        )

    def source_of(self, field: str, row: SourceRow) -> tuple[str | None, str | None]:
        """The column (header) and the cell, as typed, that gave a single-value field its value."""
        for name, _, program in self._scalars:
            if name == field:
                column, cell, _ = program.origin(row.values)
                return column, cell
        return None, None

    def _build(
        self, row: Sequence[str], problems: Problems, cautions: Cautions, trace: Trace | None
    ) -> dict[str, Any]:
        """The body with every value that converted; failed list items stay as {} so that
        indexes match the field paths. ``cautions`` collects the values sent (or left out) with
        a warning, ``trace`` (when given) where values came from."""
        body: dict[str, Any] = {}
        for name, run, program in self._scalars:
            value = run(row)
            if type(value) is not str:  # nearly every value is: one test instead of three
                if value is NO_VALUE:
                    continue
                if type(value) is Failure:
                    problems.append((name, value))
                    continue
                if type(value) is Warned:
                    cautions.append((name, value))
                    value = value.value
                    if value is NO_VALUE:
                        continue
            body[name] = value
            if trace is not None:
                trace[name] = program.origin(row)
        if self._phones:
            phones = self._build_items(
                self._phones, "phone_numbers", "phone", row, problems, cautions, trace
            )
            if phones:
                body["phone_numbers"] = phones
        if self._links:
            links = self._build_items(
                self._links, "social_links", "url", row, problems, cautions, trace
            )
            if links:
                body["social_links"] = links
        if self._custom:
            customs = self._build_custom(row, problems, cautions, trace)
            if customs:
                body["custom_fields"] = customs
        for group, entries in self._groups:
            values: dict[str, Any] = {}
            for key, path, program, multi in entries:
                value = _settle(_unwarned(program.run(row), path, cautions), multi)
                if value is NO_VALUE:
                    continue
                if type(value) is _Failed:
                    problems.extend((path, failure) for failure in value.failures)
                    continue
                values[key] = value
                if trace is not None:
                    trace[path] = program.origin(row)
            if values:
                body[group] = values
        return body

    def _build_items(
        self,
        entries: list[tuple[Program, Program | None]],
        field: str,
        value_key: str,
        row: Sequence[str],
        problems: Problems,
        cautions: Cautions,
        trace: Trace | None,
    ) -> list[dict[str, Any]]:
        """``phone_numbers`` or ``social_links``: one item per value of every entry's cell(s).

        A link entry without a ``type`` takes it from the link's domain; a phone has none then.
        """
        derive_link_type = field == "social_links"
        items: list[dict[str, Any]] = []
        for program, type_program in entries:
            values = program.run(row)
            if not values:
                continue
            kind = NO_VALUE if type_program is None else type_program.run(row)
            for value in values:
                if type(value) is not str:  # nearly every value is: one test instead of two
                    if type(value) is Failure:
                        problems.append((f"{field}[{len(items)}].{value_key}", value))
                        items.append({})
                        continue
                    if type(value) is Warned:
                        if value.value is NO_VALUE:
                            cautions.append((field, value))
                            continue
                        cautions.append((f"{field}[{len(items)}].{value_key}", value))
                        value = value.value
                item = {value_key: value}
                if type_program is None:
                    if derive_link_type:
                        item["type"] = rules.link_type(value, self._link_types)
                elif type(kind) is Failure:
                    problems.append((f"{field}[{len(items)}].type", kind))
                    kind = NO_VALUE  # one reject for the cell, not one per value in it
                elif kind is not NO_VALUE:
                    item["type"] = kind
                if trace is not None:
                    path = f"{field}[{len(items)}]"
                    trace[f"{path}.{value_key}"] = program.origin(row)
                    if type_program is not None:
                        trace[f"{path}.type"] = type_program.origin(row)
                items.append(item)
        return items

    def _build_custom(
        self, row: Sequence[str], problems: Problems, cautions: Cautions, trace: Trace | None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for program, base, multi in self._custom:
            value = program.run(row)
            if type(value) is not str:  # text, the usual value, needs neither step
                value = _settle(_unwarned(value, "custom_fields", cautions), multi)
            if value is NO_VALUE:
                continue
            if type(value) is _Failed:
                path = f"custom_fields[{len(items)}].value"
                problems.extend((path, failure) for failure in value.failures)
                items.append({})
                continue
            if trace is not None:
                trace[f"custom_fields[{len(items)}].value"] = program.origin(row)
            items.append({**base, "value": value})
        return items

    def _locate(self, row: Sequence[str], error: ValidationError) -> Problems:
        """Turn the request model's complaints back into the user's columns and cells."""
        trace: Trace = {}
        self._build(row, [], [], trace)
        located: Problems = []
        for problem in field_errors(error):
            column, value, phrase = _origin_of(trace, problem.field)
            code = Code.INVALID_DATE if problem.field == "hired_at" else Code.INVALID_VALUE
            message = (
                f'{phrase}: "{problem.value}" cannot be sent as {problem.field}, which '
                f"{problem.message}; correct the cell or translate it in the mapping"
            )
            located.append((problem.field, Failure(code, message, column, value)))
        return located


@dataclass(frozen=True, slots=True)
class _Failed:
    """A typed value that failed: every failure of its cell."""

    failures: list[Failure]


def _unwarned(out: Any, path: str, cautions: Cautions) -> Any:
    """A typed program's output with its warned values collected and replaced by their value
    (or, for those left out, removed)."""
    if type(out) is Warned:
        cautions.append((path, out))
        return out.value
    if type(out) is list and any(type(item) is Warned for item in out):
        values = []
        for item in out:
            if type(item) is Warned:
                cautions.append((path, item))
                if item.value is NO_VALUE:
                    continue
                item = item.value
            values.append(item)
        return values
    return out


def _settle(out: Any, multi: bool) -> Any:
    """A typed program's output as its value (a list when ``multi``), NO_VALUE, or _Failed."""
    if multi:
        if not out:
            return NO_VALUE
        failures = [item for item in out if type(item) is Failure]
        return _Failed(failures) if failures else out
    if type(out) is Failure:
        return _Failed([out])
    return out


def _origin_of(trace: Trace, field: str) -> Origin:
    path = field
    while path:
        if path in trace:
            return trace[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None, None, field


def _missing_name(failure: Failure, cautions: Cautions) -> Failure:
    """The row's missing-name reject, saying why a name cell it has was no name (an Excel error
    such as #N/A, nothing but invisible characters): the cell is not empty, so "fill in" alone
    would not tell the user what to change."""
    why = [w.message for field, w in cautions if field in NAME_FIELDS and w.value is NO_VALUE]
    if not why:
        return failure
    return replace(failure, message="; ".join([failure.message, *why]))


def _missing_name_failure(mapping: Mapping, headers: Headers) -> dict[str, Failure]:
    """The rejects for a row without a name, naming the columns that could give one: by the
    half of a name the row has ("first_name", "last_name"), "" for none."""

    def columns(name: str) -> list[str]:
        spec = getattr(mapping.fields, name)
        if spec is None:
            return []
        found = [headers.find(column) for column in columns_of(spec)]
        return [headers.labels[p] for p in found if p is not None]

    name, first, last = columns("name"), columns("first_name"), columns("last_name")
    choices = []
    if name:
        choices.append(" or ".join(f'"{label}"' for label in name))
    if first and last:
        choices.append(f'both "{first[0]}" and "{last[0]}"')
    labels = " / ".join(name + first + last) or None
    if not choices:
        message = (
            "the mapping gives no name: map name, or first_name and last_name (the API needs one)"
        )
        return dict.fromkeys(
            ("", "first_name", "last_name"), Failure(Code.MISSING_NAME, message, labels, None)
        )
    failures = {
        "": Failure(
            Code.MISSING_NAME, f"the row has no name; fill in {', or '.join(choices)}", labels, None
        )
    }
    for half, has, lacks in (("first_name", "first", last), ("last_name", "last", first)):
        fill = " or ".join(f'"{label}"' for label in [*lacks[:1], *name])
        failures[half] = Failure(
            Code.MISSING_NAME,
            f"the row has a {has} name but no {'last' if has == 'first' else 'first'} name, and "
            f"the API needs both, or a full name; fill in {fill}",
            labels,
            None,
        )
    return failures
