"""Which text encoding a CSV file is in: its BOM, else UTF-8, else a checked guess.

Each answer is checked against the whole file, so a wrong encoding fails before any row is read
rather than halfway through an import.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from charset_normalizer import from_bytes

from importer.errors import ConfigError

# UTF-32 comes first: the UTF-32 LE BOM starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SAMPLE = 64 * 1024
_CHUNK = 1024 * 1024
# A Latin letter written in UTF-8 (U+00C0-U+017F: é, ü, ñ, č, ł, ő...): read byte by byte as
# Windows-1252 it is two characters ("Ã©"), a pair Windows-1252 text itself almost never holds
# (a capital Â-Å followed by a symbol such as ’ or «).
_UTF8_LETTER = re.compile(rb"[\xc3-\xc5][\x80-\xbf]")


@dataclass(frozen=True, slots=True)
class _Undecodable:
    offset: int
    line: int
    byte: int


def detect_encoding(path: Path) -> str:
    """The BOM's encoding, else UTF-8 if the whole file decodes, else a guess checked likewise."""
    with open(path, "rb") as raw:
        head = raw.read(_SAMPLE)
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), None)
    if encoding is None:
        bad = _first_undecodable(path, "utf-8")
        if bad is None:
            return "utf-8"
        sample = head
        if len(head) == _SAMPLE and bad.offset > _SAMPLE // 2:
            # The start may be plain ASCII: let the guess see the bytes that are not UTF-8.
            with open(path, "rb") as raw:
                raw.seek(bad.offset - 1024)
                sample += b"\n" + raw.read(_SAMPLE)
        encoding = _guess_encoding(sample)
        _refuse_mixed(path, bad)
    bad = _first_undecodable(path, encoding)
    if bad is None:
        return encoding
    if encoding == "cp1252":
        return "latin-1"  # cp1252 leaves five bytes undefined; latin-1 maps every byte
    raise ConfigError(
        f"cannot tell which encoding {path} uses: it looks like {encoding}, but byte "
        f"0x{bad.byte:02X} on line {bad.line} is not {encoding}: save it from Excel as "
        '"CSV UTF-8", or pass --encoding (for example cp1252 or latin-1)'
    )


# Encodings that are read, not guessed: a byte-order mark names them, or every byte is UTF-8.
_CERTAIN = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-32"})
# A cell's worth of text around a character beyond ASCII, to show how the guess reads it.
_SHOWN = re.compile(r'[^\s,;"]{0,30}[^\x00-\x7f][^\s,;"]{0,30}')


def guess_note(path: Path, encoding: str) -> str | None:
    """What to tell the user of a CSV whose encoding ``detect_encoding`` guessed (None: it did
    not), showing the first text beyond ASCII as read: a guess can read the right bytes as the
    wrong letters, which only someone who knows the names can see."""
    if encoding in _CERTAIN:
        return None
    with open(path, "rb") as raw:
        head = raw.read(_SAMPLE)
    shown = ""
    for number, line in enumerate(head.decode(encoding, errors="replace").split("\n"), 1):
        found = _SHOWN.search(line)
        if found is not None:
            shown = f' (line {number} reads "{found.group()}")'
            break
    return (
        f"{path.name} is not UTF-8: it was read as {encoding}, a guess from its text{shown}; "
        "if letters look wrong, pass --encoding with the code page it was saved in, or save it "
        'from Excel as "CSV UTF-8"'
    )


def _refuse_mixed(path: Path, bad: _Undecodable) -> None:
    """Refuse a file that is UTF-8 but for some bytes (a line pasted from a Windows-1252 file):
    read either way, the letters of one part would come out as other letters.

    It is taken for UTF-8 with odd bytes when it holds a UTF-8 Latin letter and, read as UTF-8,
    at least as many characters beyond ASCII as bytes that are not UTF-8. Text in a single-byte
    code page, where two letters now and then look like one UTF-8 letter (Romanian "ĂŞ" in
    Windows-1250, Ukrainian "Гі" in Windows-1251), is nearly all bytes that are not UTF-8.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    first: tuple[int, str] | None = None
    line = wide = odd = 0
    with open(path, "rb") as raw:
        while True:
            chunk = raw.read(_CHUNK)
            if first is None and (found := _UTF8_LETTER.search(chunk)) is not None:
                first = line + chunk.count(b"\n", 0, found.start()) + 1, found.group().decode()
            line += chunk.count(b"\n")
            text = decoder.decode(chunk, final=not chunk)
            replaced = text.count("\ufffd")
            odd += replaced
            wide += len(text) - len(text.encode("ascii", "ignore")) - replaced
            if not chunk:
                break
    if first is None or wide < odd:
        return
    at, letter = first
    raise ConfigError(
        f"{path} mixes two encodings: line {at} holds a letter written in UTF-8 "
        f'("{letter}"), but byte 0x{bad.byte:02X} on line {bad.line} is not UTF-8 (perhaps pasted '
        "from a Windows file): read either way, the accented letters of one of them would be "
        f"read as other letters. Correct line {bad.line} in a text editor that saves UTF-8, or "
        "pass --encoding to read the whole file one way"
    )


def _guess_encoding(sample: bytes) -> str:
    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else "cp1252"
    # On a few accented names charset-normalizer picks almost at random among look-alike
    # single-byte code pages (cp1250, cp1257, mac_latin2...). Excel on Windows writes its own:
    # when the guess reads as Latin script anyway, take Windows' (_windows_code_page).
    text = sample.decode(guess, errors="replace")
    windows = _windows_code_page(sample)
    if len(text) == len(sample) and _is_latin_script(text):
        return windows
    # A few accented names read as letters of another script inside Latin words: Windows too.
    if _letters_glued_to_latin(text) and not _letters_glued_to_latin(sample.decode(windows)):
        return windows
    # A guess with no two characters beyond ASCII side by side, where Windows reads letters
    # inside words: a Latin letter taken for a sign of another script, alone or with the letter
    # after it ("Ça va" as "ド va", "1ª planta" as "1ｪ planta"). Words in those scripts are
    # mostly two signs or more; a lone sign that Windows reads as no letter in a word (男 and 女
    # in a gender column) stays what it was guessed.
    if not _WIDE_PAIR.search(text) and _accents_in_words(sample.decode(windows)):
        return windows
    return guess


_WIDE_PAIR = re.compile(r"[^\x00-\x7f]{2}")
_WIDE_ALONE = re.compile(r"(?<![A-Za-z0-9])[^\x00-\x7f](?![A-Za-z0-9])")


def _accents_in_words(text: str) -> bool:
    """Every character beyond ASCII is a Latin letter (or the ordinal ª, º) beside an ASCII
    letter or digit."""
    wide = {char for char in text if char > "\x7f"}
    latin = all(char in _ORDINALS or (char.isalpha() and _is_latin_script(char)) for char in wide)
    return bool(wide) and latin and not _WIDE_ALONE.search(text)


# What Windows-1252 makes of Central European letters of Windows-1250: a digit or a symbol
# inside a word ("W¹sowska" for Wąsowska, "Œwiêtos³aw" for Świętosław), or a word starting with
# a pound or macron sign ("£ukasiewicz", "¯ó³kiewski" for Łukasiewicz, Żółkiewski).
_CENTRAL_EUROPEAN = re.compile(r"[^\W\d_][¹²³¼½¾£¥¯¿]+[^\W\d_]|(?<![^\W\d_])[£¥¯][^\W\d_]")


def _windows_code_page(sample: bytes) -> str:
    """The code page Excel on Windows wrote a Latin-script sample in: Windows-1250 (Polish,
    Czech, Hungarian...) when Windows-1252 would put symbols inside its words and 1250 none;
    else the one of 1252, 1250, 1254 (Turkish) and 1257 (Baltic) that spells the fewest of its
    words as none of its languages does, 1252 on a tie; latin-1 for 1252 where 1252 has a hole
    (0x81, 0x8D, 0x8F, 0x90, 0x9D)."""
    western = "cp1252" if _decodes(sample, "cp1252") else "latin-1"
    west = sample.decode(western)
    if _decodes(sample, "cp1250"):
        central = sample.decode("cp1250")
        if _CENTRAL_EUROPEAN.search(west) and not _CENTRAL_EUROPEAN.search(central):
            return "cp1250"
    best, fewest = western, _misspelt(west, _WESTERN_ALPHABETS)
    for code_page, alphabets in _OTHER_CODE_PAGES:
        if fewest and _decodes(sample, code_page):
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
_UNDEFINED_IN_WORD = re.compile(r"[^\W\d_][\x80-\x9f]|[\x80-\x9f][^\W\d_]")


_ORDINALS = frozenset("ªº")  # letters, but of no script or alphabet: "1ª", "Nº 5"
_NOT_LETTERS = _ORDINALS | frozenset(chr(code) for code in range(128))


def _misspelt(text: str, alphabets: tuple[_Alphabet, ...]) -> int:
    """Words that no one of ``alphabets`` spells: a letter beyond ASCII it lacks, or one where
    it never writes it."""
    misspelt = len(_UNDEFINED_IN_WORD.findall(text))
    for cased in _WORD.findall(text):
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


_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def _letters_glued_to_latin(text: str) -> bool:
    """Whether most words holding letters beyond ASCII hold letters of another script beside
    ASCII ones, as a few accented Latin names read in a guessed Asian or Arabic code page do
    ("Renﻠ", "H幨鋝e"): charset-normalizer guesses so on small files, where a real Cyrillic or
    Japanese file has whole words of its script."""
    words = [word for word in _WORD.findall(text) if not word.isascii()]
    # the ordinal indicators of "Nº 5" and "1ª" are letters, but of no script
    glued = [w for w in words if _ASCII_LETTER.search(w) and not _is_latin_script(w.strip("ªº"))]
    return bool(words) and len(glued) * 2 >= len(words)


def _is_latin_script(text: str) -> bool:
    return all(
        unicodedata.name(char, "").startswith("LATIN")
        for char in set(text)
        if char > "\x7f" and char.isalpha()
    )


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        sample.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def check_encoding(path: Path, encoding: str) -> str:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r} (--encoding): use a name such as utf-8, cp1252 "
            "or latin-1"
        ) from None
    bad = _first_undecodable(path, encoding)
    if bad is None:
        return encoding
    try:
        detected = detect_encoding(path)
        hint = f"it looks like {detected}: pass --encoding {detected}, or leave --encoding out"
    except ConfigError:
        hint = 'leave --encoding out, or save the file from Excel as "CSV UTF-8"'
    raise ConfigError(
        f"{path} is not {encoding}: byte 0x{bad.byte:02X} on line {bad.line} "
        f"(byte offset {bad.offset}) cannot be decoded; {hint}"
    )


def _first_undecodable(path: Path, encoding: str) -> _Undecodable | None:
    """Decode the whole file in chunks and report its first bad byte.

    A pass costs far less than parsing the rows, and it makes a wrong encoding fail before any
    row is read rather than halfway through an import.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = line = 0  # bytes and newlines before the chunk
    with open(path, "rb") as raw:
        while True:
            chunk = raw.read(_CHUNK)
            held = len(decoder.getstate()[0])  # undecoded bytes carried over from the last chunk
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                newlines = chunk[: max(0, exc.start - held)].count(b"\n")
                return _Undecodable(
                    offset - held + exc.start, line + newlines + 1, exc.object[exc.start]
                )
            if not chunk:
                return None
            offset += len(chunk)
            line += chunk.count(b"\n")
