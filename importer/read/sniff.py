"""What a file really is, from its first bytes, so that a PDF renamed .csv is not read as rows.

A CSV reader reads any bytes as text: a PDF, an image or a program renamed .csv would come out
as one column of garbage and a confusing "column not found". The file's signature (its "magic
number") says what it is; text that is mostly control characters is binary whatever its name.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from pathlib import Path

from importer.errors import ConfigError

HEAD = 8192
"""Bytes looked at: signatures sit in the first few; binary data shows within a page."""

# Office 97-2003 files (.xls, .doc, and password-protected .xlsx) start with this.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# (signature at offset 0, what a person would call it)
_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"{\\rtf", "a Rich Text (RTF) document"),
    (
        _OLE,
        "an Excel 97-2003 (.xls) workbook, a password-protected workbook or another Office "
        "97-2003 file",
    ),
)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# A web page: what an expired download link or a sign-in page saves as "export.csv", and what
# old ATSs send as an "Excel export" (a table in HTML named .xls).
_HTML = re.compile(rb"\s*(?:<!doctype\s+html|<html|<table|<\?xml[^>]*>\s*<html)", re.IGNORECASE)
_TEXT_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Bytes that no text file holds (NUL and the C0 controls but tab, line feed, vertical tab,
# form feed and carriage return, which exports do write).
_CONTROL = bytes([*range(0x00, 0x09), *range(0x0E, 0x20)])
_CONTROL_SHARE = 0.02


def check_content(path: Path, kind: str) -> None:
    """Raise ``ConfigError`` when ``path`` is not what its name says (``kind``: csv or xlsx),
    and for every .xls file (``kind`` xls), saying what it really is."""
    with open(path, "rb") as file:
        head = file.read(HEAD)
    if not head and kind != "xls":
        return  # an empty file is the readers' to explain
    if _HTML.match(head.removeprefix(codecs.BOM_UTF8)):
        raise _not_a_spreadsheet(path, "a web page (HTML)")
    if kind == "xls" and not head.startswith(_ZIP):
        raise _xls(path, head)
    if head.startswith(_ZIP):
        inside = _zip_contents(path)
        if kind == "xlsx" and inside == "an Excel workbook":
            return
        if inside == "an Excel workbook":
            raise ConfigError(
                f"{path} is an Excel workbook with a {path.suffix} name: rename it to .xlsx"
            )
        raise _not_a_spreadsheet(path, inside)
    what = next((name for signature, name in _SIGNATURES if head.startswith(signature)), None)
    if what is None and _is_binary(head):
        what = "binary data, not text"
    if what is not None:
        raise _not_a_spreadsheet(path, what)
    if kind == "xlsx":
        raise ConfigError(
            f"{path} is a text file, not an .xlsx workbook: if it holds rows separated by "
            "commas, semicolons or tabs, rename it to .csv"
        )


def _xls(path: Path, head: bytes) -> ConfigError:
    """Why an .xls file is not read. Old ATS exports name other things .xls too: a web page's
    table (the web page check above), or tab-separated text."""
    if not head:
        return ConfigError(f"{path} is empty: export the candidates again")
    if not head.startswith(_OLE) and not _is_binary(head):
        return ConfigError(
            f"{path} is a text file with an .xls name, as some exports write tab-separated "
            "rows: rename it to .tsv (or .csv if commas or semicolons separate the values)"
        )
    return ConfigError(
        f"{path} is an Excel 97-2003 .xls workbook, which cannot be read: "
        "open it in Excel and save it as .xlsx (Excel Workbook) or as CSV UTF-8"
    )


def _zip_contents(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return "a damaged zip archive"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "an Excel workbook"
    if "word/document.xml" in names:
        return "a Word document"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    if "content.xml" in names and "mimetype" in names:
        return "an OpenDocument file (LibreOffice, OpenOffice)"
    return "a zip archive"


def _is_binary(head: bytes) -> bool:
    if head.startswith(_TEXT_BOMS):
        return False
    if b"\x00" in head and _is_utf16_without_bom(head):
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    return controls > len(head) * _CONTROL_SHARE


def _is_utf16_without_bom(head: bytes) -> bool:
    even = head[: len(head) // 2 * 2]
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = even.decode(encoding)
        except UnicodeDecodeError:
            continue
        if sum(char.isprintable() or char in "\t\r\n" for char in text) > 0.95 * len(text):
            return True
    return False


def _not_a_spreadsheet(path: Path, what: str) -> ConfigError:
    if what.startswith("a web page"):
        fix = (
            "a table an ATS exported so opens in Excel, which saves it as .xlsx or CSV UTF-8; "
            "a sign-in or error page means the export has to be downloaded again"
        )
    elif what.startswith("an Excel 97-2003"):
        fix = "open it in Excel, remove any password and save it as .xlsx or as CSV UTF-8"
    elif what.startswith(("a Word", "a PowerPoint", "an OpenDocument", "a Rich Text")):
        fix = "open it and save or export the candidates' table as .xlsx or CSV"
    elif what.startswith(("a zip", "a gzip", "a 7-Zip", "a RAR", "a damaged zip")):
        fix = "unpack it and import the spreadsheet inside"
    else:
        fix = "choose the spreadsheet of candidates (.csv, .tsv, .txt, .xlsx or .xlsm)"
    return ConfigError(f"{path} is not a spreadsheet: it looks like {what}; {fix}")
