"""What Excel shows and a workbook does not hold, or holds and Excel does not show.

A filter, a collapsed group or rows hidden by hand keep rows out of sight in Excel while both
readers read them like any other. A filter usually means "not these"; rows hidden by hand may
mean anything: importing them, or leaving them out, would be deciding for the user.

Cells merged over several rows show one value in each row; the file holds it in the first row
only, which is what both readers read, and what is sent: the user is told.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Literal

from importer.read.sheet_scan import column_number

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


def merged_notice(
    merged: Sequence[str], headers: Sequence[str], unread: Collection[str]
) -> str | None:
    """What the summary says of cells merged over several rows (``merged``: "A2:A4"...), in
    columns other than ``unread`` (the mapping's sends nothing of those anyway); None: none."""
    named = []
    for cells in merged:
        column = column_number(cells.split(":")[0].rstrip("0123456789")) - 1
        header = headers[column] if column < len(headers) else ""
        if header not in unread:
            named.append(f'{cells} ("{header}")' if header else cells)
    if not named:
        return None
    shown = ", ".join(named[:_SHOWN])
    if len(named) > _SHOWN:
        shown += f" and {len(named) - _SHOWN} more"
    return (
        f"the sheet merges cells over several rows: {shown}; Excel shows a merge's value in "
        "each of its rows, but the file holds it in the first row only, so the other rows are "
        "sent without it: unmerge the cells and fill them in to send it with every row"
    )
