"""What reading a workbook may cost, measured before calamine or openpyxl load any of it.

An XLSX is a zip of XML: a few kilobytes can unpack to gigabytes, and two cells at A1 and
XFD1048576 make a used range that calamine allocates whole (17 billion cells, 512 GiB: the
process aborts). So the zip's directory is checked first (declared sizes, compression ratio),
then the chosen sheet and the shared strings are streamed once, without parsing, to measure
the used range from the cells' own references and the true unpacked sizes. Past a limit the
file is refused with a message naming the limit and the flag that raises it.
"""

from __future__ import annotations

import argparse
import copy
import html
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from operator import itemgetter
from pathlib import Path

from importer.errors import ConfigError

MB = 1024 * 1024
MAX_COLUMNS = 16_384
"""Excel's widest sheet (column XFD); a header row wider than this is refused, CSV included."""
MAX_ROWS = 1_048_576
"""Excel's longest sheet: a workbook row beyond it comes from no spreadsheet program."""
METADATA_LIMIT = 32 * MB
"""Largest workbook.xml or .rels part parsed whole: a list of sheets is kilobytes."""
_SMALL_PART = MB
"""Parts unpacking to less than this are never too compressed: their size cannot hurt."""
_CHUNK = MB
_LONGEST_TAG = MB
_ENTRY_ROOM = 1024
"""Bytes of zip directory allowed per entry: a workbook's entries take 50 to 150."""
_SMALLEST_ENTRY = 46
"""A zip directory entry's fixed part: no entry is smaller."""
_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")


@dataclass(frozen=True, slots=True)
class WorkbookLimits:
    """The most a workbook may unpack to; each field is the default of one flag."""

    max_unpacked_mb: int = 1024
    """Declared unpacked size of all the workbook's parts together, in MB."""
    max_ratio: int = 100
    """Unpacked size over packed size of any part larger than 1 MB (real sheets: 5 to 20)."""
    max_cells: int = 50_000_000
    """Rows × columns of the chosen sheet's used range, from its first cell to its last."""
    max_shared_strings_mb: int = 256
    """Unpacked size of the shared-strings table, which both readers hold in memory."""
    max_zip_entries: int = 10_000
    """Entries (parts) in the workbook's zip: many sheets and pictures make hundreds."""


_HELP = {
    "max_unpacked_mb": "largest total unpacked size of an .xlsx workbook, in MB",
    "max_ratio": "highest compression ratio of a workbook part larger than 1 MB",
    "max_cells": "most cells (rows × columns) in the used range of the sheet read",
    "max_shared_strings_mb": "largest unpacked shared-strings table of a workbook, in MB",
    "max_zip_entries": "most entries (parts) in the zip of an .xlsx workbook",
}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per ``WorkbookLimits`` field, defaulting to it."""
    for item in fields(WorkbookLimits):
        default = getattr(DEFAULT_LIMITS, item.name)
        parser.add_argument(
            flag(item.name),
            type=_at_least_one,
            default=default,
            metavar="N",
            help=f"{_HELP[item.name]} (default: {default:,}); see Safety in the README",
        )


DEFAULT_LIMITS = WorkbookLimits()


def limits_from_args(args: argparse.Namespace) -> WorkbookLimits:
    values = {item.name: getattr(args, item.name) for item in fields(WorkbookLimits)}
    return WorkbookLimits(**values)


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class SheetScan:
    """What one pass over a sheet's XML found."""

    rows: int
    """The last row, which readers reach from row 1 (an empty row element counts)."""
    columns: int
    """The last column: rows are read from column A, however far right the data starts."""
    all_referenced: bool
    """Every cell and row carries a plain reference (r="B7"), as every spreadsheet program
    writes: when False, the range was worked out tag by tag."""
    error_cells: bool
    """A cell of type "e" (#N/A, #REF!...), which calamine reads as ""."""
    uncomputed_formula: str | None = None
    """The first cell holding a formula with no stored result ("" when its reference was not
    seen), which every reader reads as empty; None when there is none."""
    hidden_rows: frozenset[int] = frozenset()
    """The rows Excel does not show: filtered out, hidden by hand, or in a collapsed group."""

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def check_zip_directory(path: Path, limits: WorkbookLimits) -> None:
    """Refuse a zip whose directory holds too many entries before anything parses it.

    Every zip reader builds an object per entry of the directory (Python's about 500 bytes):
    54 MB of empty entries cost 4.7 s and 475 MB before a single part is read. The count comes
    from the end-of-directory record; its size is checked as well, because readers parse the
    directory by its size, whatever count the record gives. A file that is not a zip, or
    whose end record cannot be found, is left to the readers to refuse.
    """
    found = _directory_extent(path)
    if found is None:
        return
    entries, size = found
    limit = limits.max_zip_entries
    if entries <= limit and size <= limit * _ENTRY_ROOM:
        return
    if entries >= 0xFFFF:
        # the classic record counts to 65,535 only; the directory's size bounds the rest
        shown = f"holds {entries:,} or more entries, more than the {limit:,} allowed"
        needed = max(entries, _round_up(size / _SMALLEST_ENTRY))
    elif entries > limit:
        shown, needed = f"holds {entries:,} entries, more than the {limit:,} allowed", entries
    else:
        shown = f"directory is {_size(size)}, room for far more than the {limit:,} entries allowed"
        needed = _round_up(size / _ENTRY_ROOM)
    raise ConfigError(
        f"{path}: its zip {shown} (a workbook of many sheets and pictures has hundreds); files "
        "like this are built to exhaust memory: if this one is genuine, raise the limit with "
        f"{flag('max_zip_entries')} {needed}"
    )


def _directory_extent(path: Path) -> tuple[int, int] | None:
    """(entries, directory size in bytes) from a zip's end records, as zipfile finds them."""
    with open(path, "rb") as file:
        if file.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):
            return None
        end = file.seek(0, 2)
        # the end record (22 bytes) follows the directory, then a comment of up to 64 KB
        start = max(0, end - _EOCD.size - 0xFFFF - _EOCD64_LOCATOR.size)
        file.seek(start)
        tail = file.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) - at < _EOCD.size:
            return None
        _, _, _, here, total, size, _, _ = _EOCD.unpack_from(tail, at)
        entries = max(here, total)
        locator = at - _EOCD64_LOCATOR.size
        if locator < 0 or tail[locator : locator + 4] != b"PK\x06\x07":
            return entries, size
        _, _, offset, _ = _EOCD64_LOCATOR.unpack_from(tail, locator)
        file.seek(offset)
        record = file.read(_EOCD64.size)
    if len(record) < _EOCD64.size or record[:4] != b"PK\x06\x06":
        return entries, size
    _, _, _, _, _, _, here64, total64, size64, _ = _EOCD64.unpack(record)
    return max(entries, here64, total64), max(size, size64)


def check_archive(path: Path, archive: zipfile.ZipFile, limits: WorkbookLimits) -> None:
    """Refuse a workbook whose zip directory declares too much, before any part is read."""
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise ConfigError(
            f"{path}: its zip holds {len(infos):,} entries, more than the "
            f"{limits.max_zip_entries:,} allowed: if the workbook is genuine, raise the limit "
            f"with {flag('max_zip_entries')} {len(infos)}"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_mb * MB:
        raise ConfigError(
            f"{path} unpacks to {_size(total)}, more than the {limits.max_unpacked_mb:,} MB "
            f"allowed: if the workbook is genuine, raise the limit with "
            f"{flag('max_unpacked_mb')} {_round_up(total / MB)}"
        )
    for info in infos:
        if info.file_size < _SMALL_PART:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise ConfigError(
                f"{path}: its part {info.filename} is compressed {ratio:,.0f} to 1 "
                f"({_size(info.compress_size)} unpacking to {_size(info.file_size)}), more than "
                f"the {limits.max_ratio:,} to 1 allowed; files like this are built to exhaust "
                f"memory: if this one is genuine, raise the limit with {flag('max_ratio')} "
                f"{_round_up(ratio)}"
            )


def read_metadata(path: Path, archive: zipfile.ZipFile, part: str) -> bytes:
    """A small part read whole (workbook.xml, a .rels), refused past ``METADATA_LIMIT``."""
    if archive.getinfo(part).file_size > METADATA_LIMIT:
        raise ConfigError(
            f"{path}: its part {part} unpacks to {_size(archive.getinfo(part).file_size)}; "
            f"a workbook's list of sheets is never more than {_size(METADATA_LIMIT)}: "
            "this is not a workbook a spreadsheet program wrote"
        )
    return b"".join(stream_part(path, archive, part))


def check_shared_strings(
    path: Path, archive: zipfile.ZipFile, part: str | None, limits: WorkbookLimits
) -> None:
    """Refuse a shared-strings table larger than the limit, by its true unpacked size."""
    if part is None or part not in archive.NameToInfo:
        return
    limit = limits.max_shared_strings_mb * MB
    size = 0
    for chunk in stream_part(path, archive, part, stop_after=limit):
        size += len(chunk)
    if size > limit:
        raise ConfigError(
            f"{path}: its shared strings (the text of its cells) unpack to more than "
            f"{limits.max_shared_strings_mb:,} MB, the most allowed: if the workbook is genuine, "
            f"raise the limit with {flag('max_shared_strings_mb')} "
            f"{_round_up(archive.getinfo(part).file_size / MB)}, or save it as CSV"
        )


def stream_part(
    path: Path, archive: zipfile.ZipFile, part: str, *, stop_after: int | None = None
) -> Iterator[bytes]:
    """A part's bytes in chunks, refusing a part that holds more than its declared size.

    zipfile stops at the declared size; other readers may not, so the part is read as if it
    declared one byte more: getting that byte means the directory lies.
    """
    info = archive.getinfo(part)
    declared = info.file_size
    probe = copy.copy(info)
    probe.file_size = declared + 1
    size = 0
    try:
        with archive.open(probe) as data:
            while chunk := data.read(_CHUNK):
                size += len(chunk)
                if size > declared:
                    raise ConfigError(
                        f"{path}: its part {part} holds more than the {declared:,} bytes its "
                        "zip directory declares: the file is damaged or built to mislead readers"
                    )
                yield chunk
                if stop_after is not None and size > stop_after:
                    return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError) as error:
        # RuntimeError: an encrypted part; NotImplementedError (one) an unknown compression
        raise ConfigError(
            f"{path}: its part {part} cannot be unpacked ({error}): the file is truncated, "
            "damaged or encrypted; open it in Excel and save it again without a password"
        ) from None


def check_line_width(path: Path, number: int, line: str, delimiter: str) -> None:
    """Refuse CSV line ``number`` if it has more cells than a spreadsheet can have, before a CSV
    reader builds them all (a line of 10 million cells is 1.7 GB of cells). Worth calling only
    for a line longer than ``MAX_COLUMNS`` characters."""
    if line.count(delimiter) < MAX_COLUMNS:
        return
    # a delimiter between quotes is text: count those outside, every other piece
    cells = sum(piece.count(delimiter) for piece in line.split('"')[::2]) + 1
    if cells > MAX_COLUMNS:
        raise ConfigError(
            f"{path}: line {number} has {cells:,} cells, more than the {MAX_COLUMNS:,} "
            "a spreadsheet can have: check the delimiter, or save the file again from "
            "Excel as CSV UTF-8"
        )


# -- the used range -----------------------------------------------------------------------------

# What Excel, LibreOffice and openpyxl write: r first, in double quotes, no prefix. The literal
# start lets the regex engine skip ahead at C speed; anything else is counted as odd and sends
# the sheet through the tag-by-tag pass.
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
# Excel writes hidden="1" on a row a filter, a collapsed group or the user hides; some writers
# "true". Only a row's own tag holds it.
_HIDDEN_ROW = re.compile(rb'<row r="([0-9]{1,7})"[^>]*?\shidden="(?:1|true)"')
_CELL_OPENINGS = (b"<c ", b"<c>", b"<c/", b"<c\t", b"<c\n", b"<c\r")
_ROW_OPENINGS = (b"<row ", b"<row>", b"<row/", b"<row\t", b"<row\n", b"<row\r")
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:(?:c|row)[\s/>]")
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")
# r="&#88;FD1" is XFD1 to an XML parser: such references are read tag by tag
_ESCAPED_REFERENCE = re.compile(rb"""\sr\s*=\s*["'][^"']*&""")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(c|row)(?=[\s/>])([^>]*)>")
_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_REF_TEXT = re.compile(r"\$?([A-Za-z]*)\$?([0-9]*)")
# A formula followed by no result, or by an empty one with no type, then the cell's end: what
# programs that do not calculate write (openpyxl: <f>A1*2</f><v /></c>). Excel stores every
# result, an empty text one as t="str" with <v></v>, which this does not match.
_UNCOMPUTED = re.compile(rb"(?:</f>|<f\b[^>]*/>)(?:<v\s*/>)?</c>")
_FORMULA_TAIL = 4096  # bytes of a chunk looked at again with the next: a cell and its formula


def scan_sheet(path: Path, archive: zipfile.ZipFile, part: str) -> SheetScan:
    """Measure the used range of a sheet from its cells' references, streaming its XML once
    (twice when its references are not all written the usual way)."""
    fast = _FastScan()
    for chunk in _whole_tags(path, archive, part):
        fast.feed(chunk)
    if fast.odd:
        slow = _TagScan()
        for chunk in _whole_tags(path, archive, part):
            slow.feed(chunk)
        return SheetScan(
            slow.last_row,
            slow.last_column,
            False,
            fast.error_cells,
            fast.uncomputed_formula,
            frozenset(fast.hidden_rows),
        )
    return SheetScan(
        fast.last_row,
        fast.last_column,
        True,
        fast.error_cells,
        fast.uncomputed_formula,
        frozenset(fast.hidden_rows),
    )


def _whole_tags(path: Path, archive: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part in chunks that end at a tag's start, so no tag is cut in two."""
    tail = b""
    for chunk in stream_part(path, archive, part):
        text = tail + chunk
        cut = text.rfind(b"<")
        if cut < 0:
            cut = len(text)  # text without a tag: nothing to cut
        tail = text[cut:]
        if len(tail) > _LONGEST_TAG:
            raise ConfigError(
                f"{path}: its part {part} has an XML tag longer than {_size(_LONGEST_TAG)}: "
                "this is not a sheet a spreadsheet program wrote"
            )
        if cut:
            yield text[:cut]
    if tail:
        yield tail


class _FastScan:
    def __init__(self) -> None:
        self.last_row = self.last_column = 0
        self.odd = False
        self.error_cells = False
        self.uncomputed_formula: str | None = None
        self.hidden_rows: list[int] = []
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        cells = _CELL_REF.findall(chunk)
        rows = _ROW_REF.findall(chunk)
        if not self.odd:
            self.odd = _is_odd(chunk, len(cells), len(rows))
        if self.uncomputed_formula is None:
            self._find_uncomputed(chunk)
        # Each single byte first: found at memchr's speed, where a pair of bytes costs a slower
        # search through the whole chunk; sheets Excel did not save mostly hold neither.
        if not self.error_cells and b"e" in chunk and (b'"e' in chunk or b"'e" in chunk):
            self.error_cells = _ERROR_CELL.search(chunk) is not None
        if b"hidden=" in chunk:
            self.hidden_rows.extend(map(int, _HIDDEN_ROW.findall(chunk)))
        if cells:
            # a chunk holds a few thousand distinct rows and a few dozen columns: dedupe at C
            # speed, then convert
            letters = set(map(itemgetter(0), cells))
            numbers = set(map(itemgetter(1), cells))
            self.last_column = max(self.last_column, max(map(column_number, letters)))
            self.last_row = max(self.last_row, max(map(int, numbers)))
        if rows:
            # an empty row element still makes openpyxl yield every row up to it
            self.last_row = max(self.last_row, max(map(int, rows)))

    def _find_uncomputed(self, chunk: bytes) -> None:
        """Look for a formula cell without a result: a tag can end a chunk, so the end of the
        last chunk is looked at again with this one."""
        seen = self._tail + chunk
        self._tail = chunk[-_FORMULA_TAIL:]
        # the closing tags first, at C speed: a sheet Excel saved never has them so
        if b"/></c>" not in seen and b"</f></c>" not in seen:
            return
        found = _UNCOMPUTED.search(seen)
        if found is None:
            return
        opened = seen.rfind(b"<c ", 0, found.start())
        reference = _CELL_REF.match(seen, opened) if opened >= 0 else None
        self.uncomputed_formula = "" if reference is None else b"".join(reference.groups()).decode()


def _is_odd(chunk: bytes, cells: int, rows: int) -> bool:
    """A cell or row tag the fast patterns did not read (each check a C-speed search)."""
    # "<c" also starts <col>, <cfRule>...: count the exact openings only when the quick count
    # (all a sheet's data usually holds) does not settle it
    if chunk.count(b"<c") != cells and sum(map(chunk.count, _CELL_OPENINGS)) != cells:
        return True
    if chunk.count(b"<row") != rows and sum(map(chunk.count, _ROW_OPENINGS)) != rows:
        return True
    # the colon alone first, at memchr's speed (see the error cells in _FastScan.feed)
    if b":" in chunk and (b":c" in chunk or b":row" in chunk) and _PREFIXED.search(chunk):
        return True
    return b"&" in chunk and _ESCAPED_REFERENCE.search(chunk) is not None


class _TagScan:
    """Every cell and row tag in order, positions as readers derive them: a cell without a
    reference is the one after the last, a row without one is the one after the last."""

    def __init__(self) -> None:
        self.row = 0
        self.column = 0
        self.last_row = self.last_column = 0

    def feed(self, chunk: bytes) -> None:
        for name, attributes in _TAG.findall(chunk):
            found = _R_ATTRIBUTE.search(attributes)
            text = html.unescape(found[2].decode("utf-8", "replace")) if found else ""
            reference = _REF_TEXT.fullmatch(text.strip())
            letters, digits = reference.groups() if reference else ("", "")
            if name == b"row":
                self.row = _bounded(digits, self.row + 1)
                self.column = 0
                self.last_row = max(self.last_row, self.row)
                continue
            self.column = column_number(letters) if letters else self.column + 1
            row = _bounded(digits, self.row) if digits else max(self.row, 1)
            self.last_row = max(self.last_row, row)
            self.last_column = max(self.last_column, self.column)


def _bounded(digits: str, default: int) -> int:
    # int() of thousands of digits raises; anything past 10 digits is past every limit anyway
    return int(digits[:10]) if digits else default


def column_number(letters: str | bytes) -> int:
    """A = 1, Z = 26, AA = 27, XFD = 16384; letters past seven count as seven (already absurd)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii", "replace")
    number = 0
    for letter in letters.upper()[:7]:
        number = number * 26 + ord(letter) - 64
    return number


def check_range(scan: SheetScan, where: str, limits: WorkbookLimits) -> None:
    if scan.columns > MAX_COLUMNS or scan.rows > MAX_ROWS:
        raise ConfigError(
            f"{where}: its cells span {scan.rows:,} rows and {scan.columns:,} columns, more than "
            f"Excel's {MAX_ROWS:,} rows and {MAX_COLUMNS:,} columns: no spreadsheet program "
            "wrote this sheet"
        )
    if scan.cells > limits.max_cells:
        raise ConfigError(
            f"{where}: its cells span {scan.rows:,} rows × {scan.columns:,} columns = "
            f"{scan.cells:,} cells, more than the {limits.max_cells:,} allowed. A value or a "
            "format far below or right of the data often does this: delete the empty rows and "
            "columns after the data in Excel and save, or raise the limit with "
            f"{flag('max_cells')} {scan.cells}"
        )


def _size(size: int) -> str:
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):,.1f} GB"
    if size >= MB:
        return f"{size / MB:,.1f} MB"
    return f"{size:,} bytes"


def _round_up(value: float) -> int:
    return int(value) + 1
