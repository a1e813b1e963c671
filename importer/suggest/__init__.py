"""Propose a mapping from a header row: alias matching, known export layouts, commented YAML.

Each column gets one choice among ``TARGETS`` (a request field, with the phone or link type to
give it), found through ``ALIASES`` by a key that ignores case, spacing and punctuation, so
``E-mail``, ``Email address`` and ``candidateEmail`` all land on ``email``. Columns that match
no alias become custom fields named after the column. A caller such as a web form shows
``Suggestion.columns`` against ``TARGETS``, applies the user's changes with ``choose`` and
renders the result with ``to_yaml`` or ``to_mapping_dict``::

    suggestion = suggest_mapping(["Full name", "E-mail", "Mobile phone", "Stage"])
    suggestion.choose("Stage", None).to_yaml()

The modules, by role: ``targets`` (the choices and the header spellings that lead to them),
``layouts`` (known vendor exports), ``sample`` (what data rows tell), ``suggestion`` (the
proposal and the mapping data it makes), ``render`` (the commented YAML), ``build`` (from a
header row or a file to a suggestion).
"""

from importer.suggest.build import SHEETS_SEARCHED, suggest_for_file, suggest_mapping
from importer.suggest.layouts import LAYOUTS, Layout, LayoutMatch, detect_layout
from importer.suggest.sample import SAMPLE_ROWS
from importer.suggest.suggestion import EMPTY_VALUES, ColumnChoice, Suggestion
from importer.suggest.targets import (
    ALIASES,
    TARGETS,
    TARGETS_BY_KEY,
    Target,
    header_key,
    match_header,
)

__all__ = [
    "ALIASES",
    "EMPTY_VALUES",
    "LAYOUTS",
    "SAMPLE_ROWS",
    "SHEETS_SEARCHED",
    "TARGETS",
    "TARGETS_BY_KEY",
    "ColumnChoice",
    "Layout",
    "LayoutMatch",
    "Suggestion",
    "Target",
    "detect_layout",
    "header_key",
    "match_header",
    "suggest_for_file",
    "suggest_mapping",
]
