"""What the sample rows tell about the file: the order of day and month in dates."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

SAMPLE_ROWS = 200
"""Data rows ``suggest_for_file`` reads to tell day-first dates from month-first ones."""

_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}(?:\s.*)?")


def day_first(rows: Iterable[Sequence[str]], positions: list[int]) -> bool | None:
    """True when a date has a day above 12 first, False when second; None if unclear."""
    if not positions:
        return None
    seen: set[bool] = set()
    for row in rows:
        for position in positions:
            if position >= len(row):
                continue
            match = _NUMERIC_DATE.fullmatch(row[position])
            if match is None:
                continue
            first, second = int(match[1]), int(match[2])
            if first > 12 >= second:
                seen.add(True)
            elif second > 12 >= first:
                seen.add(False)
    return seen.pop() if len(seen) == 1 else None
