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
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import ConfigError

if TYPE_CHECKING:
    from importer.read.sheet_scan import SheetScan

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
        shown = (
            f"directory is {byte_size(size)}, room for far more than the {limit:,} entries allowed"
        )
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
            f"{path} unpacks to {byte_size(total)}, more than the {limits.max_unpacked_mb:,} MB "
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
                f"({byte_size(info.compress_size)} unpacking to "
                f"{byte_size(info.file_size)}), more than the {limits.max_ratio:,} to 1 "
                "allowed; files like this are built to exhaust memory: if this one is genuine, "
                f"raise the limit with {flag('max_ratio')} "
                f"{_round_up(ratio)}"
            )


def read_metadata(path: Path, archive: zipfile.ZipFile, part: str) -> bytes:
    """A small part read whole (workbook.xml, a .rels), refused past ``METADATA_LIMIT``."""
    if archive.getinfo(part).file_size > METADATA_LIMIT:
        raise ConfigError(
            f"{path}: its part {part} unpacks to {byte_size(archive.getinfo(part).file_size)}; "
            f"a workbook's list of sheets is never more than {byte_size(METADATA_LIMIT)}: "
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


def byte_size(size: int) -> str:
    """A size in words for messages: bytes, MB or GB."""
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):,.1f} GB"
    if size >= MB:
        return f"{size / MB:,.1f} MB"
    return f"{size:,} bytes"


def _round_up(value: float) -> int:
    return int(value) + 1
