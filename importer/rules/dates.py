"""Dates and date-times in the forms people type them, and Excel serial numbers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from importer.errors import Code
from importer.rules.text import RuleError

# A date may carry the time of day, on a 24-hour clock or with AM/PM (what a date-time cell
# becomes when an English-language Excel or ATS saves it as text: "3/1/2024 12:00:00 AM").
_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")


def _numeric_formats(first: str, second: str) -> tuple[str, ...]:
    """``first/second/year`` with / - or . between, 4- or 2-digit years, with or without a time."""
    return tuple(
        f"{first}{sep}{second}{sep}{year}{time}"
        for sep in "/-."
        for year in ("%Y", "%y")
        for time in _TIMES
    )


DAY_FIRST_FORMATS = _numeric_formats("%d", "%m")
MONTH_FIRST_FORMATS = _numeric_formats("%m", "%d")
# A date with the month's English name says which number is the day: read it whatever the
# mapping's formats, after them ("1 March 2024", "Mar 1, 2024", Excel's "1-Mar-24").
MONTH_NAME_FORMATS = tuple(
    f"{date}{time}"
    for date in (
        "%d %B %Y",
        "%d %b %Y",
        "%B %d %Y",
        "%B %d, %Y",
        "%b %d %Y",
        "%b %d, %Y",
        "%d-%b-%Y",
        "%d-%b-%y",
        "%d-%B-%Y",
    )
    for time in _TIMES
)

# A four-digit year first says the order too: year, month, day, as ISO 8601 has it, with the
# slashes or dots of Japanese, Chinese, Korean and Hungarian exports ("2024/03/01",
# "2024.03.01", "2024. 03. 01."). Read whatever the mapping's formats, after them.
YEAR_FIRST_FORMATS = tuple(
    f"%Y{sep}%m{sep}%d{end}{time}"
    for sep, end in (("/", ""), (".", ""), (".", "."), (". ", "."))
    for time in _TIMES
)

# An Excel serial date of five digits: 10000 is 1927-05-18 and 99999 is 2173-10-13, so every
# date a candidate's file holds. A shorter number is a year typed alone ("2024" would be
# 1905-07-16), a count or a lookup's 0 or 1 (1900-01-01); a longer one a date without separators
# ("240301" would be 2557): none is a date anyone meant, so none is read as one.
_EXCEL_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# A time zone named after the time, as Ruby on Rails writes a time as text ("2024-03-01
# 14:32:11 UTC") and with it the exports of ATSs built on it.
_UTC_NAMED = re.compile(r"(.*\d)\s+(?:UTC|GMT)", re.IGNORECASE)
# Day 0 of the serials from 61 on: Excel counts a 1900-02-29 that never was.
_EXCEL_EPOCH = datetime(1899, 12, 30)


def date_time(text: str, formats: tuple[str, ...] = (), excel_serial: bool = False) -> str:
    """Convert a date or date-time to the API's ISO 8601 UTC form ``2024-03-01T00:00:00.000Z``.

    Tried in order: an Excel serial number of five digits (when ``excel_serial``; 45292 is
    2024-01-01, the fraction is the time of day), ISO 8601 (always), each strptime format, then
    the forms with the month's English name (always). A value without a time zone is taken as
    UTC, so a calendar date never moves to the previous day.
    """
    parsed: datetime | None = None
    if excel_serial and _EXCEL_SERIAL.fullmatch(text):
        parsed = _EXCEL_EPOCH + timedelta(milliseconds=round(float(text) * 86_400_000))
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            found = _parse_any(text, formats)
            if found is None and not text.isdigit():
                found = _parse_any(text, MONTH_NAME_FORMATS + YEAR_FIRST_FORMATS)
            if found is not None:
                parsed = found[0]
                _refuse_a_century_in_doubt(text, *found)
    if parsed is None and (named := _UTC_NAMED.fullmatch(text)) is not None:
        try:  # a date without a time zone is taken as UTC already
            return date_time(named[1], formats)
        except RuleError:
            pass  # refused below, as typed
    if parsed is None:
        accepted = _accepted(formats, excel_serial)
        raise RuleError(
            Code.INVALID_DATE,
            f'"{text}" is not a valid date in an accepted form ({accepted})'
            f"{_other_order(text, formats)}{_no_serial(text, excel_serial)}; correct the date or "
            "write it as YYYY-MM-DD",
        )
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return (
        f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}T{parsed.hour:02d}:"
        f"{parsed.minute:02d}:{parsed.second:02d}.{parsed.microsecond // 1000:03d}Z"
    )


# Dates repeat (a 1,000,000-row file of hiring dates has ~10,000 distinct cells), so a field's
# answers are kept, up to this many before starting afresh.
_DATE_ANSWERS = 32768


def date_converter(
    formats: tuple[str, ...] = (), excel_serial: bool = False
) -> Callable[[str], str]:
    """``date_time`` with these options, remembering the answer for each text, rejects too:
    a date that fails has tried every format before it did."""
    answers: dict[str, str | tuple[Code, str]] = {}

    def convert(text: str) -> str:
        answer = answers.get(text)
        if answer is None:
            if len(answers) >= _DATE_ANSWERS:
                answers.clear()
            try:
                answer = date_time(text, formats, excel_serial)
            except RuleError as error:
                answer = (error.code, error.message)
            answers[text] = answer
        if type(answer) is str:
            return answer
        raise RuleError(*answer)

    return convert


def _other_order(text: str, formats: tuple[str, ...]) -> str:
    """Words for a date that reads only with day and month the other way round from the
    mapping's ("12/31/2023" when the day comes first): the file may write every date so, and its
    dates that read both ways were then read wrong. Never read so: that would be a guess."""
    if "%d/%m/%Y" in formats:
        other, first, day_first = MONTH_FIRST_FORMATS, "month", "false"
    elif "%m/%d/%Y" in formats:
        other, first, day_first = DAY_FIRST_FORMATS, "day", "true"
    else:
        return ""
    parsed = _strptime_any(text, other)
    if parsed is None:
        return ""
    return (
        f", but reads as {parsed:%Y-%m-%d} with the {first} first: if the file writes its dates "
        f"so, set date: {{day_first: {day_first}}} in the mapping (its dates that read both ways "
        "were read the other way round)"
    )


def date_order(text: str, day_first: bool) -> str | None:
    """How a numeric date reads against the order ``day_first`` asks for: "ours" when only that
    order reads it (31/12/2024, day first), "other" when only the other one does, "both" when
    each reads it as another date (03/01/2024); None when the order makes no difference (a day
    that is its month, no such date)."""
    if text[:3].isdigit():
        return None  # a year first (2024-03-01): both orders put day and month after it
    day = _strptime_any(text, DAY_FIRST_FORMATS)
    month = _strptime_any(text, MONTH_FIRST_FORMATS)
    ours, other = (day, month) if day_first else (month, day)
    if ours is None:
        return None if other is None else "other"
    if other is None:
        return "ours"
    return None if ours == other else "both"


def _accepted(formats: tuple[str, ...], excel_serial: bool) -> str:
    """Examples of the accepted forms, such as "2024-03-31, 31/03/2024 or an Excel serial"."""
    sample = datetime(2024, 3, 31, 14, 30)
    examples = dict.fromkeys(["2024-03-31", *(sample.strftime(f) for f in formats if " " not in f)])
    shown = list(examples)[:5]
    if excel_serial:
        shown.append("an Excel serial number")
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def _no_serial(text: str, excel_serial: bool) -> str:
    """Words for a number that is no Excel serial date (``_EXCEL_SERIAL``) where serials are
    read: what it would have been is said, so that no one takes the refusal for a mistake."""
    if not excel_serial or not _NUMBER.fullmatch(text):
        return ""
    if len(text) == 4 and text.isdigit():
        would_be = _EXCEL_EPOCH + timedelta(days=int(text))
        return f": {text} is a year alone (as an Excel serial date it would be {would_be:%Y-%m-%d})"
    return (
        ": a number is read as an Excel serial date only with five digits (10000 is 1927-05-18, "
        "99999 is 2173-10-13)"
    )


def _strptime_any(text: str, formats: tuple[str, ...]) -> datetime | None:
    found = _parse_any(text, formats)
    return None if found is None else found[0]


def _parse_any(text: str, formats: tuple[str, ...]) -> tuple[datetime, str] | None:
    """The date ``text`` is in the first of ``formats`` that reads it, and that format."""
    for form in formats:
        if not all(mark in text for mark in _marks(form)):
            continue
        try:
            return datetime.strptime(text, form), form
        except ValueError:
            continue
    return None


def _refuse_a_century_in_doubt(text: str, parsed: datetime, form: str) -> None:
    """Refuse a two-digit year that Excel and other programs put in different centuries: Excel
    reads 30 to 99 as 1930-1999 and 00 to 29 as 2000-2029, Python, C and most databases read 69
    to 99 as 1969-1999 and 00 to 68 as 2000-2068. Between 30 and 68 either would be a guess."""
    if "%y" in form and 30 <= parsed.year % 100 <= 68:
        short = parsed.year % 100
        raise RuleError(
            Code.INVALID_DATE,
            f'"{text}" has a two-digit year, {short:02d}, that Excel reads as 19{short:02d} and '
            f"other programs as 20{short:02d}; write the year in full",
        )


@functools.cache
def _marks(form: str) -> str:
    """The characters a text must contain for strptime to read it with ``form``: the format's
    literal characters other than whitespace (which matches any) and letters (matched in any
    case). Trying only formats whose marks are there spares the many that raise."""
    literal = re.sub(r"%.", "", form.replace("%%", ""))
    marks = {c for c in literal if not c.isspace() and c.lower() == c.upper()}
    return "".join(sorted(marks)) + ("%" if "%%" in form else "")
