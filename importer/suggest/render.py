"""A suggestion as commented YAML, ready to edit and use with ``importer run``."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from importer.read.headers import column_letter

if TYPE_CHECKING:
    from importer.suggest.suggestion import Suggestion


def yaml_lines(suggestion: Suggestion) -> Iterator[str]:
    """The lines of the suggestion's YAML: the comments, then the mapping."""
    yield from _preamble(suggestion)
    mapping = suggestion.to_mapping_dict()
    yield "version: 1"
    if suggestion.sheet is not None:
        yield from _comment(suggestion.sheet_note or "the workbook sheet to read")
        yield f"sheet: {json.dumps(suggestion.sheet, ensure_ascii=False)}"
    if suggestion.header_row > 1:
        row = suggestion.header_row
        skipped = "row 1" if row == 2 else f"rows 1-{row - 1}"
        yield f"# the column names are on row {row}: {skipped} above are skipped"
    else:
        yield "# the row holding the column names"
    yield f"header_row: {suggestion.header_row}"
    yield "# cells that mean no value (NA is not one: it is Namibia's country code)"
    quoted = ", ".join(json.dumps(value) for value in mapping["empty_values"])
    yield f"empty_values: [{quoted}]"
    yield ""
    yield "fields:"
    fields: dict[str, Any] = mapping["fields"]
    for key, entry in fields.items():
        yield from _field_lines(suggestion, fields, key, entry)
    yield from _left_out(suggestion)


def _preamble(suggestion: Suggestion) -> Iterator[str]:
    where = f" from {suggestion.source}" if suggestion.source else ""
    yield f"# Suggested by `importer suggest-mapping`{where}."
    if suggestion.layout is not None:
        yield from _comment(f"It {suggestion.layout.describe()}.")
    else:
        yield "# No known export layout recognised (importer mappings lists the ones it knows)."
    yield "# Check every choice, then try it: importer validate INPUT --mapping THIS_FILE"
    yield "# Reference: docs/mapping.md"
    if not suggestion.has_name:
        yield "# WARNING: no column gives a name; the API needs name, or first_name and"
        yield "# last_name: map the columns that hold them."


def _field_lines(
    suggestion: Suggestion, fields: dict[str, Any], key: str, entry: Any
) -> Iterator[str]:
    if key == "phone_numbers":
        yield from _comment(_region_note(suggestion, "country" in fields), "  # ")
        yield "  phone_numbers:"
        yield from (f"    - {_flow(item)}" for item in entry)
    elif key == "social_links":
        yield "  social_links:"
        yield from (f"    - {_flow(item)}" for item in entry)
    elif key == "custom_fields":
        yield "  # columns that match no request field, sent as custom fields named after"
        yield "  # the column: delete the ones the ATS should not receive"
        yield "  custom_fields:"
        yield from (f"    - {_flow(item)}" for item in entry)
    else:
        if key == "hired_at" and suggestion.day_first is None:
            yield "  # dates such as 01/03/2024 also need day_first: true (day first) or"
            yield "  # false (month first) in date: {...}"
        several = len(suggestion.fields[key]) > 1
        comment = "  # the first of these columns that is filled" if several else ""
        yield f"  {key}: {_flow(entry)}{comment}"


def _region_note(suggestion: Suggestion, country: bool) -> str:
    """What numbers typed without + and a country code become, and why."""
    guess = suggestion.phone_region
    rows = "in rows with no country" if country else "(the file has no country column)"
    if guess is not None and guess.region is not None:
        return (
            f"numbers without + {rows} are read as {guess.region} numbers: {guess.describe()}; "
            "change region: if they are from elsewhere"
        )
    if guess is None and country:
        return (
            "numbers without + and a country code are read for the row's country; in a row "
            "with no country they are sent as typed, with a warning"
        )
    why = "" if guess is None else f" ({guess.describe()})"
    add = "region: XX to phone: {...}" if country else "phone: {region: XX} to the entries"
    return (
        f"numbers without + and a country code {rows} are sent as typed, with a warning{why}: "
        f"add {add} to read them as numbers of the country XX"
    )


def _left_out(suggestion: Suggestion) -> Iterator[str]:
    left_out = suggestion.left_out
    if left_out:
        yield "# Not mapped:"
    for column in left_out:
        label = f'"{column.header}"' if column.header else "(no header)"
        reason = column.note or "left out"
        line = f"column {column_letter(column.position)} {label}: {reason}"
        yield from _comment(line, "#   ", "  ")


def _comment(text: str, prefix: str = "# ", indent: str = "") -> Iterator[str]:
    """``text`` as comment lines within the line length, continuation lines indented."""
    yield from textwrap.wrap(
        text,
        width=98,
        initial_indent=prefix,
        subsequent_indent=prefix + indent,
        break_on_hyphens=False,
    )


_PLAIN = re.compile(r"[^\W\d_][\w .()/'&+-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def _flow(value: Any) -> str:
    """``value`` in YAML flow style: plain words where YAML reads them back unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" ") and text.casefold() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)
