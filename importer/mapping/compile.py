"""Compiling one mapping entry against a header row into a program that reads a row's cells."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from importer import rules
from importer.errors import Code, WarningCode
from importer.mapping.convert import (
    Convert,
    constant,
    converter,
    excuse_for,
    finisher,
    lenient,
)
from importer.mapping.schema import (
    FieldSpec,
    Kind,
    PhoneFieldSpec,
    ValueSpec,
    read_columns,
    template_parts,
)
from importer.read.headers import SHOWN_TWINS, column_letter, header_label, normalise_header
from importer.rules.text import NO_VALUE

# -- binding: compile the mapping against a header row ---------------------------------------


class Headers:
    """Finds mapped columns in a header row and collects what is missing or ambiguous."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.labels = [header_label(h) for h in headers]
        self.positions: dict[str, list[int]] = {}
        for position, label in enumerate(self.labels):
            self.positions.setdefault(normalise_header(label), []).append(position)
        self.missing: list[str] = []
        # lists of alternative columns of which none is in the file (any one would do)
        self.alternatives: list[tuple[str, ...]] = []
        self.ambiguous: dict[str, str] = {}

    def find(self, name: str) -> int | None:
        positions = self.positions.get(normalise_header(name))
        if not positions:
            return None
        if len(positions) > 1:
            shown = [
                f'column {p + 1} ({column_letter(p)}) "{self.labels[p]}"'
                for p in positions[:SHOWN_TWINS]
            ]
            where = " and ".join(shown)
            if len(positions) > SHOWN_TWINS:
                where = f"{len(positions):,} columns: {', '.join(shown)}, …"
            self.ambiguous[normalise_header(name)] = f'"{name}" matches {where}'
        return positions[0]


@dataclass(frozen=True, slots=True)
class Failure:
    code: Code
    message: str
    column: str | None
    value: str | None


@dataclass(frozen=True, slots=True)
class Warned:
    """A value to send (or NO_VALUE: one left out) and the warning about it."""

    value: Any
    code: WarningCode
    message: str
    column: str | None
    cell: str | None


Read = Callable[[Sequence[str]], tuple[str, int]]
Run = Callable[[Sequence[str]], Any]


@dataclass(frozen=True, slots=True)
class Program:
    """One value spec compiled: ``run`` gives the value (or NO_VALUE, a Failure, a Warned, or for
    a multi program a list of values, failures and warned values); ``origin`` says which column
    and cell it came from. ``proven``: every value it gives is one that ``CandidateCreate``
    accepts where it goes."""

    run: Run
    origin: Callable[[Sequence[str]], Origin]
    proven: bool


def _constant_program(value: Any, multi: bool, proven: bool) -> Program:
    def origin(row: Sequence[str]) -> Origin:
        return None, None, "the mapping's const"

    if multi:
        values = [value]
        return Program(lambda row: values, origin, proven)
    return Program(lambda row: value, origin, proven)


def _proven(kind: Kind, spec: ValueSpec, constants: list[Any]) -> bool:
    """Whether the request model accepts every value a spec can give, so that rows made only
    of such values need no model check (a test compares prepare with and without it).

    Each kind's conversion gives text (for hired_at, an RFC 3339 date-time), a finite number
    or true/false, which is what the model's fields take; loading the mapping checked its
    constants and translations the same way. Two things are left: a phone type taken from a
    cell as typed (the model knows the accepted types), and a number constant that is not
    finite (YAML's .inf), which only the model refuses.
    """
    if kind == "phone-type" and spec.const is None and spec.translate is None:
        return False
    return all(not isinstance(value, float) or math.isfinite(value) for value in constants)


Origin = tuple[str | None, str | None, str]
Describe = Callable[[Sequence[str], int], Origin]


def _reader(
    spec: ValueSpec, headers: Headers, empty: frozenset[str], *, links: bool = False
) -> tuple[Read, Describe, int | None] | None:
    """Compile how a spec reads its text from a row (stripped, "" when empty) and how to name
    where it came from: (header text, cell text, phrase for messages); then the position of
    its one column when that is all ``read`` does, to be read inline. None when the spec's
    columns are absent and it is optional. ``links``: as ``read_columns``, for link entries."""
    # Long for the reason compile_entry is: each reader is a closure over this scope's locals.
    labels = headers.labels
    strip = spec.strip
    if spec.column is not None:
        names = spec.column
        wanted = read_columns(names, links=links)
        positions = [p for p in (headers.find(name) for name in wanted) if p is not None]
        if not positions:
            if not spec.optional_column:
                headers.missing.extend(names)
                if len(names) > 1:
                    headers.alternatives.append(tuple(names))
            return None
        all_labels = " / ".join(labels[p] for p in positions)
        all_phrase = "columns " + " / ".join(f'"{labels[p]}"' for p in positions)
        if len(positions) == 1:
            all_phrase = f'column "{all_labels}"'

        def describe(row: Sequence[str], position: int) -> Origin:
            if position < 0:
                return all_labels, "", all_phrase
            return labels[position], row[position], f'column "{labels[position]}"'

        if len(positions) == 1:
            (only,) = positions
            if strip:

                def read(row: Sequence[str]) -> tuple[str, int]:
                    text = row[only].strip()
                    return ("" if text in empty else text), only

                return read, describe, only

            def read_unstripped(row: Sequence[str]) -> tuple[str, int]:
                text = row[only]
                return ("" if text.strip() in empty else text), only

            return read_unstripped, describe, None

        def read_first(row: Sequence[str]) -> tuple[str, int]:
            for position in positions:
                text = row[position]
                if text.strip() not in empty:
                    return (text.strip() if strip else text), position
            return "", -1

        return read_first, describe, None

    assert spec.template is not None
    prefix, parts, suffix = template_parts(spec.template)
    found = [(separator, headers.find(name), name) for separator, name in parts]
    absent = [name for _, position, name in found if position is None]
    if absent and not spec.optional_column:
        headers.missing.extend(absent)
        return None
    pieces = [(separator, position) for separator, position, _ in found if position is not None]
    if not pieces:
        return None
    label = " + ".join(labels[p] for _, p in pieces)
    phrase = "columns " + " + ".join(f'"{labels[p]}"' for _, p in pieces)

    def render(row: Sequence[str]) -> tuple[str, int]:
        # Only the separator before a non-empty part is kept, so an empty part never leaves
        # a doubled space or a dangling comma behind.
        text = ""
        for separator, position in pieces:
            value = row[position].strip()
            if value not in empty:
                text = f"{text}{separator}{value}" if text else value
        return (f"{prefix}{text}{suffix}" if text else ""), -1

    def describe_template(row: Sequence[str], position: int) -> Origin:
        return label, render(row)[0], phrase

    return render, describe_template, None


def _excused(
    text: str,
    error: rules.RuleError,
    excuse: Callable[[str, rules.RuleError], rules.Flagged] | None,
) -> rules.Flagged | None:
    """What a value a conversion refused becomes instead of a reject (None): no value when it is
    an Excel error value, else what ``on_invalid`` makes of it."""
    dropped = rules.excel_error(text)
    if dropped is not None or excuse is None:
        return dropped
    return excuse(text, error)


def _dropped(value: Any) -> bool:
    return type(value) is Warned and value.value is NO_VALUE


def _clean(value: Any) -> bool:
    return type(value) is not Warned and type(value) is not Failure


def compile_entry(
    spec: ValueSpec, kind: Kind, headers: Headers, empty_values: list[str], multi: bool = False
) -> Program | None:
    """Compile one spec into a program; None when its columns are absent and it is optional.

    A multi program (list entries, and custom values with ``split``) returns every value of a
    split cell; a single one returns the first.
    """
    # One long function on purpose: the per-cell closures below read what is compiled here as
    # locals of one scope, which is what keeps a cell at a few attribute lookups.
    strict = converter(kind, spec)
    if spec.const is not None:
        value = constant(kind, spec.const, strict)
        return _constant_program(value, multi, _proven(kind, spec, [value]))
    convert = lenient(spec, strict)
    listed = spec.empty_values if spec.empty_values is not None else empty_values
    empty = frozenset(value.strip() for value in listed) | {""}
    reader = _reader(spec, headers, empty, links=kind == "url")
    if reader is None:
        return None
    read, describe, only = reader
    finish = finisher(spec, convert)
    # With no step before the conversion, every refusal is the conversion's: the run's except
    # clause applies on_invalid (``excuse``), which spares each cell converted a wrapper's call.
    excuse = None
    if finish is convert and convert is not strict:
        finish, excuse = strict, excuse_for(spec)
    finish_for = _regional(spec, kind, headers, applies_policy=excuse is None)
    default = NO_VALUE if spec.default is None else constant(kind, spec.default, strict)
    constants = [
        value
        for value in (default, spec.translate_default, *(spec.translate or {}).values())
        if value is not NO_VALUE and value is not None and not isinstance(value, str)
    ]
    proven = _proven(kind, spec, constants)
    # An empty cell gives the default (NO_VALUE when there is none) or, when the value is
    # required and there is no default, a failure naming the cell. Most rows have empty cells:
    # deciding which once here spares each of them a call.
    blank_fails = spec.required and default is NO_VALUE
    separators = None
    if isinstance(spec, FieldSpec) and spec.split:
        separators = rules.separator_pattern(spec.split)

    def failure(row: Sequence[str], position: int, error: rules.RuleError) -> Failure:
        column, value, phrase = describe(row, position)
        return Failure(error.code, f"{phrase}: {error.message}", column, value)

    def warned(row: Sequence[str], position: int, flagged: rules.Flagged) -> Warned:
        column, value, phrase = describe(row, position)
        return Warned(flagged.value, flagged.code, f"{phrase}: {flagged.message}", column, value)

    def missing(row: Sequence[str], position: int) -> Failure:
        column, value, phrase = describe(row, position)
        message = f"{phrase}: empty, but the mapping requires a value; fill it in"
        return Failure(Code.REQUIRED_VALUE, message, column, value)

    def origin(row: Sequence[str]) -> Origin:
        return describe(row, read(row)[1])

    # These run for every mapped cell of every row, hence ``only`` read inline, and a version
    # for the usual spec (one column, one value, no region column) without the other steps.
    if not multi and only is not None and separators is None and finish_for is None:

        def run_cell(row: Sequence[str]) -> Any:
            text = row[only].strip()
            if text not in empty:
                try:
                    value = finish(text)
                except rules.RuleError as error:
                    value = _excused(text, error, excuse)
                    if value is None:
                        return failure(row, only, error)
                if type(value) is str:  # nearly every value: one test instead of two
                    return value
                if type(value) is rules.Flagged:
                    return warned(row, only, value)
                if value is not NO_VALUE:
                    return value
            return missing(row, only) if blank_fails else default

        return Program(run_cell, origin, proven)

    if not multi:

        def run(row: Sequence[str]) -> Any:
            if only is None:
                text, position = read(row)
            else:
                text, position = row[only].strip(), only
                if text in empty:
                    text = ""
            # A cell with no separator (nearly all) is its own one value: not split, no call.
            if text and separators is not None and separators.search(text):
                kept = [
                    piece for piece in rules.split_values(text, separators) if piece not in empty
                ]
                text = kept[0] if kept else ""
                others = [piece for piece in kept[1:] if piece.casefold() != text.casefold()]
                if others:
                    return left_out(row, position, value_of(row, text, position), text, others)
            return value_of(row, text, position)

        def left_out(
            row: Sequence[str], position: int, value: Any, first: str, others: list[str]
        ) -> Any:
            """The field takes one value and the cell held more: the first is sent, and the
            warning says which were not (a second e-mail address is not thrown away unseen)."""
            if type(value) is Failure or value is NO_VALUE:
                return value
            column, cell, phrase = describe(row, position)
            rest = ", ".join(f'"{other}"' for other in others)
            sent = f"{rest} not sent either"
            if type(value) is not Warned or value.value is not NO_VALUE:
                sent = f'"{first}" is sent, {rest} not'
            message = (
                f"{phrase}: the field takes one value and the cell holds {len(others) + 1}: "
                f"{sent}; to keep {'them' if len(others) > 1 else 'it'}, map the column again "
                "as a custom field"
            )
            if type(value) is Warned:
                value, message = value.value, f"{value.message}; {message}"
            return Warned(value, WarningCode.EXTRA_VALUES_DROPPED, message, column, cell)

        def value_of(row: Sequence[str], text: str, position: int) -> Any:
            if text:
                try:
                    value = (finish if finish_for is None else finish_for(row))(text)
                except rules.RuleError as error:
                    value = _excused(text, error, excuse)
                    if value is None:
                        return failure(row, position, error)
                if type(value) is str:  # nearly every value: one test instead of two
                    return value
                if type(value) is rules.Flagged:
                    return warned(row, position, value)
                if value is not NO_VALUE:
                    return value
            return missing(row, position) if blank_fails else default

        return Program(run, origin, proven)

    def run_multi(row: Sequence[str]) -> list[Any]:
        if only is None:
            text, position = read(row)
        else:
            text, position = row[only].strip(), only
            if text in empty:
                text = ""
        values: list[Any] = []
        if text:
            finish_row = finish if finish_for is None else finish_for(row)
            pieces: Sequence[str] = (text,)
            if separators is not None and separators.search(text):  # as in run
                pieces = rules.split_values(text, separators)
            for piece in pieces:
                if piece in empty:
                    continue
                try:
                    value = finish_row(piece)
                except rules.RuleError as error:
                    value = _excused(piece, error, excuse)
                    if value is None:
                        values.append(failure(row, position, error))
                        continue
                if type(value) is not str:  # nearly every value is: one test instead of two
                    if type(value) is rules.Flagged:
                        value = warned(row, position, value)
                    if value is NO_VALUE:
                        continue
                values.append(value)
            if len(values) > 1 and not any(_clean(value) for value in values):
                # No piece is a value, but the cell read whole may be one its separator cut in
                # two ("030/12345678": an area code, a slash, the number), or one thing to warn
                # about once ("see CV" split on spaces), not once a word.
                try:
                    whole = finish_row(text)
                except rules.RuleError as error:
                    whole = _excused(text, error, excuse)
                if whole is not None and whole is not NO_VALUE and type(whole) is not rules.Flagged:
                    values = [whole]
                elif (
                    type(whole) is rules.Flagged
                    and whole.value is NO_VALUE
                    and all(_dropped(value) for value in values)
                ):
                    values = [warned(row, position, whole)]
        if not values and (blank_fails or default is not NO_VALUE):
            values.append(missing(row, position) if blank_fails else default)
        return values

    return Program(run_multi, origin, proven)


# Distinct region cells whose finisher is remembered: a country column has few values, and a
# column of anything else must not grow the table without end.
_REGION_CELLS = 1024


def _regional(
    spec: ValueSpec, kind: Kind, headers: Headers, applies_policy: bool
) -> Callable[[Sequence[str]], Convert] | None:
    """For ``phone: {region_column: Country}``: the finisher for the region a row's country
    names; None when the spec has no region column or the file lacks it (``region`` applies).
    ``applies_policy``: the finisher applies on_invalid itself (else the run's except clause
    does)."""
    if kind != "phone" or not isinstance(spec, PhoneFieldSpec) or not spec.phone.region_column:
        return None
    found = [headers.find(name) for name in spec.phone.region_column]
    position = next((p for p in found if p is not None), None)
    if position is None:
        return None
    default = spec.phone.region
    finishers: dict[tuple[str | None, str | None], Convert] = {}
    by_cell: dict[str, Convert] = {}

    def finish_for(row: Sequence[str]) -> Convert:
        cell = row[position]
        finish = by_cell.get(cell)
        if finish is None:
            # An empty cell takes the mapping's region; a country the importer does not know
            # gives none, rather than the mapping's, which would be a guess.
            country = cell.strip() or None
            region = default if country is None else rules.region_of_country(country)
            finish = finishers.get((region, country))
            if finish is None:
                convert = converter(kind, spec, (region, country))
                if applies_policy:
                    convert = lenient(spec, convert)
                finish = finishers[region, country] = finisher(spec, convert)
            if len(by_cell) < _REGION_CELLS:
                by_cell[cell] = finish
        return finish

    return finish_for
