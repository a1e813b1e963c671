"""Country cells as people write them ("Schweiz", "U.K.", "DEU") → the phone region they name.

The names come from CLDR (through Babel): every territory's name in English and in the official
languages of every territory, so "Österreich", "Suisse", "España" and "Sverige" are known without
a list of our own. ISO 3166 alpha-2 codes and CLDR's territory aliases (the alpha-3 codes, "UK")
come first, then English names, then the others; a name that two territories share in different
languages ("Kongo") is left out rather than guessed.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping

import phonenumbers
from babel import Locale, localedata
from babel.core import get_global
from babel.languages import get_official_languages

# Names in use that are no CLDR territory name: the nations of the United Kingdom and the long
# forms exports spell out. Each is a name of the country, never an abbreviation to guess from.
_NOT_TERRITORY_NAMES = {
    "GB": ("Great Britain", "England", "Scotland", "Wales", "Northern Ireland"),
    "US": ("United States of America",),
    "NL": ("Holland",),
}


def country_key(text: str) -> str:
    """The form country cells are compared in: no accents, case or punctuation.

    >>> country_key(" U.S.A. "), country_key("Österreich")
    ('usa', 'osterreich')
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


def region_of_country(text: str) -> str | None:
    """The phone region (ISO 3166 alpha-2) a country cell names, or None when it names none."""
    key = country_key(text)
    # Codes and English names answer most cells; the names in other languages cost Babel a
    # file per language (about 130), read only once a cell needs them.
    found = _common_names().get(key)
    return found if found is not None else country_regions().get(key)


@functools.cache
def country_regions() -> dict[str, str]:
    """``country_key`` of every known name, code and alias → phone region."""
    known = dict(_common_names())
    for key, region in _others(_REGIONS).items():
        known.setdefault(key, region)
    return known


_REGIONS = frozenset(phonenumbers.SUPPORTED_REGIONS)


@functools.cache
def _common_names() -> dict[str, str]:
    known = _codes(_REGIONS)
    for key, region in _english(_REGIONS).items():
        known.setdefault(key, region)
    return known


def _codes(regions: frozenset[str]) -> dict[str, str]:
    found = {country_key(region): region for region in regions}
    aliases: Mapping[str, list[str]] = get_global("territory_aliases")
    for alias, replacement in aliases.items():
        if alias.isalpha() and len(replacement) == 1 and replacement[0] in regions:
            found.setdefault(country_key(alias), replacement[0])
    return found


def _english(regions: frozenset[str]) -> dict[str, str]:
    found = _names(["en"], regions)
    for region, names in _NOT_TERRITORY_NAMES.items():
        found.update((country_key(name), region) for name in names)
    return found


def _others(regions: frozenset[str]) -> dict[str, str]:
    languages = {language for region in regions for language in _languages(region)}
    return _names(sorted(languages - {"en"}), regions)


def _languages(region: str) -> tuple[str, ...]:
    languages: tuple[str, ...] = get_official_languages(region, de_facto=True)
    return languages


def _names(languages: list[str], regions: frozenset[str]) -> dict[str, str]:
    """Names of the regions in these languages; a name given to two regions is left out."""
    found: dict[str, str] = {}
    shared: set[str] = set()
    for language in languages:
        if not localedata.exists(language):
            continue
        territories: Mapping[str, str] = Locale.parse(language).territories
        for region, name in territories.items():
            if region not in regions:
                continue
            key = country_key(name)
            if found.setdefault(key, region) != region:
                shared.add(key)
    for key in shared:
        del found[key]
    return found
