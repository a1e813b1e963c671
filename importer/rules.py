"""Named value rules: small pure functions that clean, check and convert the text of one cell.

Each check or conversion returns the value to send or raises ``RuleError`` carrying a reject
code and a message that names the value and the fix (the caller adds the row and the column).
The expensive conversions (phones, dates, unusual e-mails) are cached per input, because real
files repeat values and a cache hit costs far less than phonenumbers or strptime.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, TypeVar

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, ValidationResult
from phonenumbers.phonenumberutil import _test_number_length

from importer.errors import Code

T = TypeVar("T")


class RuleError(ValueError):
    """A cell value that a rule cannot accept; ``code`` is the reject code."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Excel's General format writes long numbers as one digit, decimals, E, a sign and at least two
# exponent digits ("4.47701E+11"): the digits after the sixth are gone for good.
_SCIENTIFIC = re.compile(r"[+-]?\d(?:\.\d+)?[eE][+-]\d{2,}")
# "447700900123.0": a number cell that went through a float on its way to text.
_FLOAT_ARTEFACT = re.compile(r"\+?\d+\.0+")


def check_precision(text: str) -> str:
    """Refuse text that Excel already turned into scientific notation; return it otherwise."""
    # Text that starts with a letter cannot match: the test keeps the regex off the hot path.
    if not text[:1].isalpha() and _SCIENTIFIC.fullmatch(text):
        raise RuleError(
            Code.PRECISION_LOST,
            f'"{text}" is a number that Excel shortened to scientific notation, so digits are '
            "lost; format the column as Text in Excel and type the full value again",
        )
    return text


def separator_pattern(separators: Sequence[str]) -> re.Pattern[str]:
    """The compiled form of a ``split:`` list, for ``split_values``."""
    ordered = sorted(separators, key=len, reverse=True)  # longest first: "; " before ";"
    return re.compile("|".join(re.escape(separator) for separator in ordered))


def split_values(text: str, separators: re.Pattern[str]) -> list[str]:
    """Split a multi-value cell; the pieces are stripped and empty ones dropped.

    >>> split_values("a@x.com, b@y.com;", separator_pattern([",", ";"]))
    ['a@x.com', 'b@y.com']
    """
    pieces = separators.split(text)
    if len(pieces) == 1:
        return pieces
    return [piece for piece in (part.strip() for part in pieces) if piece]


def split_full_name(text: str) -> tuple[str, str]:
    """Split a full name into (first, last).

    "Last, First" splits at the comma. Otherwise the last whitespace-separated word is the last
    name and everything before it the first name; a single word is a first name only.
    """
    if "," in text:
        last, _, first = text.partition(",")
        return " ".join(first.split()), " ".join(last.split())
    words = text.split()
    if len(words) < 2:
        return (words[0] if words else ""), ""
    return " ".join(words[:-1]), words[-1]


_WORD_START = re.compile(r"(?:^|(?<=[\s-]))[^\W\d_]")


def title_case(text: str) -> str:
    """Upper-case the first letter of each word (after a space or hyphen); keep the rest as typed.

    Unlike ``str.title`` this never lower-cases, so "McDonald" and "VP" stay as typed.
    """
    return _WORD_START.sub(lambda match: match.group().upper(), text)


class Translation(Generic[T]):
    """A value translation table: keys match case-insensitively after stripping.

    A miss takes ``default`` when one is given, otherwise it is an invalid-value error that
    lists the accepted values.

    >>> Translation({"Mobile": "mobile", "Cell": "mobile"})("CELL")
    'mobile'
    """

    def __init__(self, table: Mapping[str, T], default: T | None = None) -> None:
        self.table = {key.strip().casefold(): value for key, value in table.items()}
        self.accepted = ", ".join(table)
        self.default = default

    def __call__(self, text: str) -> T:
        found = self.table.get(text.casefold())
        if found is not None:
            return found
        if self.default is not None:
            return self.default
        raise RuleError(
            Code.INVALID_VALUE,
            f'"{text}" is not one of the accepted values ({self.accepted}); use one of them, or '
            "add it to translate in the mapping",
        )


_ATEXT = r"a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
# The shape of nearly every real address: a dot-atom local part and an ASCII host name of
# labels up to 63 characters whose top-level domain ends with a letter. email-validator
# accepts each of these with the domain lower-cased and nothing else changed (tests compare
# the two), so they skip its slower checks; anything else goes through email-validator.
_PLAIN_EMAIL = re.compile(
    rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@((?:{_LABEL}\.)+(?:[a-zA-Z0-9][a-zA-Z0-9-]{{0,61}})?[a-zA-Z])"
)
_SPECIAL_USE = tuple("." + domain for domain in SPECIAL_USE_DOMAIN_NAMES)


def email_address(text: str) -> str:
    """Check an e-mail address's syntax (no DNS) and return its normalised form.

    The domain is normalised (lower case, IDNA) as email-validator does. The part before the @
    keeps the case it was typed in: mailbox names may be case-sensitive, and email-validator's
    lower-casing of role names such as "Info@" would change what the user typed. Use the
    mapping's ``lower`` rule to lower-case whole addresses on purpose.
    """
    match = _PLAIN_EMAIL.fullmatch(text)
    if match is not None and len(text) <= 254:
        domain = match.group(1).lower()
        # "--" marks Punycode or a reserved label; special-use domains are refused: both are
        # left to email-validator.
        if len(domain) <= 253 and "--" not in domain and not ("." + domain).endswith(_SPECIAL_USE):
            # The domain is the end of the text: most are typed in lower case already.
            return text if text.endswith(domain) else text[: match.start(1)] + domain
    return _validated_email(text)


@functools.lru_cache(maxsize=4096)
def _validated_email(text: str) -> str:
    try:
        validated = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise RuleError(
            Code.INVALID_EMAIL,
            f'"{text}" is not a valid e-mail address ({reason}); correct the address',
        ) from None
    local = validated.local_part
    typed = unicodedata.normalize("NFC", text.rpartition("@")[0])
    if local != typed and local == typed.lower():
        local = typed
    return f"{local}@{validated.domain}"


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
    if not _PLAIN_PHONE.fullmatch(text) or ("." in text and _FLOAT_ARTEFACT.fullmatch(text)):
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
    if _FLOAT_ARTEFACT.fullmatch(text):
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


def _numeric_formats(first: str, second: str) -> tuple[str, ...]:
    """``first/second/year`` with / - or . between, 4- or 2-digit years, with or without a time."""
    return tuple(
        f"{first}{sep}{second}{sep}{year}{time}"
        for sep in "/-."
        for year in ("%Y", "%y")
        for time in ("", " %H:%M", " %H:%M:%S")
    )


DAY_FIRST_FORMATS = _numeric_formats("%d", "%m")
MONTH_FIRST_FORMATS = _numeric_formats("%m", "%d")

_EXCEL_SERIAL = re.compile(r"\d+(?:\.\d+)?")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31


def date_time(text: str, formats: tuple[str, ...] = (), excel_serial: bool = False) -> str:
    """Convert a date or date-time to the API's ISO 8601 UTC form ``2024-03-01T00:00:00.000Z``.

    Tried in order: an Excel serial number (when ``excel_serial``; 45292 is 2024-01-01, the
    fraction is the time of day), ISO 8601 (always), then each strptime format. A value without
    a time zone is taken as UTC, so a calendar date never moves to the previous day.
    """
    parsed: datetime | None = None
    if excel_serial and _EXCEL_SERIAL.fullmatch(text):
        parsed = _from_excel_serial(text)
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = _strptime_any(text, formats)
    if parsed is None:
        accepted = _accepted(formats, excel_serial)
        raise RuleError(
            Code.INVALID_DATE,
            f'"{text}" is not a valid date in an accepted form ({accepted}); correct the date '
            "or write it as YYYY-MM-DD",
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


def _accepted(formats: tuple[str, ...], excel_serial: bool) -> str:
    """Examples of the accepted forms, such as "2024-03-31, 31/03/2024 or an Excel serial"."""
    sample = datetime(2024, 3, 31, 14, 30)
    examples = dict.fromkeys(["2024-03-31", *(sample.strftime(f) for f in formats if " " not in f)])
    shown = list(examples)[:5]
    if excel_serial:
        shown.append("an Excel serial number")
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def _from_excel_serial(text: str) -> datetime | None:
    serial = float(text)
    if not 1 <= serial <= _EXCEL_MAX_SERIAL or int(serial) == 60:
        # 60 is 1900-02-29, a day that Excel counts but that never existed.
        return None
    days = serial if serial > 60 else serial + 1  # Excel's day 1 is 1900-01-01
    return _EXCEL_EPOCH + timedelta(milliseconds=round(days * 86_400_000))


def _strptime_any(text: str, formats: tuple[str, ...]) -> datetime | None:
    for form in formats:
        if not all(mark in text for mark in _marks(form)):
            continue
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


@functools.cache
def _marks(form: str) -> str:
    """The characters a text must contain for strptime to read it with ``form``: the format's
    literal characters other than whitespace (which matches any) and letters (matched in any
    case). Trying only formats whose marks are there spares the many that raise."""
    literal = re.sub(r"%.", "", form.replace("%%", ""))
    marks = {c for c in literal if not c.isspace() and c.lower() == c.upper()}
    return "".join(sorted(marks)) + ("%" if "%%" in form else "")


_URL = re.compile(
    r"(https?://)?"  # scheme, added when missing
    r"(?:[^\s/?#@]+@)?"  # user
    r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?"  # host; TLD starts with a letter
    r"(?::\d{1,5})?"  # port
    r"(?:[/?#]\S*)?",  # path, query, fragment
    re.IGNORECASE,
)


# The usual shape, "https://host.tld/path" in lower-case ASCII: every text it matches, _URL
# matches with its scheme (the tests check), and this simpler pattern is twice as fast.
_USUAL_URL = re.compile(r"https?://(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]+(?:/\S*)?")


def web_address(text: str) -> str:
    """Check a web address; one typed without a scheme ("linkedin.com/in/jane") gets https://."""
    if _USUAL_URL.fullmatch(text):
        return text
    match = _URL.fullmatch(text)
    if match is None:
        if "://" in text and not text[:8].lower().startswith(("http://", "https://")):
            problem = "only http and https addresses are accepted"
        else:
            problem = "write a full address such as https://www.linkedin.com/in/name"
        raise RuleError(Code.INVALID_URL, f'"{text}" is not a web address; {problem}')
    return text if match.group(1) else "https://" + text


_HOST_OF = re.compile(r"[^:/]*://(?:[^/?#@]*@)?([^/?#:]*)")


def host_of(url: str) -> str:
    """The lower-case host of an http(s) URL, without user, password or port."""
    match = _HOST_OF.match(url)
    return match.group(1).lower() if match else ""


LINK_TYPES: Mapping[str, str] = {
    "linkedin.com": "linkedin",
    "github.com": "github",
    "gitlab.com": "gitlab",
    "bitbucket.org": "bitbucket",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "youtube.com": "youtube",
    "stackoverflow.com": "stackoverflow",
    "medium.com": "medium",
    "dribbble.com": "dribbble",
    "behance.net": "behance",
    "xing.com": "xing",
    "angel.co": "angellist",
    "wellfound.com": "angellist",
    "kaggle.com": "kaggle",
}


def link_type(url: str, types: Mapping[str, str] = LINK_TYPES) -> str:
    """The social link type of a URL from its domain or any parent domain, else "website".

    >>> link_type("https://uk.linkedin.com/in/jane")
    'linkedin'
    """
    host = host_of(url)
    while host:
        found = types.get(host)
        if found is not None:
            return found
        host = host.partition(".")[2]
    return "website"


_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def number(text: str) -> int | float:
    """A number written with digits, an optional sign, a decimal point and exponent."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    raise RuleError(
        Code.INVALID_VALUE,
        f'"{text}" is not a number; write digits with a decimal point, like 12 or 3.5',
    )


_BOOLEANS = {"true": True, "yes": True, "y": True, "1": True}
_BOOLEANS |= {"false": False, "no": False, "n": False, "0": False}


def boolean(text: str) -> bool:
    """true/false, yes/no, y/n or 1/0 in any case."""
    try:
        return _BOOLEANS[text.casefold()]
    except KeyError:
        raise RuleError(
            Code.INVALID_VALUE,
            f'"{text}" is not true or false; write one of true, false, yes, no, 1, 0 (or add '
            "it to translate in the mapping)",
        ) from None
