"""Which country a file's national phone numbers are from, when no column says.

A number typed without + names no country, and most national numbers are valid in many: "06 12
34 56 78" is a valid number in France, Italy, South Africa and two dozen other countries. What
tells them apart across a sample is how people write them: the trunk prefix ("0") a country's
numbers start with or not, and the groups of digits ("06 12 34 56 78" in France, "061 234 5678"
in South Africa). So a sampled number *fits* a country when it is a valid national number
there, written with that country's trunk prefix and, when its digits are grouped as some
country groups them, grouped as this one does.

The sample points to one country when that country fits a majority of the national numbers
(those that fit some country) and no other country fits three quarters as many; otherwise it is
ambiguous and no region is suggested. Numbers written with + or 00 say nothing about it. Digits
typed in one block that are a valid number of a country once its trunk prefix is put back
(Excel drops the 0 of 07400123456 typed into a number cell) count for that country as a rival:
they may be either.
Countries that share a calling code (the United Kingdom and Jersey, the United States and
Canada) read numbers the same way, so they count as one; the one named is the one most of the
numbers belong to.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberFormat

from importer.rules.phone import national_e164

_MAIN_REGIONS = tuple(
    regions[0] for _, regions in sorted(COUNTRY_CODE_TO_REGION_CODE.items()) if regions[0] != "001"
)
"""One region per calling code (its main one): each reads the numbers of all that share it."""
_GROUP = re.compile(r"\d+")
_INTERNATIONAL = ("+", "00")


@dataclass(frozen=True, slots=True)
class RegionGuess:
    """What the sample's national numbers say about their country."""

    region: str | None
    """The region to read numbers without + in; None when the sample does not point to one."""
    national: int
    """Sampled numbers without + or 00 that fit some country."""
    international: int = 0
    """Sampled numbers written with + or 00."""
    ranked: tuple[tuple[str, int], ...] = ()
    """The two countries most numbers fit, with how many, best first."""

    def describe(self) -> str:
        """For the mapping's comment: the region and the evidence, or why there is none."""
        if self.national == 0 and self.international:
            return "the numbers in the sample carry + and their country code"
        if self.national == 0:
            return "no number in the sample is a valid national number of any country"
        best, fits = self.ranked[0]
        # A rival's count includes numbers that fit it only once a dropped trunk 0 is put back,
        # which are not among the national numbers that fit: say so, or it reads as "3 of 1".
        rival = ""
        if len(self.ranked) > 1:
            name, count = self.ranked[1]
            rival = f"{count} fit {name}, counting digits that do once a leading 0 is put back"
        if self.region is None:
            return (
                f"the sample does not point to one country: {fits} of the {self.national} "
                f"national numbers fit {best}" + (f"; {rival}" if rival else "")
            )
        text = (
            f"{fits} of the {self.national} national numbers in the sample are valid there and "
            f"written as {self.region} writes them"
        )
        return text + (f" (next: {rival})" if rival else "")


def guess_region(numbers: Iterable[str]) -> RegionGuess:
    """The region the national numbers among ``numbers`` were typed for, if they tell one."""
    fitting: Counter[int] = Counter()
    rivals: Counter[int] = Counter()
    by_region: Counter[str] = Counter()
    national = international = 0
    for text in numbers:
        if text.lstrip().startswith(_INTERNATIONAL):
            international += 1
            continue
        found, dropped = _readings(text)
        if found:
            national += 1
            fitting.update({phonenumbers.country_code_for_region(r) for r in found})
            by_region.update(found)
        rivals.update({phonenumbers.country_code_for_region(r) for r in (*found, *dropped)})
    if not fitting:
        return RegionGuess(None, national, international)
    best, fits = fitting.most_common(1)[0]
    others = [(n, code) for code, n in rivals.items() if code != best]
    rival_count, rival = max(others, default=(0, 0))
    ranked: tuple[tuple[str, int], ...] = ((_named(best, by_region), fits),)
    if rival:
        ranked += ((_named(rival, by_region), rival_count),)
    clear = fits * 2 > national and rival_count * 4 < fits * 3
    return RegionGuess(ranked[0][0] if clear else None, national, international, ranked)


def _named(code: int, by_region: Counter[str]) -> str:
    """Of the regions sharing ``code``, the one most numbers belong to (the main one on a tie)."""
    regions = COUNTRY_CODE_TO_REGION_CODE[code]
    return max(regions, key=lambda region: (by_region[region], region == regions[0]))


@functools.lru_cache(maxsize=4096)
def _readings(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The regions ``text`` fits (see the module's docstring), and, unless its grouping tells,
    those it would be a valid number of had its trunk prefix not been dropped (as Excel drops
    the 0 of 07400123456 typed into a number cell): such a number may be either."""
    typed = _GROUP.findall(text)
    digits = "".join(typed)
    readings: list[tuple[str, tuple[int, ...]]] = []
    dropped: list[str] = []
    for main in _MAIN_REGIONS:
        e164 = national_e164(text, main)
        if e164 is None:
            continue
        number = phonenumbers.parse(e164)
        groups = _GROUP.findall(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
        region = phonenumbers.region_code_for_number(number) or main
        written = "".join(groups)
        if written == digits:
            readings.append((region, tuple(len(group) for group in groups)))
        elif written.endswith(digits):
            dropped.append(region)
    shape = tuple(len(group) for group in typed)
    # Digits typed in one block, or grouped as no country groups them, tell nothing by it.
    grouped = len(typed) > 1 and any(own == shape for _, own in readings)
    fits = tuple(region for region, own in readings if not grouped or own == shape)
    # Grouped as a country writes its numbers, the digits were typed, not cut by Excel.
    return fits, () if grouped else tuple(dropped)
