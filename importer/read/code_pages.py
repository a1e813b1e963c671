"""Which Windows (or Mac) code page a Latin-script sample was saved in, by how it spells words.

On a few accented names charset-normalizer picks almost at random among look-alike single-byte
code pages; each language's alphabet tells them apart where the bytes cannot.
"""

from __future__ import annotations

import re
from itertools import pairwise

# What Windows-1252 makes of Central European letters of Windows-1250: a digit or a symbol
# inside a word ("W¹sowska" for Wąsowska, "Œwiêtos³aw" for Świętosław), or a word starting with
# a pound or macron sign ("£ukasiewicz", "¯ó³kiewski" for Łukasiewicz, Żółkiewski).
_CENTRAL_EUROPEAN = re.compile(r"[^\W\d_][¹²³¼½¾£¥¯¿]+[^\W\d_]|(?<![^\W\d_])[£¥¯][^\W\d_]")


def windows_code_page(sample: bytes) -> str:
    """The code page Excel on Windows wrote a Latin-script sample in: Windows-1250 (Polish,
    Czech, Hungarian...) when Windows-1252 would put symbols inside its words and 1250 none;
    else the one of 1252, 1250, 1254 (Turkish) and 1257 (Baltic) that spells the fewest of its
    words as none of its languages does, 1252 on a tie; latin-1 for 1252 where 1252 has a hole
    (0x81, 0x8D, 0x8F, 0x90, 0x9D)."""
    western = "cp1252" if decodes(sample, "cp1252") else "latin-1"
    west = sample.decode(western)
    if decodes(sample, "cp1250"):
        central = sample.decode("cp1250")
        if _CENTRAL_EUROPEAN.search(west) and not _CENTRAL_EUROPEAN.search(central):
            return "cp1250"
    best, fewest = western, _misspelt(west, _WESTERN_ALPHABETS)
    for code_page, alphabets in _OTHER_CODE_PAGES:
        if fewest and decodes(sample, code_page):
            misspelt = _misspelt(sample.decode(code_page), alphabets)
            if misspelt < fewest:
                best, fewest = code_page, misspelt
    return best


# The letters beyond ASCII of the languages written in each code page, and where a letter
# cannot stand in a word of that language. Czech "Dvořák" read as Windows-1252 is "Dvoøák",
# Hungarian "Kőműves" "Kõmûves", Romanian "Stănescu" "Stãnescu" (Portuguese writes ã before
# o, e or s or at a word's end, õ before e), Turkish "Çağla" "Çaðla", Lithuanian "Stankevičius"
# "Stankevièius" and "Gaižauskas" "Gaiþauskas" (è before a vowel, þ inside a word), Latvian
# "Krūmiņš" "Krûmiòð": spellings no one language has. Only fewer such words switch a file from
# 1252: a file whose words fit both (Danish "Bjørn" is Czech "Bjřrn") stays Western, as most
# files from Windows are.
_Alphabet = tuple[frozenset[str], "re.Pattern[str] | None"]


def _alphabet(letters: str, misplaced: str | None = None) -> _Alphabet:
    return frozenset(letters), None if misplaced is None else re.compile(misplaced)


_WESTERN_ALPHABETS = (
    _alphabet("äöüß"),  # German
    _alphabet("àâæçéèêëîïôœùûüÿ", r"è[aeiouy]"),  # French
    _alphabet("áéíñóúü"),  # Spanish
    _alphabet("áâãàçéêíóôõúü", r"ã(?![oes]|$)|õ(?!e)"),  # Portuguese
    _alphabet("àèéìíîòóùú", r"è[aeiou]"),  # Italian
    _alphabet("áéíóúëïöüèà", r"è[aeiou]"),  # Dutch
    _alphabet("æøåéóòô"),  # Danish, Norwegian
    _alphabet("åäöé"),  # Swedish
    _alphabet("äöåšž"),  # Finnish
    _alphabet("áðéíóúýþæö", r"^ð|.þ"),  # Icelandic
    _alphabet("áðíóúýæø", r"^ð"),  # Faroese
    _alphabet("àçéèíïòóúü", r"è[aeiou]"),  # Catalan
    _alphabet("õäöüšž"),  # Estonian
    _alphabet("çë"),  # Albanian
)
_TURKISH_ALPHABETS = (
    _alphabet("çğıöşüâîû"),  # Turkish
    _alphabet("äöüß"),  # German
)
_BALTIC_ALPHABETS = (
    _alphabet("ąčęėįšųūž"),  # Lithuanian
    _alphabet("āčēģīķļņšūž"),  # Latvian
    _alphabet("äõöüšž"),  # Estonian
    _alphabet("äöüß"),  # German
)
_CENTRAL_ALPHABETS = (
    _alphabet("áčďéěíňóřšťúůýž"),  # Czech
    _alphabet("áäčďéíĺľňóôŕšťúýž"),  # Slovak
    _alphabet("ąćęłńóśźż"),  # Polish
    _alphabet("áéíóöőúüű"),  # Hungarian
    _alphabet("čćđšž"),  # Croatian, Bosnian, Slovenian
    _alphabet("ăâîşţ"),  # Romanian
    _alphabet("äöüß"),  # German
    _alphabet("çë"),  # Albanian
)
_OTHER_CODE_PAGES = (
    ("cp1250", _CENTRAL_ALPHABETS),
    ("cp1254", _TURKISH_ALPHABETS),
    ("cp1257", _BALTIC_ALPHABETS),
    # Excel for Mac's "Comma Separated Values" is Mac Roman: é, ü, ç are 0x8E, 0x9F, 0x8D
    ("mac_roman", _WESTERN_ALPHABETS),
)
# A byte Windows-1252 leaves undefined, which latin-1 reads as an invisible control character,
# beside a letter: Windows-1250's ť, Ť or Ź in a word ("Š\x9dastný" for Šťastný).
_UNDEFINED_INWORD = re.compile(r"[^\W\d_][\x80-\x9f]|[\x80-\x9f][^\W\d_]")


ORDINALS = frozenset("ªº")  # letters, but of no script or alphabet: "1ª", "Nº 5"
_NOT_LETTERS = ORDINALS | frozenset(chr(code) for code in range(128))


def _misspelt(text: str, alphabets: tuple[_Alphabet, ...]) -> int:
    """Words that no one of ``alphabets`` spells: a letter beyond ASCII it lacks, or one where
    it never writes it."""
    misspelt = len(_UNDEFINED_INWORD.findall(text))
    for cased in WORD.findall(text):
        if cased.isascii():
            continue
        # a capital beyond ASCII after a small letter ("JosŽ", "MŸller": a Mac's é and ü read
        # as Windows-1252) is how no language writes a name
        if any(a.islower() and b.isupper() and b > "\x7f" for a, b in pairwise(cased)):
            misspelt += 1
            continue
        word = cased.lower()
        # ² and ¼ are alphanumeric, so in words, and ª and º letters, but of no alphabet
        letters = {char for char in word if char.isalpha() and char not in _NOT_LETTERS}
        if not letters:
            continue
        misspelt += not any(
            letters <= alphabet and (misplaced is None or not misplaced.search(word))
            for alphabet, misplaced in alphabets
        )
    return misspelt


WORD = re.compile(r"[^\W\d_]+")


def decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
