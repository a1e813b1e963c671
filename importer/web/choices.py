"""The mapping step: a shipped mapping by name, or the suggestion with the user's changes, as YAML.

The page never sends a path: a shipped mapping is a name looked up in the list the server made
at start, and the user's choices are column positions and target keys that are
checked against the file and ``suggest.TARGETS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from importer.errors import ConfigError
from importer.mapping import Mapping, load_mapping_text, normalise_header, parse_mapping
from importer.mapping.shipped import NamedMapping
from importer.suggest import TARGETS_BY_KEY
from importer.web.workspace import Upload, View, page_words

SUGGESTED = "the suggested mapping"


class ChoiceError(Exception):
    """The page asked for something that does not exist (HTTP 400); the message says what."""


@dataclass(frozen=True, slots=True)
class Chosen:
    """A mapping ready to check: its YAML, what it reads, and why it cannot be used, if so."""

    label: str
    yaml: str
    used: list[int]
    """Positions of the file's columns the mapping reads."""
    error: str | None


def choose(
    request: object, upload: Upload, view: View, shipped: dict[str, NamedMapping]
) -> tuple[Chosen, dict[str, Any]]:
    """The mapping the page asked for and the request, checked (``ChoiceError`` when wrong).

    ``request`` is ``{"shipped": NAME}`` or ``{"columns": {POSITION: TARGET_KEY | null}}``;
    positions left out keep the suggestion's choice.
    """
    if not isinstance(request, dict):
        raise ChoiceError('send the mapping as {"shipped": NAME} or {"columns": {...}}')
    if "shipped" in request:
        name = request["shipped"]
        if not isinstance(name, str) or name not in shipped:
            known = ", ".join(shipped) or "(none)"
            raise ChoiceError(f"there is no shipped mapping named {name!r}; the names are: {known}")
        label = shipped[name].label
        text = shipped[name].text()
        try:
            mapping = load_mapping_text(text, label)
        except ConfigError as error:
            return Chosen(label, text, [], str(error)), {"shipped": name}
        return _checked(label, text, mapping, upload, view), {"shipped": name}
    columns = request.get("columns", {})
    if not isinstance(columns, dict):
        raise ChoiceError("columns must map column positions to target keys")
    suggestion = view.suggestion
    changes: dict[str, Any] = {}
    for key, target in columns.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) < len(view.headers)):
            raise ChoiceError(f"the file has no column {key!r}")
        if target is not None and target not in TARGETS_BY_KEY:
            raise ChoiceError(f"{target!r} is not a field a column can be sent as")
        position = int(key)
        current = suggestion.columns[position].target
        if (None if current is None else current.key) == target:
            continue
        try:
            suggestion = suggestion.choose(position, target)
        except ValueError as error:
            raise ChoiceError(str(error)) from None
        changes[key] = target
    text = suggestion.to_yaml()
    try:
        mapping = parse_mapping(yaml.safe_load(text), SUGGESTED)
    except ConfigError as error:
        return Chosen(SUGGESTED, text, [], str(error)), {"columns": changes}
    return _checked(SUGGESTED, text, mapping, upload, view), {"columns": changes}


def _checked(label: str, text: str, mapping: Mapping, upload: Upload, view: View) -> Chosen:
    """Bind the mapping to the file's headers, as the run will, to say now what would stop it."""
    where = {normalise_header(h): i for i, h in enumerate(view.headers)}
    used = sorted({where[n] for c in mapping.columns() if (n := normalise_header(c)) in where})
    try:
        mapping.bind(view.headers, source=upload.name)
    except ConfigError as error:
        message = page_words(str(error))
        if sum(1 for h in view.headers if h.strip()) <= 1 and "Column names on row" not in message:
            # one named column: a title line above the real header row looks like this
            message += (
                f"; row {view.header_row} holds only {', '.join(map(repr, view.headers))}: if "
                "the column names are on a later row, enter it under “Column names on row”"
            )
        return Chosen(label, text, used, message)
    return Chosen(label, text, used, None)
