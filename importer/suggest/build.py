"""From a header row (and a few data rows) to a ``Suggestion``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from importer.errors import ConfigError
from importer.mapping import normalise_header
from importer.read.headers import header_label, repeated_at
from importer.read.hyperlinks import LINK_SUFFIX
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.read.tables import is_workbook, open_table
from importer.read.xlsx import list_sheets
from importer.suggest.layouts import detect_layout
from importer.suggest.sample import SAMPLE_ROWS
from importer.suggest.suggestion import ColumnChoice, Suggestion
from importer.suggest.targets import TARGETS_BY_KEY, match_header

# Personal data (GDPR special categories and the like) is never sent by default: the user maps
# it deliberately if the new ATS may hold it. Header words are matched whole or by their start.
_PERSONAL_WORDS = frozenset({"age", "dob", "sex", "race"})
_PERSONAL_STEMS = ("gender", "birth", "ethnic", "religio", "disabilit", "veteran", "sexual")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[^\W_]+")


def suggest_mapping(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]] = (),
    *,
    source: str | None = None,
    header_row: int = 1,
) -> Suggestion:
    """Propose a mapping for a header row.

    ``rows`` (optional, a few data rows) serve to tell day-first dates from month-first ones
    in the column chosen for ``hired_at``, and the country of phone numbers typed without one
    when no country column gives it (``Suggestion.phone_region``). ``source`` names the file in
    the YAML, and
    ``header_row`` is the row the headers came from, written into the mapping.
    """
    labels = [header_label(header) for header in headers]
    counts: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        if label:
            counts.setdefault(normalise_header(label), []).append(position)
    choices = _read_with_links(
        [_choose(position, label, counts) for position, label in enumerate(labels)]
    )
    return Suggestion(
        columns=choices,
        layout=detect_layout(labels),
        source=source,
        header_row=header_row,
        sample=tuple(tuple(row) for row in rows),
    ).resampled()


def _choose(position: int, label: str, counts: dict[str, list[int]]) -> ColumnChoice:
    if not label:
        return ColumnChoice(position, label, None, note="the column has no header", mappable=False)
    matched = match_header(label)
    alias = None if matched is None else matched[1]
    same = counts[normalise_header(label)]
    if len(same) > 1:
        note = f"the header {repeated_at(same)}; rename one to map it"
        return ColumnChoice(position, label, None, alias, note, mappable=False)
    if matched is not None:
        return ColumnChoice(position, label, matched[0], alias)
    words = _WORD.findall(_CAMEL.sub(" ", label).casefold())
    if any(w in _PERSONAL_WORDS or w.startswith(_PERSONAL_STEMS) for w in words):
        note = "personal data: map it only if the new ATS may hold it"
        return ColumnChoice(position, label, None, note=note)
    return ColumnChoice(position, label, TARGETS_BY_KEY["custom_fields"])


def _read_with_links(choices: list[ColumnChoice]) -> tuple[ColumnChoice, ...]:
    """The choices, the twins of links of columns chosen as links left out: a link entry reads
    its column's twin first (``read_columns``), so as a custom field it would be sent twice."""
    links = {
        normalise_header(c.header)
        for c in choices
        if c.target is not None and c.target.field == "social_links"
    }
    return tuple(
        replace(choice, target=None, note=f'read with column "{base}", whose cells link there')
        if (base := choice.header.removesuffix(LINK_SUFFIX)) != choice.header
        and normalise_header(base) in links
        else choice
        for choice in choices
    )


SHEETS_SEARCHED = 20
"""Visible sheets looked through for the one holding the candidates: real workbooks have it
among the first few, and a workbook of thousands of sheets would be read thousands of times."""


def suggest_for_file(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    limits: WorkbookLimits = DEFAULT_LIMITS,
) -> Suggestion:
    """``suggest_mapping`` for a file's header row (found below any title lines unless given)
    and its first ``SAMPLE_ROWS`` rows.

    In a workbook, without ``sheet``: the first visible sheet whose columns give a name, as a
    cover, instructions or summary sheet often comes before the candidates (the suggestion
    then names the sheet, and the ones passed over); the first visible sheet if none of the
    first ``SHEETS_SEARCHED`` does.
    """
    path = Path(path)
    first = _suggest_for_sheet(path, sheet, encoding, header_row, limits)
    if sheet is not None:
        return first
    if first.has_name or not is_workbook(path):
        return replace(first, sheet=None)
    passed = [first.sheet or ""]
    visible = [name for name, shown in list_sheets(path, limits) if shown]
    for name in visible[:SHEETS_SEARCHED]:
        if name == first.sheet:
            continue
        # a sheet that cannot be read (an empty one) holds no candidates: passed over too
        with contextlib.suppress(ConfigError):
            other = _suggest_for_sheet(path, name, None, header_row, limits)
            if other.has_name:
                return replace(other, passed_sheets=tuple(passed))
        passed.append(name)
    return replace(first, sheet=None)


def _suggest_for_sheet(
    path: Path,
    sheet: str | None,
    encoding: str | None,
    header_row: int | None,
    limits: WorkbookLimits,
) -> Suggestion:
    """The suggestion for one sheet (or a CSV file), naming the sheet it read."""
    with open_table(
        path, sheet=sheet, encoding=encoding, header_row=header_row, limits=limits
    ) as table:
        rows = []
        for row in table.rows:
            rows.append(row.values)
            if len(rows) == SAMPLE_ROWS:
                break
        where = f'{table.path.name}, sheet "{table.sheet}"' if table.sheet else table.path.name
        suggestion = suggest_mapping(table.headers, rows, source=where, header_row=table.header_row)
        return replace(suggestion, sheet=table.sheet)
