"""Rows a workbook's sheet hides: what may be done with them, and why the user must say which.

A filter, a collapsed group or rows hidden by hand keep rows out of sight in Excel while both
readers read them like any other. A filter usually means "not these"; rows hidden by hand may
mean anything: importing them, or leaving them out, would be deciding for the user.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Literal

HiddenRows = Literal["skip", "import"]
HIDDEN_ROWS: tuple[HiddenRows, ...] = ("skip", "import")

# Row numbers named in the refusal; the rest are counted.
_SHOWN = 10


def hidden_rows_question(path: Path, sheet: str | None, hidden: Collection[int]) -> str:
    """The refusal of a sheet that hides data rows, when the user has not said what to do."""
    rows = sorted(hidden)
    shown = ", ".join(map(str, rows[:_SHOWN]))
    if len(rows) > _SHOWN:
        shown += f" and {len(rows) - _SHOWN} more"
    several = len(rows) > 1
    return (
        f'{path}, sheet "{sheet}": {"rows" if several else "row"} {shown} '
        f"{'are' if several else 'is'} hidden in the sheet (a filter, or rows hidden by hand), "
        "so Excel does not show them: pass --hidden-rows skip to import only the rows Excel "
        "shows, or --hidden-rows import to import every row"
    )
