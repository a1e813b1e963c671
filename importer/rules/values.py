"""Numbers and booleans for custom fields."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from importer.errors import Code
from importer.rules.text import RuleError

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def number(text: str) -> int | float:
    """A number written with digits, an optional sign, a decimal point and exponent; or a
    percentage, the number it stands for ("50%" is 0.5, as Excel stores what it shows so)."""
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if math.isfinite(value):
            return value
    if text.endswith("%") and _DECIMAL.fullmatch(text[:-1]):
        value = float(Decimal(text[:-1]) / 100)
        if math.isfinite(value):
            return int(value) if value.is_integer() else value
    raise RuleError(
        Code.INVALID_VALUE,
        f'"{text}" is not a number; write digits with a decimal point, like 12 or 3.5',
        keepable=True,
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
            keepable=True,
        ) from None
