"""Phone numbers to E.164, and the country names a cell may give a region in."""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from importer.errors import Code
from importer.rules.text import FLOAT_ARTEFACT, RuleError, check_precision

# Names that people write for a country but that differ from its English name in phonenumbers.
_COUNTRY_ALIASES = {
    "GB": ("UK", "U.K.", "Great Britain", "Britain", "England", "Scotland", "Wales"),
    "US": ("USA", "U.S.A.", "U.S.", "United States of America", "America"),
    "AE": ("UAE", "U.A.E."),
    "CZ": ("Czechia",),
    "TR": ("Türkiye", "Turkiye"),
    "KR": ("Korea", "Republic of Korea"),
    "RU": ("Russian Federation",),
    "VN": ("Viet Nam",),
    "CI": ("Ivory Coast", "Cote d'Ivoire"),
    "MK": ("North Macedonia",),
    "SZ": ("Eswatini",),
    "CD": ("DR Congo", "DRC", "Democratic Republic of the Congo"),
    "NL": ("Holland", "The Netherlands"),
}


@functools.cache
def country_regions() -> dict[str, str]:
    """Case-folded country names (English), ISO 3166 codes and common aliases → phone region."""
    regions = {region.casefold(): region for region in phonenumbers.SUPPORTED_REGIONS}
    locale_data = _country_names()
    for region in phonenumbers.SUPPORTED_REGIONS:
        name = locale_data.get(region, {}).get("aa")
        if name:
            regions[name.casefold()] = region
    for region, aliases in _COUNTRY_ALIASES.items():
        regions.update((alias.casefold(), region) for alias in aliases)
    return regions


def _country_names() -> dict[str, dict[str, str]]:
    """phonenumbers' table of country names by region and language.

    Loaded from its file on its own: importing it as ``phonenumbers.geodata.locale`` runs the
    package's ``__init__``, which loads ~100 MB of geocoding data that nothing here uses.
    Only region_column needs the names, so this runs on first use.
    """
    path = Path(phonenumbers.__file__).parent / "geodata" / "locale.py"
    spec = importlib.util.spec_from_file_location("phonenumbers.geodata.locale", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: dict[str, dict[str, str]] = module.LOCALE_DATA
    return names


_PHONE_REASONS = {
    phonenumbers.ValidationResult.TOO_SHORT: "too short",
    phonenumbers.ValidationResult.TOO_LONG: "too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "the wrong length",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "missing its area code",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "not from a known country code",
}


def phone_e164(text: str, region: str | None) -> str:
    """Normalise a phone number to E.164 (``+447700900123``); ``region`` is for numbers without +.

    A number is accepted when its length is possible for its country. An extension is kept
    after the number as " ext. 123", since E.164 has no place for it.
    """
    plain = _plain_e164(text, region)
    return plain if plain is not None else _parsed_e164(text, region)


# Digits grouped by spaces, dashes, dots or brackets, "+" first or not: nearly every cell.
_PLAIN_PHONE = re.compile(r"\+?[0-9 ().-]{7,40}")
_GROUPING = b"+ ().-"
_SHORT_ANSWERS = (
    ValidationResult.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    ValidationResult.INVALID_LENGTH,
)
_CALLING_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)


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


def _plain_e164(text: str, region: str | None) -> str | None:
    """E.164 for a plainly written possible number, the same as ``phonenumbers.parse`` gives;
    None for anything else, which ``_parsed_e164`` then parses and explains.

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
    if length != ValidationResult.IS_POSSIBLE:
        return None
    return f"+{code}{national}"


@functools.lru_cache(maxsize=4096)
def _parsed_e164(text: str, region: str | None) -> str:
    check_precision(text)
    if FLOAT_ARTEFACT.fullmatch(text):
        raise RuleError(
            Code.PRECISION_LOST,
            f'"{text}" is a phone number stored as a decimal number; format the column as Text '
            "in Excel and type the number again",
        )
    where = f" for region {region}" if region else ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            fix = (
                "start it with + and the country code, or set phone: {region: XX} in the mapping"
                if region is None
                else "check the country code after the +"
            )
            raise RuleError(
                Code.INVALID_PHONE, f'"{text}" has no valid country code; {fix}'
            ) from None
        raise RuleError(
            Code.INVALID_PHONE, f'"{text}" is not a phone number{where}; correct the number'
        ) from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        problem = _PHONE_REASONS.get(reason, "not a possible number")
        raise RuleError(
            Code.INVALID_PHONE,
            f'"{text}" is {problem} for a phone number{where}; write the full number, with + and '
            "the country code if it is from another country",
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164} ext. {number.extension}" if number.extension else e164
