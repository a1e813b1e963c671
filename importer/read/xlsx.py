"""XLSX sheets as numbered rows of text: calamine if a sheet fits in memory, else openpyxl."""

from __future__ import annotations

import posixpath
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import python_calamine

from importer.errors import ConfigError

STREAMING_THRESHOLD = 150 * 1024 * 1024
"""Sheets whose XML (uncompressed) is larger than this many bytes are streamed with openpyxl."""

RawRow = tuple[int, list[str]]
"""A sheet row number and its cells as text, column A first; rows with no cells may be absent."""

CellValue = str | int | float | bool | date | datetime | time | timedelta | None

_WORKSHEET = "/worksheet"
_OFFICE_DOCUMENT = "/officeDocument"
# Error cells carry t="e"; calamine turns them into "", so a sheet holding any is read by openpyxl.
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")
_ESCAPED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
_SCAN_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _SheetInfo:
    name: str
    visible: bool
    part: str
    xml_size: int


@dataclass(frozen=True, slots=True)
class Sheet:
    """The sheet chosen for reading, the library reading it, and its rows."""

    name: str
    engine: str
    rows: Iterator[RawRow]


@contextmanager
def open_sheet(
    path: Path, sheet: str | None = None, *, streaming_threshold: int = STREAMING_THRESHOLD
) -> Iterator[Sheet]:
    """Open one worksheet of ``path``: ``sheet`` by name, or the first visible one.

    Merged cells: the value sits in the top-left cell and every other cell of the merge
    reads as "" (that is how the file stores them, and what both readers return).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            sheets = _list_sheets(archive)
            chosen = _pick_sheet(path, sheets, sheet)
            stream = chosen.xml_size > streaming_threshold or _has_error_cells(archive, chosen.part)
    except (zipfile.BadZipFile, zlib.error, KeyError, ElementTree.ParseError) as exc:
        raise ConfigError(
            f"{path} is not a readable .xlsx workbook ({exc}): if it is password-protected, "
            "remove the password; if it is really a CSV or an old .xls, save it as .xlsx or CSV"
        ) from None
    if stream:
        with _openpyxl_rows(path, chosen.name) as rows:
            yield Sheet(chosen.name, "openpyxl", rows)
    else:
        yield Sheet(chosen.name, "calamine", _calamine_rows(path, chosen.name))


def cell_text(value: CellValue) -> str:
    """A cell as the text a person sees typed, never in scientific notation or with ``.0``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        # XLSX numbers are doubles: calamine gives floats, openpyxl ints for integral XML text.
        # Going through float makes both readers spell huge integers alike.
        return _number_text(float(value))
    if isinstance(value, datetime):
        value = _round_to_second(value)
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return (
            _round_to_second(datetime.combine(date.min, value)).time().isoformat(timespec="seconds")
        )
    seconds = round(value.total_seconds())
    hours, rest = divmod(abs(seconds), 3600)
    return f"{'-' if seconds < 0 else ''}{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    # repr gives the shortest digits that round-trip; Decimal writes them out positionally.
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _round_to_second(value: datetime) -> datetime:
    # Excel stores times as fractions of a day; readers land a hair either side of the second.
    if value.microsecond >= 500_000:
        value += timedelta(seconds=1)
    return value.replace(microsecond=0)


def _calamine_rows(path: Path, name: str) -> Iterator[RawRow]:
    try:
        with python_calamine.CalamineWorkbook.from_path(path) as workbook:
            data = workbook.get_sheet_by_name(name)
    except python_calamine.CalamineError as exc:
        raise ConfigError(f'{path}: cannot read sheet "{name}": {exc}') from None
    if data.start is None:
        return iter(())
    # iter_rows starts at sheet row 1 but at the first used column: put column A back first.
    return _texts(data.iter_rows(), data.start[1])


def _texts(rows: Iterator[list[Any]], lead: int) -> Iterator[RawRow]:
    padding = [""] * lead
    for number, cells in enumerate(rows, 1):
        try:
            # Most rows hold only text: join checks that in C, far faster than cell_text per cell.
            "".join(cells)
        except TypeError:
            cells = list(map(cell_text, cells))
        yield number, padding + cells if lead else cells


@contextmanager
def _openpyxl_rows(path: Path, name: str) -> Iterator[Iterator[RawRow]]:
    with warnings.catch_warnings():
        # openpyxl warns about every feature it drops (validation, conditional formats...);
        # none of them changes a cell value.
        warnings.simplefilter("ignore")
        try:
            import openpyxl  # only the streaming path needs it, and it is slow to import

            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (KeyError, ValueError, TypeError, OSError) as exc:
            raise ConfigError(f"{path}: cannot read the workbook: {exc}") from None
    try:
        worksheet = workbook[name]
        # A bogus <dimension> (A1:Z1048576) would otherwise pad every row up to it.
        worksheet.reset_dimensions()
        yield _openpyxl_cells(worksheet.iter_rows(values_only=True))
    finally:
        workbook.close()


def _openpyxl_cells(rows: Iterator[tuple[Any, ...]]) -> Iterator[RawRow]:
    for number, values in enumerate(rows, 1):
        if values:
            yield number, [_unescape(v) if isinstance(v, str) else cell_text(v) for v in values]


def _unescape(text: str) -> str:
    # Excel writes control characters as _xHHHH_; calamine decodes them, openpyxl does not.
    if "_x" not in text:
        return text
    return _ESCAPED_CHAR.sub(lambda match: chr(int(match[1], 16)), text)


def _list_sheets(archive: zipfile.ZipFile) -> list[_SheetInfo]:
    workbook_part = next(
        (part for kind, part in _relationships(archive, "").values() if kind == _OFFICE_DOCUMENT),
        "xl/workbook.xml",
    )
    targets = _relationships(archive, workbook_part)
    sheets = []
    for element in ElementTree.fromstring(archive.read(workbook_part)).iter():
        if _local_name(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local_name(k) == "id"), "")
        kind, part = targets.get(rel_id, ("", ""))
        if kind != _WORKSHEET or part not in archive.NameToInfo:
            continue  # chart sheets and dangling entries hold no cells
        sheets.append(
            _SheetInfo(
                name=element.get("name", ""),
                visible=element.get("state", "visible") == "visible",
                part=part,
                xml_size=archive.getinfo(part).file_size,
            )
        )
    return sheets


def _relationships(archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type suffix, target part) for the part ``source`` ("" = package)."""
    folder, name = posixpath.split(source)
    rels_part = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_part not in archive.NameToInfo:
        return {}
    found = {}
    for element in ElementTree.fromstring(archive.read(rels_part)):
        target = element.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        kind = "/" + element.get("Type", "").rsplit("/", 1)[-1]
        found[element.get("Id", "")] = (kind, posixpath.normpath(part))
    return found


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _pick_sheet(path: Path, sheets: list[_SheetInfo], requested: str | None) -> _SheetInfo:
    if not sheets:
        raise ConfigError(f"{path} has no worksheet to read")
    if requested is None:
        return next((info for info in sheets if info.visible), sheets[0])
    # Excel forbids two sheet names that differ only in case, so a case-blind match is unique.
    for info in sheets:
        if info.name == requested:
            return info
    for info in sheets:
        if info.name.casefold() == requested.casefold():
            return info
    raise ConfigError(f'{path} has no sheet "{requested}"; its sheets are: {_names(sheets)}')


def _names(sheets: list[_SheetInfo]) -> str:
    return ", ".join(f'"{info.name}"' + ("" if info.visible else " (hidden)") for info in sheets)


def _has_error_cells(archive: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    with archive.open(part) as xml:
        while chunk := xml.read(_SCAN_CHUNK):
            text = tail + chunk
            # The regex scans ten times slower than a substring search: run it only on chunks
            # that hold what every match does, a quote then e.
            if _may_hold_error_cell(text) and _ERROR_CELL.search(text):
                return True
            tail = chunk[-16:]
    return False


def _may_hold_error_cell(text: bytes) -> bool:
    # Excel quotes attributes with ", so a search for ' alone (memchr) mostly settles the other.
    return b'"e' in text or (b"'" in text and b"'e" in text)
