"""The other sheets of a workbook that hold a table with the columns of the sheet read.

An import reads one sheet, so the candidates of a workbook kept one sheet per office, job or
year were imported from the first sheet only, and the others were left out without a word. A
look at the first rows of each other visible sheet (no reader loads them) finds such tables,
for the run to say so.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from importer.errors import ConfigError
from importer.read.headers import SAMPLE_ROWS, find_header_row, header_label, normalise_header
from importer.read.limits import DEFAULT_LIMITS, MAX_COLUMNS, WorkbookLimits, stream_part
from importer.read.xlsx import sheet_parts

_SHEETS_LOOKED = 20
"""Other sheets looked at, in the workbook's order (suggest-mapping looks as far)."""
_ROWS_LOOKED = 1000
"""Row elements read at most from a sheet, blank ones included, before giving up on it."""
_SHEET_BYTES = 2 * 1024 * 1024
"""Bytes of a sheet's XML parsed at most: its first rows take far fewer, and no sheet the
import does not read (nor check for bombs) gets to build a huge tree in memory."""
_PIECE = 64 * 1024
_STRINGS_BYTES = 16 * 1024 * 1024
"""Bytes of the shared strings parsed at most: a header's names are among the first."""
_REFERENCE = re.compile(r"[A-Z]{1,3}")
# What a damaged part makes a look at it raise: the look is given up, the import goes on.
_UNREADABLE = (
    ConfigError,
    ElementTree.ParseError,
    ValueError,
    KeyError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
)

if TYPE_CHECKING:
    _Parser = ElementTree.XMLPullParser[ElementTree.Element]

Cell = str | int
"""A cell's text, or the index of its text in the shared strings."""


def sheets_like(
    path: Path, read: str, headers: Sequence[str], limits: WorkbookLimits = DEFAULT_LIMITS
) -> list[str]:
    """The visible sheets of ``path`` besides ``read`` whose header row names the columns
    ``headers`` names (in any order), with rows below it; [] when the workbook cannot be
    looked at."""
    wanted = _names(headers)
    if len(wanted) < 2:  # one name says nothing about a table's layout
        return []
    try:
        with sheet_parts(path, limits) as (archive, strings, sheets):
            others = [(name, part) for name, visible, part in sheets if visible and name != read]
            peeked = [
                (name, _first_rows(path, archive, part)) for name, part in others[:_SHEETS_LOOKED]
            ]
            indices = [cell for _, rows in peeked for _, cells in rows for cell in cells]
            needed = max((cell for cell in indices if isinstance(cell, int)), default=-1)
            texts = _shared_strings(path, archive, strings, needed)
    except _UNREADABLE:
        return []
    found = []
    for name, rows in peeked:
        shown = [(number, [_text(cell, texts) for cell in cells]) for number, cells in rows]
        if not shown:
            continue
        header = find_header_row(shown)
        names = next(cells for number, cells in shown if number == header)
        if _names(names) == wanted and any(number > header for number, _ in shown):
            found.append(name)
    return found


def sheets_notice(read: str, sheets: Sequence[str]) -> str:
    """What the summary says of the sheets ``sheets_like`` found."""
    named = " and ".join(f'"{name}"' for name in sheets)
    if len(sheets) == 1:
        return (
            f'the workbook\'s sheet {named} has the columns of sheet "{read}", the one read, and '
            f"its rows were not read: to import them too, run again with --sheet {named}"
        )
    return (
        f'the workbook\'s sheets {named} have the columns of sheet "{read}", the one read, and '
        'their rows were not read: to import them too, run again with --sheet "NAME" for each'
    )


def _names(headers: Sequence[str]) -> frozenset[str]:
    return frozenset(normalise_header(header) for header in headers if header_label(header))


def _first_rows(path: Path, archive: zipfile.ZipFile, part: str) -> list[tuple[int, list[Cell]]]:
    """The first rows with values of a sheet's part, up to ``SAMPLE_ROWS``, as (row, cells)."""
    parser: _Parser = ElementTree.XMLPullParser(events=("start", "end"))
    rows: list[tuple[int, list[Cell]]] = []
    number = seen = cells_in_row = 0
    for piece in _pieces(stream_part(path, archive, part, stop_after=_SHEET_BYTES)):
        parser.feed(piece)
        for event, element in _elements(parser):
            tag = _local(element.tag)
            if event == "start":
                cells_in_row += tag == "c"
                if cells_in_row > MAX_COLUMNS:
                    return rows  # wider than any sheet Excel writes
                continue
            if tag != "row":
                continue
            number = int(element.get("r") or number + 1)
            cells = _cells(element)
            element.clear()
            cells_in_row = 0
            if any(cell != "" for cell in cells):
                rows.append((number, cells))
            seen += 1
            if len(rows) == SAMPLE_ROWS or seen == _ROWS_LOOKED:
                return rows
    return rows


def _cells(row: ElementTree.Element) -> list[Cell]:
    cells: list[Cell] = []
    for cell in row:
        if _local(cell.tag) != "c":
            continue
        found = _REFERENCE.match(cell.get("r", ""))
        position = _column(found[0]) if found else len(cells)
        if position < len(cells):
            continue  # a reference out of order: no program writes one
        cells.extend([""] * (position - len(cells)))
        cells.append(_value(cell))
    return cells


def _value(cell: ElementTree.Element) -> Cell:
    kind = cell.get("t")
    if kind == "inlineStr":
        inline = next((child for child in cell if _local(child.tag) == "is"), None)
        return "" if inline is None else _string(inline)
    value = next((child.text or "" for child in cell if _local(child.tag) == "v"), "")
    return int(value) if kind == "s" and value.isdigit() else value


def _string(item: ElementTree.Element) -> str:
    """A string item's text: its runs, without the phonetic guides of Japanese names."""
    parts = []
    for child in item:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _shared_strings(
    path: Path, archive: zipfile.ZipFile, part: str | None, needed: int
) -> list[str]:
    """The shared strings up to index ``needed``: a sheet's first rows need the first few."""
    texts: list[str] = []
    if part is None or needed < 0:
        return texts
    parser: _Parser = ElementTree.XMLPullParser(events=("end",))
    for piece in _pieces(stream_part(path, archive, part, stop_after=_STRINGS_BYTES)):
        parser.feed(piece)
        for _, element in _elements(parser):
            if _local(element.tag) == "si":
                texts.append(_string(element))
                element.clear()
                if len(texts) > needed:
                    return texts
    return texts


def _text(cell: Cell, texts: Sequence[str]) -> str:
    if isinstance(cell, str):
        return cell
    return texts[cell] if cell < len(texts) else ""


def _column(letters: str) -> int:
    position = 0
    for letter in letters:
        position = position * 26 + ord(letter) - 64
    return position - 1


def _pieces(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` cut in pieces of 64 KB: a piece of tiny cells makes at most some 16,000
    elements before the events are looked at (a chunk of 1 MB, a quarter of a million)."""
    for chunk in chunks:
        for start in range(0, len(chunk), _PIECE):
            yield chunk[start : start + _PIECE]


def _elements(parser: _Parser) -> Iterator[tuple[str, ElementTree.Element]]:
    """The parser's start and end events of elements (the only events asked for)."""
    for found in parser.read_events():
        element = found[-1]
        if isinstance(element, ElementTree.Element):
            yield found[0], element


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
