"""What the sample rows tell about the file: the order of day and month in dates, the forms of
dates written with month names, and the country of phone numbers typed without one."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Sequence

from importer.rules.dates import DAY_FIRST_FORMATS as DAY_FIRST
from importer.rules.dates import MONTH_FIRST_FORMATS as MONTH_FIRST
from importer.rules.dates import date_time
from importer.rules.text import RuleError
from importer.suggest.regions import RegionGuess, guess_region

SAMPLE_ROWS = 200
"""Data rows ``suggest_for_file`` reads: for day-first dates and the phone numbers' country."""

_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})([/.-])(\d{1,2})[/.-]\d{2,4}(?:\s.*)?")


def day_first(rows: Iterable[Sequence[str]], positions: list[int]) -> bool | None:
    """True when a date has a day above 12 first, False when second; None if unclear.

    Without such a date, dates written with dots (08.02.2023) say day first: the countries
    that write dates with dots all put the day first. A month-first date beside them makes
    the order unclear again."""
    if not positions:
        return None
    seen: set[bool] = set()
    dotted = False
    for row in rows:
        for position in positions:
            if position >= len(row):
                continue
            match = _NUMERIC_DATE.fullmatch(row[position])
            if match is None:
                continue
            dotted = dotted or match[2] == "."
            first, second = int(match[1]), int(match[3])
            if first > 12 >= second:
                seen.add(True)
            elif second > 12 >= first:
                seen.add(False)
    if dotted:
        seen.add(True)
    return seen.pop() if len(seen) == 1 else None


WORDED_DATES = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d-%b-%Y", "%d-%b-%y")
"""Dates written with the month's English name, as exports print them: 1 March 2024, Mar 1,
2024, 01-Mar-2024. Numeric dates need only ``day_first``."""


def date_formats(rows: Iterable[Sequence[str]], positions: list[int]) -> tuple[str, ...]:
    """The forms of ``WORDED_DATES`` that read a date of the sample no other form reads."""
    found: list[str] = []
    for row in rows:
        for position in positions:
            text = row[position].strip() if position < len(row) else ""
            if not any(c.isdigit() for c in text) or _reads(text, found):
                continue
            found += [f for f in WORDED_DATES if f not in found and _reads(text, [f])][:1]
    return tuple(found)


def _reads(text: str, formats: Sequence[str]) -> bool:
    try:
        date_time(text, (*formats, *DAY_FIRST, *MONTH_FIRST), excel_serial=True)
    except RuleError:
        return False
    return True


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
