"""Which text encoding a CSV file is in: its BOM, else UTF-8, else a checked guess.

Each answer is checked against the whole file, so a wrong encoding fails before any row is read
rather than halfway through an import.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import CharsetMatch, from_bytes

from importer.errors import ConfigError
from importer.read.code_pages import ORDINALS, WORD, windows_code_page

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
        guessed = list(from_bytes(sample))
        encoding = _guess_encoding(sample, guessed[0] if guessed else None)
        _refuse_mixed(path, bad)
        _refuse_uncertain(path, sample, encoding, guessed)
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


# The code pages Excel on Windows saves "CSV" in, by the system's language: each is weighed
# against the guess even when charset-normalizer left it out of its own list.
_EXCEL_CODE_PAGES = (
    "cp874",
    "cp1250",
    "cp1251",
    "cp1252",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp1258",
    "cp932",
    "gbk",
    "cp949",
    "big5",
)
# How much worse a rival reading may score and still be as likely as the guess: on a few
# names charset-normalizer's scores differ by less than this between right and wrong.
_CHAOS_MARGIN = 0.05
_COHERENCE_MARGIN = 0.1


def _with_excel_code_pages(sample: bytes, found: list[CharsetMatch]) -> list[CharsetMatch]:
    """charset-normalizer's readings ``found``, then Excel's code pages it left out."""
    named = {match.encoding for match in found}
    isolated = from_bytes(sample, cp_isolation=list(_EXCEL_CODE_PAGES))
    return found + [match for match in isolated if match.encoding not in named]


def _refuse_uncertain(path: Path, sample: bytes, guess: str, guessed: list[CharsetMatch]) -> None:
    """Refuse a guess that other code pages match as well: on a few names in Hebrew, Arabic,
    Thai or Chinese, the scores of the right code page and a wrong one are a coin toss, and
    the wrong one creates every candidate with other letters.

    Latin-script readings are left to ``_guess_encoding``'s Windows rules, unless most of their
    accented letters stand apart from any ASCII letter, as no Latin-script names are written
    and as Hebrew or Arabic read in a Western code page always are.
    """
    reading = sample.decode(guess, errors="replace")
    latin = _is_latin_script(reading)
    if latin and not _letters_stand_alone(reading):
        return
    matches = _with_excel_code_pages(sample, guessed)
    # A reading no one could have typed sets no bar: every reading that could have is a rival.
    believable = _plausible(reading) and not latin
    score = next((m for m in matches if m.encoding == guess), None) if believable else None
    rivals = [
        match.encoding
        for match in matches
        if match.encoding != guess
        and (
            score is None
            or (
                match.chaos <= score.chaos + _CHAOS_MARGIN
                and match.coherence >= score.coherence - _COHERENCE_MARGIN
            )
        )
        and _plausible(str(match))
        and not (_is_latin_script(str(match)) and _letters_stand_alone(str(match)))
    ]
    rivals.sort(key=lambda encoding: encoding not in _EXCEL_CODE_PAGES)  # the likelier first
    if believable and all(str(m) == reading for m in matches if m.encoding in rivals):
        return
    raise ConfigError(
        f"cannot tell which encoding {path} uses: it is not UTF-8, and too little of its text "
        f"is beyond ASCII to tell the code page it was saved in; "
        f"{_readings(sample, [guess, *rivals])}. Pass --encoding with the one whose letters "
        'are right, or save the file from Excel as "CSV UTF-8"'
    )


def _readings(sample: bytes, encodings: list[str]) -> str:
    """The first line holding text beyond ASCII, as each of ``encodings`` reads it (five at
    most, encodings that read it alike named together)."""
    lines = sample.split(b"\n")
    number = next((n for n, line in enumerate(lines) if not line.isascii()), 0)
    alike: dict[str, list[str]] = {}
    for encoding in encodings:
        found = _SHOWN.search(lines[number].decode(encoding, errors="replace"))
        alike.setdefault(found.group() if found is not None else "", []).append(encoding)
    shown = [f'"{text}" as {" or ".join(names)}' for text, names in list(alike.items())[:5]]
    return f"line {number + 1} reads " + ", ".join(shown)


def _letters_stand_alone(text: str) -> bool:
    """Most letters beyond ASCII have no ASCII letter beside them (the ordinals of "1ª" and
    "Nº" aside)."""
    alone = attached = 0
    for at, char in enumerate(text):
        if char <= "\x7f" or not char.isalpha() or char in ORDINALS:
            continue
        around = text[max(0, at - 1) : at] + text[at + 1 : at + 2]
        if _ASCII_LETTER.search(around):
            attached += 1
        else:
            alone += 1
    return alone > attached


# Punctuation and signs beyond ASCII that names, addresses and notes hold in any script.
_COMMON_SIGNS = frozenset("’‘“”„–—«»°€£¥¿¡·…×©®™§¶±µ\u00a0")
# Scripts one word may mix: Japanese writes kanji with kana, Korean hanja with hangul.
_SCRIPT_FAMILIES = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA"}),
    frozenset({"CJK", "HANGUL"}),
)


def _plausible(text: str) -> bool:
    """Whether ``text`` could be what someone typed: letters (and their marks) of one script in
    each word, never glued to ASCII letters unless Latin, and no signs but common ones."""
    signs = (char for char in set(text) if char > "\x7f" and char not in _COMMON_SIGNS)
    if any(unicodedata.category(char)[0] not in "LM" for char in signs):
        return False
    for word in WORD.findall(text):
        scripts = {_script(char) for char in word if char > "\x7f"}
        if not scripts or scripts == {"LATIN"}:
            continue
        if _ASCII_LETTER.search(word):
            return False
        if len(scripts) > 1 and not any(scripts <= family for family in _SCRIPT_FAMILIES):
            return False
    return True


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith("HALFWIDTH"):
        return "HALFWIDTH"  # half-width katakana, which no one mixes with kanji in a name
    return "CJK" if name.startswith("CJK") else name.split(" ", 1)[0]


def _guess_encoding(sample: bytes, best: CharsetMatch | None) -> str:
    guess = best.encoding if best is not None else "cp1252"
    # On a few accented names charset-normalizer picks almost at random among look-alike
    # single-byte code pages (cp1250, cp1257, mac_latin2...). Excel on Windows writes its own:
    # when the guess reads as Latin script anyway, take Windows' (windows_code_page).
    text = sample.decode(guess, errors="replace")
    windows = windows_code_page(sample)
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
    latin = all(char in ORDINALS or (char.isalpha() and _is_latin_script(char)) for char in wide)
    return bool(wide) and latin and not _WIDE_ALONE.search(text)


_ASCII_LETTER = re.compile(r"[A-Za-z]")


def _letters_glued_to_latin(text: str) -> bool:
    """Whether most words holding letters beyond ASCII hold letters of another script beside
    ASCII ones, as a few accented Latin names read in a guessed Asian or Arabic code page do
    ("Renﻠ", "H幨鋝e"): charset-normalizer guesses so on small files, where a real Cyrillic or
    Japanese file has whole words of its script."""
    words = [word for word in WORD.findall(text) if not word.isascii()]
    # the ordinal indicators of "Nº 5" and "1ª" are letters, but of no script
    glued = [w for w in words if _ASCII_LETTER.search(w) and not _is_latin_script(w.strip("ªº"))]
    return bool(words) and len(glued) * 2 >= len(words)


def _is_latin_script(text: str) -> bool:
    return all(
        unicodedata.name(char, "").startswith("LATIN")
        for char in set(text)
        if char > "\x7f" and char.isalpha() and char not in ORDINALS
    )


# Codecs Python knows that turn bytes into text but are no way a file's text is saved: domain
# names, and escapes that would turn a cell's "\\n" into a line break.
_NOT_FILE_ENCODINGS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape"})


def check_encoding(path: Path, encoding: str) -> str:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(
            f"unknown encoding {encoding!r} (--encoding): use a name such as utf-8, cp1252 "
            "or latin-1"
        ) from None
    if not codec._is_text_encoding or codec.name in _NOT_FILE_ENCODINGS:
        # hex, base64, zlib... turn bytes into bytes; decoding a table with them fails oddly
        raise ConfigError(
            f"{encoding!r} (--encoding) is not an encoding text files are saved in: use a name "
            "such as utf-8, cp1252 or latin-1, or leave --encoding out"
        )
    if codec.name in ("utf-16", "utf-32"):
        with open(path, "rb") as raw:
            head = raw.read(4)
        if not any(head.startswith(bom) for bom, name in _BOMS if name == codec.name):
            order = codec.name
            raise ConfigError(
                f"{path} does not start with the byte-order mark --encoding {encoding} needs "
                f"to know which byte comes first: pass --encoding {order}-le (as Windows saves "
                f"it) or {order}-be, or leave --encoding out"
            )
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
