"""Text rules: precision of Excel numbers, splitting, names, case and translation tables."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

from importer.errors import Code, WarningCode

T = TypeVar("T")


class RuleError(ValueError):
    """A cell value that a rule cannot accept; ``code`` is the reject code.

    ``keepable``: the value may still be sent as typed where the mapping says
    ``on_invalid: keep`` (a number that cannot be read with certainty); text that is no such
    value at all, or a value Excel already destroyed, is not."""

    def __init__(self, code: Code, message: str, *, keepable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.keepable = keepable


class _Empty:
    """No value: the field is left out of the body."""


NO_VALUE = _Empty()


class Flagged(NamedTuple):
    """A value to send together with a warning about it (``value`` may be ``NO_VALUE``, for a
    value dropped)."""

    value: Any
    code: WarningCode
    message: str


# Excel's General format writes long numbers as one digit, decimals, E, a sign and at least two
# exponent digits ("4.47701E+11"; "4,47701E+11" where the decimal separator is a comma): the
# digits after the sixth are gone for good.
_SCIENTIFIC = re.compile(r"[+-]?\d(?:[.,]\d+)?[eE][+-]\d{2,}")
# A cell that is one number even though it holds a comma: scientific notation, or a European
# number grouped by dots with decimals after a comma ("1.234,50"). ``split:`` never cuts these.
_ONE_NUMBER = re.compile(_SCIENTIFIC.pattern + r"|[+-]?\d{1,3}(?:\.\d{3})+,\d+")
# "447700900123.0": a number cell that went through a float on its way to text.
FLOAT_ARTEFACT = re.compile(r"\+?\d+\.0+")


def check_precision(text: str) -> str:
    """Refuse text that Excel already turned into scientific notation, return it otherwise; but
    scientific notation that still shows every digit ("4.47911123456E+11", a wide column or a
    format with more decimals) is the number written out ("447911123456")."""
    # Text that starts with a letter cannot match: the test keeps the regex off the hot path.
    if not text[:1].isalpha() and _SCIENTIFIC.fullmatch(text):
        mantissa, _, exponent = text.replace(",", ".").upper().partition("E")
        shown = len(mantissa.partition(".")[2])
        if 0 < int(exponent) <= shown:
            return f"{Decimal(mantissa).scaleb(int(exponent)):f}"
        raise RuleError(
            Code.PRECISION_LOST,
            f'"{text}" is a number that Excel shortened to scientific notation, so digits are '
            "lost; format the column as Text in Excel and type the full value again",
        )
    return text


# C0 controls but tab, line feed and carriage return (the layout of a notes cell), DEL and the
# C1 controls: invisible, typed by no one (a fixed-width export's NUL padding, a decoding gone
# wrong), and refused by many systems (PostgreSQL's text cannot hold U+0000).
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Invisible format characters that web pages and word processors put into what is copied from
# them: a soft hyphen, a zero-width space, a word joiner, a byte-order mark. (Text keeps the
# joiners and direction marks that some scripts and emoji need.)
_COPIED = "\u00ad\u200b\u2060\ufeff"
# ... and every format character, none of which an e-mail address or a web address can hold.
_FORMAT = "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff"
INVISIBLE_IN_TEXT = re.compile(f"[{_CONTROLS}{_COPIED}]")
INVISIBLE_IN_ADDRESS = re.compile(f"[{_CONTROLS}{_FORMAT}]")
# ... of which these separate what is on either side (a vertical tab is FileMaker's line break
# inside a cell, "Principal\vEngineer"): a space, where the others go without a trace.
_SEPARATING = re.compile(r"[\x0b\x0c\x1c-\x1f]")


def without_invisible(text: str, invisible: re.Pattern[str]) -> tuple[str, str] | None:
    """``text`` without the characters ``invisible`` finds, and words saying which it held; None
    when it holds none (the usual case, decided by ``isprintable`` at C speed: it is false for
    tabs, line breaks and spaces beyond ASCII too, so the search decides)."""
    if text.isprintable() or not invisible.search(text):
        return None
    found = ", ".join(sorted({f"U+{ord(char):04X}" for char in invisible.findall(text)}))
    shown = invisible.sub(lambda char: f"\\u{ord(char[0]):04x}", text)
    cleaned = invisible.sub("", _SEPARATING.sub(" ", text)).strip()
    return cleaned, f'"{shown}" holds invisible characters ({found}), which no one means to type'


# What Excel shows (and a CSV it saves holds) for a formula it could not compute: no value.
_EXCEL_ERRORS = frozenset(
    [
        "#N/A",
        "#VALUE!",
        "#REF!",
        "#DIV/0!",
        "#NUM!",
        "#NAME?",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#EXTERNAL!",
        "#PYTHON!",
        "#GETTING_DATA",
    ]
)


def excel_error(text: str) -> Flagged | None:
    """An Excel error value as no value, with a warning; None for any other text."""
    if text[:1] != "#" or text.upper() not in _EXCEL_ERRORS:
        return None
    return Flagged(
        NO_VALUE,
        WarningCode.VALUE_DROPPED,
        f'"{text}" is what Excel shows for a formula it could not compute, not a value: left out',
    )


def plain_text(text: str) -> str | Flagged:
    """A text value as sent: none for an Excel error value, refused if Excel shortened it to
    scientific notation (see ``check_precision``), and without invisible characters, with a
    warning when it held any."""
    if text[:1] == "#" and (error := excel_error(text)) is not None:
        return error
    text = check_precision(text)
    found = without_invisible(text, INVISIBLE_IN_TEXT)
    if found is None:
        return text
    cleaned, said = found
    if not cleaned:
        return Flagged(
            NO_VALUE, WarningCode.INVISIBLE_REMOVED, f"{said}: nothing else, so left out"
        )
    return Flagged(cleaned, WarningCode.INVISIBLE_REMOVED, f'{said}: sent as "{cleaned}"')


def separator_pattern(separators: Sequence[str]) -> re.Pattern[str]:
    """The compiled form of a ``split:`` list, for ``split_values``."""
    ordered = sorted(separators, key=len, reverse=True)  # longest first: "; " before ";"
    return re.compile("|".join(re.escape(separator) for separator in ordered))


def split_values(text: str, separators: re.Pattern[str]) -> list[str]:
    """Split a multi-value cell; the pieces are stripped and empty ones dropped.

    A cell that is one number ("4,47701E+11", "1.234,50") is one value whatever the separators,
    and an address written with its name ("Lovelace, Ada <ada@example.org>", as Outlook
    copies it) is one value with its name.

    >>> split_values("a@x.com, b@y.com;", separator_pattern([",", ";"]))
    ['a@x.com', 'b@y.com']
    """
    pieces = separators.split(text)
    if len(pieces) == 1:
        return pieces
    if _ONE_NUMBER.fullmatch(text.strip()):
        return [text.strip()]
    if "<" in text and "@" in text:
        return _with_named_addresses(text, separators)
    return _with_extensions([piece for piece in (part.strip() for part in pieces) if piece])


# A phone number's extension written after a separator: "+1 202 555 0143, ext 7" is one number.
_EXTENSION = re.compile(r"(?:ext(?:n|ension)?\.?|x|#)\s*\d{1,7}", re.IGNORECASE)


def _with_extensions(pieces: list[str]) -> list[str]:
    """``pieces`` with each one that is only an extension put back after the number before it."""
    joined: list[str] = []
    for piece in pieces:
        if joined and joined[-1][-1].isdigit() and _EXTENSION.fullmatch(piece):
            joined[-1] += " " + piece
        else:
            joined.append(piece)
    return joined


# An address in angle brackets. Found from its "<", so the search costs one pass over the
# cell: a pattern taking the name before it too would be tried from every character of a cell
# holding a "<" and an "@" but no address (quadratic: 49 s for 160 KB).
_BRACKETED_ADDRESS = re.compile(r"<[^<>@]*@[^<>]*>")


def _with_named_addresses(text: str, separators: re.Pattern[str]) -> list[str]:
    """``split_values`` for a cell holding "name <address>" values: a separator inside a name
    does not cut it; a piece before the name that holds an @ is an address of its own."""
    values: list[str] = []
    end = 0
    for found in _BRACKETED_ADDRESS.finditer(text):
        head = text[end : found.start()]  # the name, after the values before it
        name_starts = 0
        for separator in separators.finditer(head):
            before = head[name_starts : separator.start()]
            if "@" in before or not before.strip():
                values.extend(_pieces(before, separators))
                name_starts = separator.end()
        values.append(text[end + name_starts : found.end()].strip())
        end = found.end()
    values.extend(_pieces(text[end:], separators))
    return values


def _pieces(text: str, separators: re.Pattern[str]) -> list[str]:
    return [piece for piece in (part.strip() for part in separators.split(text)) if piece]


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


def lower_case(text: str) -> str:
    """``str.lower``, but for the dotted capital I of Turkish and Azerbaijani (İlker), which it
    would make "i" and a combining dot above (two characters, and another address in an
    e-mail); those languages write it small as a plain "i"."""
    return text.replace("İ", "i").lower() if "İ" in text else text.lower()


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
            keepable=True,
        )
