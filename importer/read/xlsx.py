"""XLSX sheets as numbered rows of text: calamine if a sheet fits in memory, else openpyxl."""

from __future__ import annotations

import posixpath
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import python_calamine

from importer.errors import ConfigError, MissingSheetError
from importer.read import ahead
from importer.read.hyperlinks import CellLinks, sheet_links
from importer.read.limits import (
    DEFAULT_LIMITS,
    METADATA_LIMIT,
    WorkbookLimits,
    check_archive,
    check_range,
    check_shared_strings,
    check_zip_directory,
    read_metadata,
)
from importer.read.number_formats import RawRow, as_shown, shown_styles
from importer.read.sheet_scan import SheetScan, scan_sheet

STREAMING_THRESHOLD = 150 * 1024 * 1024
"""Sheets whose XML (uncompressed) is larger than this many bytes are streamed with openpyxl."""
CALAMINE_CELLS = 10_000_000
"""calamine holds a sheet's whole used range, about 32 bytes a cell: larger ranges stream."""

CellValue = str | int | float | bool | date | datetime | time | timedelta | None

_WORKSHEET = "/worksheet"
_OFFICE_DOCUMENT = "/officeDocument"
_SHARED_STRINGS = "/sharedStrings"
_STYLES = "/styles"
_HYPERLINK = "/hyperlink"
_CALC_CHAIN = "/calcChain"
_ESCAPED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")
# openpyxl warns as it streams a date cell out of Excel's range (and reads it as #VALUE!): a
# warning prints its source line amid the run's output, and says nothing the reports do not.
warnings.filterwarnings("ignore", message=r"Cell \S+ is marked as a date but", category=UserWarning)
# What a damaged or hostile sheet makes openpyxl raise halfway through (ElementTree's
# ParseError is a SyntaxError; a bad reference a ValueError; a cut zip an EOFError...).
_OPENPYXL_FAILURES = (
    SyntaxError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    zlib.error,
)


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
    hidden_rows: frozenset[int] = frozenset()
    """The rows Excel does not show (a filter, rows hidden by hand): both readers read them."""
    merged: tuple[str, ...] = ()
    """Cells merged over several rows ("A2:A4"): both readers read the value in the first."""
    links: CellLinks = field(default_factory=CellLinks)
    """Where the sheet's cells link to: both readers read what the cells show."""
    links_note: str | None = None
    """Why the sheet's links were not read, for the run to say."""


AHEAD_FROM_BYTES = 1024 * 1024
"""Workbooks from this size have their checks started ahead (``check_ahead``): below it the
checks take less time than starting a process."""


def check_ahead(path: Path, sheet: str | None, limits: WorkbookLimits = DEFAULT_LIMITS) -> bool:
    """Start ``open_sheet``'s checks of ``path`` in a child process, for the ``open_sheet`` with
    the same arguments to take up (``importer.read.ahead``); False when not started."""
    try:
        if path.stat().st_size < AHEAD_FROM_BYTES:
            return False
    except OSError:
        return False  # open_sheet says what is wrong with it
    return ahead.start(_ahead_key(path, sheet, limits), path, _checked, path, sheet, limits)


def _ahead_key(path: Path, sheet: str | None, limits: WorkbookLimits) -> tuple[object, ...]:
    return ("open_sheet", path, sheet, limits)


@contextmanager
def open_sheet(
    path: Path,
    sheet: str | None = None,
    *,
    streaming_threshold: int = STREAMING_THRESHOLD,
    limits: WorkbookLimits = DEFAULT_LIMITS,
) -> Iterator[Sheet]:
    """Open one worksheet of ``path``: ``sheet`` by name, or the first visible one.

    Merged cells: the value sits in the top-left cell and every other cell of the merge
    reads as "" (that is how the file stores them, and what both readers return). A workbook
    past ``limits`` is refused (``ConfigError``) before either reader loads any of it.
    """
    checked = ahead.take(_ahead_key(path, sheet, limits), path)
    checked = checked if checked is not None else _checked(path, sheet, limits)
    chosen, scan, links, links_note = checked
    # Error cells carry t="e", which calamine reads as "": openpyxl keeps their text. An odd
    # sheet (references written unusually) is streamed: openpyxl never allocates its range.
    stream = (
        chosen.xml_size > streaming_threshold
        or scan.error_cells
        or not scan.all_referenced
        or scan.cells > CALAMINE_CELLS
    )
    if stream:
        with _openpyxl_rows(path, chosen.name) as rows:
            rows = as_shown(rows, scan.shown_cells)
            yield Sheet(
                chosen.name, "openpyxl", rows, scan.hidden_rows, scan.merged, links, links_note
            )
    else:
        rows = as_shown(_calamine_rows(path, chosen.name), scan.shown_cells)
        yield Sheet(chosen.name, "calamine", rows, scan.hidden_rows, scan.merged, links, links_note)


def _checked(
    path: Path, sheet: str | None, limits: WorkbookLimits
) -> tuple[_SheetInfo, SheetScan, CellLinks, str | None]:
    """The sheet ``open_sheet`` reads and what a pass over its XML found, once the workbook has
    passed every check that can be made before a reader loads it."""
    with _archive(path, limits) as archive:
        check_archive(path, archive, limits)
        workbook_part, sheets = _list_sheets(path, archive)
        chosen = _pick_sheet(path, sheets, sheet)
        check_shared_strings(path, archive, _shared_strings(path, archive, workbook_part), limits)
        where = f'{path}, sheet "{chosen.name}"'
        shown = _shown_styles(path, archive, workbook_part)
        scan = scan_sheet(path, archive, chosen.part, shown)
        check_range(scan, where, limits)
        if scan.uncomputed_formula is not None:
            cell = f"cell {scan.uncomputed_formula}" if scan.uncomputed_formula else "a cell"
            raise ConfigError(
                f"{where}: {cell} holds a formula whose result was never stored (the program "
                "that wrote the file does not calculate formulas), so no reader can tell its "
                "value: open the file in Excel or LibreOffice and save it, which stores every "
                "result"
            )
        if scan.repeated_row is not None:
            raise ConfigError(
                f"{where}: row {scan.repeated_row} is written twice in the file, or after a "
                "later row, which no spreadsheet program does: a reader would keep one of its "
                "versions and lose the other. Open the file in Excel or LibreOffice, check the "
                f"rows around {scan.repeated_row}, and save it again"
            )
        links, note = CellLinks(), None
        if scan.link_tags or scan.formula_links or scan.links_cut:
            targets = _link_targets(path, archive, chosen.part) if scan.link_tags else {}
            links, note = sheet_links(scan, targets)
    return chosen, scan, links, note


def list_sheets(path: Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> list[tuple[str, bool]]:
    """The worksheets of a workbook as (name, visible), in the workbook's order."""
    with _archive(path, limits) as archive:
        check_archive(path, archive, limits)
        return [(info.name, info.visible) for info in _list_sheets(path, archive)[1]]


@contextmanager
def sheet_parts(
    path: Path, limits: WorkbookLimits = DEFAULT_LIMITS
) -> Iterator[tuple[zipfile.ZipFile, str | None, list[tuple[str, bool, str]]]]:
    """The open workbook, the part of its shared strings (None without one), and its worksheets
    as (name, visible, part), in the workbook's order: for a look at sheets no reader loads."""
    with _archive(path, limits) as archive:
        check_archive(path, archive, limits)
        workbook_part, sheets = _list_sheets(path, archive)
        strings = _shared_strings(path, archive, workbook_part)
        if strings not in archive.NameToInfo:
            strings = None
        yield archive, strings, [(info.name, info.visible, info.part) for info in sheets]


@dataclass(frozen=True, slots=True)
class FormulaParts:
    """The parts saying how Excel computes a workbook's formulas."""

    workbook: str
    """workbook.xml, whose calcPr says whether Excel computes every formula on opening."""
    relationships: str
    """The workbook's relationships, which name the calculation chain."""
    calc_chain: str | None
    """Excel's list of formula cells in the order it last computed them; None without one."""


def formula_parts(path: Path, archive: zipfile.ZipFile) -> FormulaParts:
    workbook_part = _workbook_part(path, archive)
    found = _relationships(path, archive, workbook_part).values()
    chain = next((part for kind, part in found if kind == _CALC_CHAIN), None)
    return FormulaParts(
        workbook_part,
        _relationships_part(workbook_part),
        chain if chain in archive.NameToInfo else None,
    )


@contextmanager
def _archive(path: Path, limits: WorkbookLimits) -> Iterator[zipfile.ZipFile]:
    check_zip_directory(path, limits)
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except (zipfile.BadZipFile, zlib.error, KeyError, ElementTree.ParseError, OSError) as exc:
        raise ConfigError(
            f"{path} is not a readable .xlsx workbook ({exc}): if it is password-protected, "
            "remove the password; if it is really a CSV or an old .xls, save it as .xlsx or CSV"
        ) from None


# A tuple: ``int | float`` in an isinstance call builds the union anew for every number cell.
_NUMBERS = (int, float)


def cell_text(value: CellValue) -> str:
    """A cell as the text a person sees typed, never in scientific notation or with ``.0``."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, _NUMBERS):
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
    except (python_calamine.CalamineError, ValueError) as exc:
        raise ConfigError(
            f'{path}: cannot read sheet "{name}" ({str(exc).strip() or type(exc).__name__}): '
            "its XML is damaged or cut short; open the file in Excel and save it again"
        ) from None
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
    # openpyxl leaves the file open when loading fails: it gets a handle closed here instead
    with open(path, "rb") as handle:
        with warnings.catch_warnings():
            # openpyxl warns about every feature it drops (validation, conditional formats...);
            # none of them changes a cell value.
            warnings.simplefilter("ignore")
            try:
                import openpyxl  # only the streaming path needs it, and it is slow to import

                workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            except _OPENPYXL_FAILURES as exc:
                raise ConfigError(
                    f"{path}: cannot read the workbook ({exc}): the file is truncated or "
                    "damaged; open it in Excel and save it again"
                ) from None
        try:
            worksheet = workbook[name]
            # A bogus <dimension> (A1:Z1048576) would otherwise pad every row up to it.
            worksheet.reset_dimensions()
            yield _openpyxl_cells(path, name, worksheet.iter_rows(values_only=True))
        finally:
            workbook.close()


def _openpyxl_cells(path: Path, name: str, rows: Iterator[tuple[Any, ...]]) -> Iterator[RawRow]:
    number = 0
    try:
        for number, values in enumerate(rows, 1):
            if values:
                yield number, [_unescape(v) if isinstance(v, str) else cell_text(v) for v in values]
    except _OPENPYXL_FAILURES as exc:
        raise ConfigError(
            f'{path}: sheet "{name}" cannot be read after row {number} ({exc}): the file is '
            "truncated or damaged; open it in Excel and save it again"
        ) from None


def _shown_styles(path: Path, archive: zipfile.ZipFile, workbook_part: str) -> dict[int, str]:
    """``number_formats.shown_styles`` of the workbook; none when its styles cannot be read,
    which no reader needs either."""
    targets = _relationships(path, archive, workbook_part).values()
    part = next((part for kind, part in targets if kind == _STYLES), "xl/styles.xml")
    if part not in archive.NameToInfo:
        return {}
    try:
        return shown_styles(_parse(path, read_metadata(path, archive, part)))
    except ConfigError:
        return {}


def _unescape(text: str) -> str:
    # Excel writes control characters as _xHHHH_; calamine decodes them, openpyxl does not.
    if "_x" not in text:
        return text
    return _ESCAPED_CHAR.sub(lambda match: chr(int(match[1], 16)), text)


def _list_sheets(path: Path, archive: zipfile.ZipFile) -> tuple[str, list[_SheetInfo]]:
    """The workbook part and its worksheets (chart sheets and dangling entries hold no cells)."""
    workbook_part = _workbook_part(path, archive)
    targets = _relationships(path, archive, workbook_part)
    sheets = []
    workbook = _parse(path, read_metadata(path, archive, workbook_part))
    for element in workbook.iter():
        if _local_name(element.tag) != "sheet":
            continue
        rel_id = next((v for k, v in element.attrib.items() if _local_name(k) == "id"), "")
        kind, part = targets.get(rel_id, ("", ""))
        if kind != _WORKSHEET or part not in archive.NameToInfo:
            continue
        sheets.append(
            _SheetInfo(
                name=element.get("name", ""),
                visible=element.get("state", "visible") == "visible",
                part=part,
                xml_size=archive.getinfo(part).file_size,
            )
        )
    return workbook_part, sheets


def _workbook_part(path: Path, archive: zipfile.ZipFile) -> str:
    package = _relationships(path, archive, "").values()
    return next((part for kind, part in package if kind == _OFFICE_DOCUMENT), "xl/workbook.xml")


def _shared_strings(path: Path, archive: zipfile.ZipFile, workbook_part: str) -> str | None:
    targets = _relationships(path, archive, workbook_part).values()
    part = next((part for kind, part in targets if kind == _SHARED_STRINGS), None)
    return part if part is not None else "xl/sharedStrings.xml"


def _parse(path: Path, xml: bytes) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise ConfigError(
            f"{path} is not a readable .xlsx workbook ({exc}): open it in Excel and save it again"
        ) from None


def _relationships(path: Path, archive: zipfile.ZipFile, source: str) -> dict[str, tuple[str, str]]:
    """Relationship id → (type suffix, target part) for the part ``source`` ("" = package)."""
    folder = posixpath.dirname(source)
    found = {}
    for element in _relationship_elements(path, archive, source):
        target = element.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        kind = "/" + element.get("Type", "").rsplit("/", 1)[-1]
        found[element.get("Id", "")] = (kind, posixpath.normpath(part))
    return found


def _link_targets(path: Path, archive: zipfile.ZipFile, sheet_part: str) -> dict[str, str] | None:
    """Relationship id → address, for the links of a sheet that lead out of the workbook; None
    when the sheet's relationships cannot be read: damaged, or more than is parsed whole
    (``read_metadata``). No reader needs them for the cells, so the sheet is read all the same."""
    rels_part = _relationships_part(sheet_part)
    info = archive.NameToInfo.get(rels_part)
    if info is not None and info.file_size > METADATA_LIMIT:
        return None
    try:
        elements = _relationship_elements(path, archive, sheet_part)
    except ConfigError:
        return None
    return {
        element.get("Id", ""): element.get("Target", "")
        for element in elements
        if element.get("Type", "").endswith(_HYPERLINK) and element.get("TargetMode") == "External"
    }


def _relationship_elements(
    path: Path, archive: zipfile.ZipFile, source: str
) -> list[ElementTree.Element]:
    rels_part = _relationships_part(source)
    if rels_part not in archive.NameToInfo:
        return []
    return list(_parse(path, read_metadata(path, archive, rels_part)))


def _relationships_part(source: str) -> str:
    folder, name = posixpath.split(source)
    return posixpath.join(folder, "_rels", f"{name}.rels")


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
    names = _names(sheets)
    raise MissingSheetError(
        f'{path} has no sheet "{requested}"; its sheets are: {names}', requested, names
    )


def _names(sheets: list[_SheetInfo]) -> str:
    return ", ".join(f'"{info.name}"' + ("" if info.visible else " (hidden)") for info in sheets)
