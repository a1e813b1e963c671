"""Phone numbers to E.164: valid for the row's country, or read with the + Excel dropped.

A number is sent only when ``phonenumbers`` finds it valid (not merely of a possible length)
for the region it is read in: a number typed for another country than the row's is never sent
with the row's country code. Digits alone (a number cell, or text Excel stripped the + from)
that are no valid number for the row's region but are one with a + in front are read that way,
with a warning; a number that is valid either way is read for the row's region, unless its
digits start with that region's own country code. Anything else is a ``RuleError`` that the
mapping's ``on_invalid`` may keep as typed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NamedTuple

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from importer.errors import Code, WarningCode
from importer.rules.text import FLOAT_ARTEFACT, Flagged, RuleError, check_precision

_PHONE_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "the wrong length",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "missing its area code",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "not from a known country code",
}


def phone_e164(text: str, region: str | None, country: str | None = None) -> str | Flagged:
    """A phone number in E.164 (``+447911123456``), or ``Flagged`` with it when the + was added.

    ``region`` reads numbers written without +: the row's country, or the mapping's region;
    ``country`` is the row's country cell as typed, for messages (with ``region`` None: a
    country the importer does not know). An extension is kept after the number as
    " ext. 123", since E.164 has no place for it.
    """
    return _plain_e164(text, region, country) or _unplain(text, region, country)


def phone_reader(region: str | None, country: str | None = None) -> Callable[[str], str | Flagged]:
    """``phone_e164`` with ``region`` and ``country`` fixed, as a mapping converts a column's
    cells: one call a cell where a lambda calling ``phone_e164`` would be two."""

    def read(text: str) -> str | Flagged:
        return _plain_e164(text, region, country) or _unplain(text, region, country)

    return read


def _unplain(text: str, region: str | None, country: str | None) -> str | Flagged:
    """``phone_e164`` for a cell that ``_plain_e164`` leaves to ``_read``."""
    read = _remembered(text, region, country)
    if isinstance(read, _Refused):
        raise RuleError(read.code, read.message, keepable=read.keepable)
    return read


class _Refused(NamedTuple):
    """A ``RuleError`` as ``_remembered`` keeps it: an exception is not a return value, so an
    lru_cache would parse the same unreadable cell ("n/a", "12") again on every row."""

    code: Code
    message: str
    keepable: bool


@functools.lru_cache(maxsize=4096)
def _remembered(text: str, region: str | None, country: str | None) -> str | Flagged | _Refused:
    try:
        return _read(text, region, country)
    except RuleError as error:
        return _Refused(error.code, error.message, error.keepable)


# Digits grouped by spaces, dashes, dots or brackets, "+" first or not: nearly every cell.
_PLAIN_PHONE = re.compile(r"\+?[0-9 ().-]{7,40}")
_GROUPING = b"+ ().-"
_SHORT_ANSWERS = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)
_CALLING_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
# Read once: Python 3.11 looks a class's attribute up in full each time, for every phone here.
_IS_POSSIBLE = ValidationResult.IS_POSSIBLE


class _Plan:
    """One region's phone metadata as the fast path reads it: its patterns compiled once, and
    ``_test_number_length``'s answer for every length worked out in advance (it only counts)."""

    __slots__ = ("general", "lengths", "metadata", "prefix", "transform")

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.metadata = metadata
        prefix = metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None
        self.transform = metadata.national_prefix_transform_rule or None
        general = metadata.general_desc
        pattern = general.national_number_pattern if general is not None else None
        self.general = re.compile(pattern) if pattern else None
        self.lengths = tuple(_test_number_length("0" * n, metadata) for n in range(24))

    def length(self, number: str) -> int:
        """``_test_number_length(number, metadata)``."""
        size = len(number)
        if size < len(self.lengths):
            return self.lengths[size]
        return _test_number_length(number, self.metadata)

    def strip(self, number: str) -> str:
        """``number`` without its national prefix, step for step as
        ``_maybe_strip_national_prefix_carrier_code`` gives it (the tests compare the two)."""
        if self.prefix is None:
            return number
        match = self.prefix.match(number)
        if match is None:
            return number
        general = self.general
        viable = general is not None and general.fullmatch(number) is not None
        groups = match.groups()
        if self.transform is None or groups[len(groups) - 1] is None:
            rest = number[match.end() :]
        else:
            rest = self.prefix.sub(self.transform, number, count=1)
        if viable and (general is None or general.fullmatch(rest) is None):
            return number
        return rest


@functools.cache
def _code_plan(code: str) -> tuple[int, _Plan] | None:
    """For a number written "+<code> ...": the code and its main region's plan."""
    number = int(code)
    main = COUNTRY_CODE_TO_REGION_CODE[number][0]
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number, main)
    return None if metadata is None else (number, _Plan(metadata))


@functools.cache
def _region_plan(region: str) -> tuple[int, str, re.Pattern[str] | None, _Plan, _Plan] | None:
    """For a number written without +: the region's country code (as a number and as text),
    its international dialling prefix, and the plans to parse with and to test lengths with
    (those of the country code's main region)."""
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None:
        return None
    code = metadata.country_code
    idd = metadata.international_prefix
    main = COUNTRY_CODE_TO_REGION_CODE[code][0]
    parsing = _Plan(metadata)
    if main == region:
        return code, str(code), re.compile(idd) if idd else None, parsing, parsing
    possible = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    if possible is None:
        return None
    return code, str(code), re.compile(idd) if idd else None, parsing, _Plan(possible)


def _plain_e164(text: str, region: str | None, country: str | None = None) -> str | None:
    """E.164 for a plainly written valid number, and ``_read``'s error for a plainly written
    possible number that is not valid, unless a + might make it one; None for anything else,
    which ``_read`` then parses, reads with a + or explains.

    A plain number is only digits and grouping, so the text-handling half of ``parse``
    (extensions, letters, RFC 3966, finding the number in the text) cannot change it: this is
    the other half of ``parse``, on the digits, at a fraction of the cost. Numbers that begin
    with an international prefix (00 44 ...) or their region's country code without a + are
    left to ``parse``, which weighs them against the region's number patterns.
    """
    if not _PLAIN_PHONE.fullmatch(text) or ("." in text and FLOAT_ARTEFACT.fullmatch(text)):
        return None
    # The text is ASCII (it matched), and bytes drop characters far faster than str.translate.
    digits = text.encode().translate(None, _GROUPING).decode()
    if not 7 <= len(digits) <= 15:
        return None
    if text[0] == "+":
        # Calling codes never start with 0, so the first of their prefixes that is one is it.
        if digits[:1] in _CALLING_CODES:
            width = 1
        elif digits[:2] in _CALLING_CODES:
            width = 2
        elif digits[:3] in _CALLING_CODES:
            width = 3
        else:
            return None
        found = _code_plan(digits[:width])
        if found is None:
            return None
        code, parsing = found
        possible = parsing
        national = digits[width:]
    else:
        plan = None if region is None else _region_plan(region)
        if plan is None:
            return None
        code, code_text, idd, parsing, possible = plan
        if (idd is not None and idd.match(digits)) or digits.startswith(code_text):
            return None
        national = digits
    # As parse does: drop a national prefix (the 0 of 07700...) unless what is left is too short.
    stripped = parsing.strip(national)
    # Then, as is_possible_number_with_reason does, test the lengths of the country code's main
    # region: the test just made, when that is the region the number was parsed for.
    length = parsing.length(stripped)
    if length not in _SHORT_ANSWERS:
        national = stripped
        if possible is not parsing:
            length = possible.length(national)
    else:
        length = possible.length(national)
    if length != _IS_POSSIBLE:
        return None
    if _valid(code, national):
        return f"+{code}{national}"
    if _DIGITS_ONLY.fullmatch(text):
        return None  # Excel may have dropped its +: _read tries it with one
    message = _not_valid(text, "not a valid number", code, region, country)
    raise RuleError(Code.INVALID_PHONE, message, keepable=True)


class _Types:
    """``_number_type_helper(number, metadata) != UNKNOWN`` (the test ``is_valid_number``
    makes) as one regex match: the general pattern, as a lookahead, then the patterns of every
    number type that allows the number's length, joined."""

    __slots__ = ("by_length", "general", "general_lengths", "leading", "types")

    def __init__(self, metadata: PhoneMetadata) -> None:
        general = metadata.general_desc
        self.general_lengths = frozenset(general.possible_length) if general else frozenset()
        # Only ever a part of _either's regex: compiling it alone would be work thrown away (for
        # each of the +1 zone's 25 regions, whose metadata the first +1 number loads).
        self.general = (general.national_number_pattern or None) if general is not None else None
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        self.types: list[tuple[frozenset[int], str]] = []
        # Only whether some type matches counts, not which: the types most numbers are (mobile,
        # then fixed line) come first in the alternation, which the regex tries in order.
        for desc in (
            metadata.mobile,
            metadata.fixed_line,
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
        ):
            if desc is not None and desc.national_number_pattern:
                self.types.append((frozenset(desc.possible_length), desc.national_number_pattern))
        self.by_length: dict[int, re.Pattern[str] | None] = {}

    def known(self, number: str) -> bool:
        # One lookup a number: the length tests are made once per length, in _either.
        try:
            either = self.by_length[len(number)]
        except KeyError:
            either = self.by_length[len(number)] = self._either(len(number))
        return either is not None and either.fullmatch(number) is not None

    def _either(self, size: int) -> re.Pattern[str] | None:
        """The one regex for numbers of ``size`` digits; None when no such number is valid."""
        if self.general is None or (self.general_lengths and size not in self.general_lengths):
            return None
        # Types often share a pattern (fixed line and mobile, across the +1 zone): once is
        # enough for a yes or no, and halves what an invalid number is tried against.
        allowed = dict.fromkeys(
            pattern for lengths, pattern in self.types if not lengths or size in lengths
        )
        if not allowed:
            return None
        either = "|".join(f"(?:{pattern})" for pattern in allowed)
        return re.compile(rf"(?=(?:{self.general})\Z)(?:{either})")


@functools.cache
def _types_of(code: int) -> list[tuple[str, _Types]]:
    """The regions sharing a country code, in the order ``region_code_for_number`` tries them."""
    found = []
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is not None:
            found.append((region, _Types(metadata)))
    return found


@functools.cache
def _steps_of(code: int) -> tuple[tuple[re.Pattern[str] | None, tuple[_Types, ...]], ...]:
    """``_types_of(code)`` with each run of regions told apart by their leading digits behind
    one regex of all their leading digits: a number of none of them (any invalid number of
    the +1 zone, which has 23 such regions) is then turned away in one call, not in 23."""
    steps: list[tuple[re.Pattern[str] | None, tuple[_Types, ...]]] = []
    run: list[_Types] = []
    for _, types in _types_of(code):
        if types.leading is not None:
            run.append(types)
            continue
        if run:
            steps.append((_any_leading(run), tuple(run)))
            run = []
        steps.append((None, (types,)))
    if run:
        steps.append((_any_leading(run), tuple(run)))
    return tuple(steps)


def _any_leading(run: list[_Types]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{types.leading.pattern})" for types in run if types.leading))


def _valid(code: int, national: str) -> bool:
    """``phonenumbers.is_valid_number`` for +<code><national> (the tests compare the two)."""
    for leading, run in _steps_of(code):
        # As region_code_for_number: the first region whose leading digits match, or that
        # knows the number's type, is the number's region.
        if leading is None:
            if run[0].known(national):
                return True
        elif leading.match(national):
            for types in run:
                if types.leading is not None and types.leading.match(national):
                    return types.known(national)
    return False


_DIGITS_ONLY = re.compile(r"[1-9]\d{6,14}")
_FEWEST_DIGITS = 3
"""Digits of the shortest number anyone dials (a short code); a subscriber's has more."""


def _read(text: str, region: str | None, country: str | None) -> str | Flagged:
    text = check_precision(text)
    if FLOAT_ARTEFACT.fullmatch(text):
        raise RuleError(
            Code.PRECISION_LOST,
            f'"{text}" is a phone number stored as a decimal number; format the column as Text '
            "in Excel and type the number again",
        )
    digits = sum(char.isdigit() for char in text)
    if not digits:
        raise RuleError(
            Code.INVALID_PHONE,
            f'"{text}" is not a phone number: it has no digits; correct it or clear the cell',
        )
    if digits < _FEWEST_DIGITS:
        # the 0 of a lookup that found nothing, a count: sent as typed, it was a phone of "0"
        raise RuleError(
            Code.INVALID_PHONE,
            f'"{text}" is not a phone number: it has {digits} digit{"s" if digits > 1 else ""}, '
            f"and none has fewer than {_FEWEST_DIGITS}; correct it or clear the cell",
        )
    number = _parse(text, region)
    plus = _with_plus(text)
    if number is not None and phonenumbers.is_valid_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        code = None if region is None else str(phonenumbers.country_code_for_region(region))
        # Digits that start with the region's own country code already carry it: reading
        # them as a national number would add it a second time.
        if plus is None or plus == e164 or code is None or not text.startswith(code):
            return f"{e164} ext. {number.extension}" if number.extension else e164
    if plus is not None:
        return Flagged(
            plus,
            WarningCode.PHONE_PLUS_RESTORED,
            f'"{text}" read as {plus}: digits that are a valid number with a + in front '
            "(Excel drops the + of numbers typed into a cell formatted as a number)",
        )
    raise RuleError(Code.INVALID_PHONE, _why(text, number, region, country), keepable=True)


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _with_plus(text: str) -> str | None:
    """E.164 for digits alone read with a + in front, when that makes a valid number."""
    if not _DIGITS_ONLY.fullmatch(text):
        return None
    number = _parse(f"+{text}", None)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _why(
    text: str, number: phonenumbers.PhoneNumber | None, region: str | None, country: str | None
) -> str:
    """Why a number cannot be read, and how to write it so that it can."""
    international = text.lstrip().startswith("+")
    if number is None and not international and region is None:
        if country is not None:
            return (
                f'"{text}" has no country code, and the country "{country}" is not one the '
                "importer knows; write the country's name or ISO code, or the number with + "
                "and its country code"
            )
        return (
            f'"{text}" has no country code and the row gives no country; start it with + and '
            "the country code, or set phone: {region: XX} in the mapping"
        )
    if number is None:
        return f'"{text}" is not a phone number; correct the number'
    reason = phonenumbers.is_possible_number_with_reason(number)
    problem = _PHONE_REASONS.get(reason, "not a valid number")
    return _not_valid(text, problem, number.country_code or 0, region, country)


def _not_valid(text: str, problem: str, code: int, region: str | None, country: str | None) -> str:
    if text.lstrip().startswith("+") or region is None:
        where = f" for country code +{code}"
    else:
        of = f'the row\'s country "{country}"' if country else "the mapping's region"
        where = f" in {region} ({of})"
    return (
        f'"{text}" is {problem}{where}; write the full number, with + and the country code '
        "if it is from another country"
    )


def national_e164(text: str, region: str) -> str | None:
    """E.164 for ``text`` read as a plainly written national number of ``region``, when it is
    a valid number there, exactly as ``phone_e164`` sends it; None for anything else.

    A number written with + or an international prefix, or starting with the region's own
    country code, is no national number: None. So is text that is more than digits and
    grouping. This tells which region a file's numbers were typed for, without exceptions.
    """
    text = text.strip()
    if text[:1] == "+":
        return None
    try:
        return _plain_e164(text, region)
    except RuleError:
        return None
