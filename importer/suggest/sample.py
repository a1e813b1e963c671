"""What the sample rows tell about the file: the order of day and month in dates, and the
country of phone numbers typed without one."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence

from importer.suggest.regions import RegionGuess, guess_region

SAMPLE_ROWS = 200
"""Data rows ``suggest_for_file`` reads: for day-first dates and the phone numbers' country."""

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


def phone_region(
    rows: Iterable[Sequence[str]],
    phones: Sequence[int],
    countries: Sequence[int],
    *,
    empty: Collection[str],
    split: Sequence[str],
) -> RegionGuess | None:
    """The region of the numbers in columns ``phones`` of the rows whose ``countries`` columns
    are all ``empty`` (every row when there are none); None when no such row has a number.

    ``empty`` and ``split`` are the mapping's empty values and the phone cells' separators,
    so the numbers looked at are the ones the mapping reads.
    """
    numbers = list(_numbers(rows, phones, countries, empty, split))
    return guess_region(numbers) if numbers else None


def _numbers(
    rows: Iterable[Sequence[str]],
    phones: Sequence[int],
    countries: Sequence[int],
    empty: Collection[str],
    split: Sequence[str],
) -> Iterator[str]:
    for row in rows:
        if any(p < len(row) and row[p].strip() not in empty for p in countries):
            continue
        for position in phones:
            cell = row[position] if position < len(row) else ""
            for separator in split[1:]:
                cell = cell.replace(separator, split[0])
            for part in cell.split(split[0]):
                if part.strip() not in empty:
                    yield part.strip()
