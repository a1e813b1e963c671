"""One streaming pass over a sheet's XML, before any reader loads it: the used range from the
cells' own references (the bomb guard ``limits.check_range`` judges it), and what the readers
read alike but the user may not expect: error cells, formulas without results, hidden rows,
cells merged over several rows.
"""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from pathlib import Path

from importer.errors import ConfigError
from importer.read.limits import MB, byte_size, stream_part
from importer.read.number_formats import ShownCells


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
    merged: tuple[str, ...] = ()
    """Merged cells over several rows ("A2:A4"): Excel shows the first row's value in each."""
    shown_cells: ShownCells = field(default_factory=ShownCells)
    """The number cells whose style shows them as something else than the number stored,
    which is what both readers read (Excel shows 50% and stores 0.5, shows 02134 and stores
    2134), and what it shows them as (``number_formats.shown_styles``)."""
    link_tags: tuple[tuple[str, str], ...] = ()
    """The sheet's links (``<hyperlink>``) as (cells, relationship id), which readers skip:
    the address is in the sheet's relationships (``hyperlinks.sheet_links``)."""
    formula_links: tuple[tuple[int, int, str], ...] = ()
    """(row, 0-based column, address) of the cells whose formula is ``HYPERLINK("address",
    ...)``: readers read the name shown."""
    links_cut: bool = False
    """The sheet has more than ``MAX_LINKS`` of either: the rest were not kept."""
    repeated_row: int | None = None
    """The first row whose element comes again, or after a later row's: every program writes
    each row once, in order, and readers keep one of a repeated row's two."""

    @property
    def cells(self) -> int:
        return self.rows * self.columns


# What Excel, LibreOffice and openpyxl write: r first, in double quotes, no prefix. The literal
# start lets the regex engine skip ahead at C speed; anything else is counted as odd and sends
# the sheet through the tag-by-tag pass.
# A sheet's XML is read in chunks cut at a tag's start: a tag longer than this is no sheet's.
_LONGEST_TAG = MB
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
# Excel writes hidden="1" on a row a filter, a collapsed group or the user hides; some writers
# "true". Only a row's own tag holds it.
_HIDDEN_ROW = re.compile(rb'<row r="([0-9]{1,7})"[^>]*?\shidden="(?:1|true)"')
_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# A number cell with a style, as Excel writes it (r, then s, then no type or t="n"): a cell of
# text, a boolean or an error has its t after the s.
_STYLED_NUMBER = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})" s="([0-9]+)"(?: t="n")?>')
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]{1,3}[0-9]{1,7}):([A-Z]{1,3}[0-9]{1,7})"')
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
MAX_LINKS = 200_000
"""Links of a sheet kept for reading (``hyperlinks``): hundreds of bytes each until the sheet
is read, and a sheet holding more has its own relationships past what is parsed whole."""
# A link element, not the <hyperlinks> around them; its relationship id under whatever prefix
# the writer bound to the relationships namespace.
_LINK_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?hyperlink\s([^>]*)>")
_LINK_REF = re.compile(rb"""(?:^|\s)ref\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_LINK_ID = re.compile(rb"""(?:^|\s)[A-Za-z_][\w.-]*:id\s*=\s*(["'])(.*?)\1""", re.DOTALL)
# A cell whose formula is HYPERLINK with its address written out; an address computed from
# other cells cannot be told without calculating, and is left to the name shown. Excel writes
# the quotes as they are, other writers as &quot;.
_LINK_FORMULA = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*>\s*<f>\s*(?:_xlfn\.)?HYPERLINK\(\s*'
    rb'(?:"|&quot;)(.{0,4096}?)(?:"|&quot;)\s*[,)]',
    re.IGNORECASE,
)


def scan_sheet(
    path: Path, archive: zipfile.ZipFile, part: str, shown_styles: Mapping[int, str] | None = None
) -> SheetScan:
    """Measure the used range of a sheet from its cells' references, streaming its XML once
    (twice when its references are not all written the usual way), and find its number cells
    of ``shown_styles``."""
    fast = _FastScan(shown_styles)
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
            tuple(fast.merged),
            fast.shown_cells.done(),
            tuple(fast.link_tags),
            tuple(fast.formula_links),
            fast.links_cut,
            fast.repeated_row,
        )
    return SheetScan(
        fast.last_row,
        fast.last_column,
        True,
        fast.error_cells,
        fast.uncomputed_formula,
        frozenset(fast.hidden_rows),
        tuple(fast.merged),
        fast.shown_cells.done(),
        tuple(fast.link_tags),
        tuple(fast.formula_links),
        fast.links_cut,
        fast.repeated_row,
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
                f"{path}: its part {part} has an XML tag longer than {byte_size(_LONGEST_TAG)}: "
                "this is not a sheet a spreadsheet program wrote"
            )
        if cut:
            yield text[:cut]
    if tail:
        yield tail


class _FastScan:
    def __init__(self, shown_styles: Mapping[int, str] | None = None) -> None:
        self.last_row = self.last_column = 0
        self.odd = False
        self.error_cells = False
        self.uncomputed_formula: str | None = None
        self.hidden_rows: list[int] = []
        self.merged: list[str] = []
        styles = shown_styles or {}
        self.shown_styles = {str(style).encode(): shown for style, shown in styles.items()}
        self.shown_cells = ShownCells()
        self.link_tags: list[tuple[str, str]] = []
        self.formula_links: list[tuple[int, int, str]] = []
        # the previous chunk's end: a cell's tag and its formula may fall either side of a cut
        self._tail = b""
        self.links_cut = False
        self.repeated_row: int | None = None
        self._row = 0  # the last row element's number

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
        if self.shown_styles:
            for letters, digits, style in _STYLED_NUMBER.findall(chunk):
                shown = self.shown_styles.get(style)
                if shown is not None:
                    self.shown_cells.add(int(digits), column_number(letters) - 1, shown)
        if not self.links_cut and b"hyperlink" in chunk:
            self._find_links(chunk)
        elif not self.links_cut and (b"HYPERLINK(" in chunk or b"hyperlink(" in chunk):
            self._find_link_formulas(chunk)
        self._tail = chunk[-_FORMULA_TAIL:]
        if b"<mergeCell " in chunk:
            for first, last in _MERGE.findall(chunk):
                if first.lstrip(_LETTERS) != last.lstrip(_LETTERS):  # over more than one row
                    self.merged.append(f"{first.decode()}:{last.decode()}")
        if cells:
            # a chunk holds a few thousand distinct rows and a few dozen columns: dedupe at C
            # speed, then convert
            letters = set(map(itemgetter(0), cells))
            numbers = set(map(itemgetter(1), cells))
            self.last_column = max(self.last_column, max(map(column_number, letters)))
            self.last_row = max(self.last_row, max(map(int, numbers)))
        if rows:
            row_numbers = list(map(int, rows))
            # in order and each once, checked at C speed: sorting what is sorted is one pass
            if self.repeated_row is None and (
                row_numbers[0] <= self._row or row_numbers != sorted(set(row_numbers))
            ):
                self.repeated_row = _first_out_of_order([self._row, *row_numbers])
            self._row = row_numbers[-1]
            # an empty row element still makes openpyxl yield every row up to it
            self.last_row = max(self.last_row, max(row_numbers))

    def _find_links(self, chunk: bytes) -> None:
        for attributes in _LINK_TAG.findall(chunk):
            ref, rel_id = _LINK_REF.search(attributes), _LINK_ID.search(attributes)
            if ref is not None and rel_id is not None:
                self.link_tags.append((_attribute(ref[2]), _attribute(rel_id[2])))
        self._find_link_formulas(chunk)

    def _find_link_formulas(self, chunk: bytes) -> None:
        """The HYPERLINK formulas of the chunk: a cell's tag may end the chunk before, whose
        end is looked at again with this one (a cell found twice links alike both times)."""
        seen = self._tail + chunk
        for letters, digits, address in _LINK_FORMULA.findall(seen):
            text = _attribute(address).replace('""', '"').strip()
            if text:
                self.formula_links.append((int(digits), column_number(letters) - 1, text))
        self._cut_links()

    def _cut_links(self) -> None:
        if len(self.link_tags) + len(self.formula_links) > MAX_LINKS:
            self.link_tags, self.formula_links, self.links_cut = [], [], True

    def _find_uncomputed(self, chunk: bytes) -> None:
        """Look for a formula cell without a result: a tag can end a chunk, so the end of the
        last chunk is looked at again with this one."""
        seen = self._tail + chunk
        # the closing tags first, at C speed: a sheet Excel saved never has them so
        if b"/></c>" not in seen and b"</f></c>" not in seen:
            return
        found = _UNCOMPUTED.search(seen)
        if found is None:
            return
        opened = seen.rfind(b"<c ", 0, found.start())
        reference = _CELL_REF.match(seen, opened) if opened >= 0 else None
        self.uncomputed_formula = "" if reference is None else b"".join(reference.groups()).decode()


def _first_out_of_order(numbers: list[int]) -> int:
    return next(later for earlier, later in pairwise(numbers) if later <= earlier)


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


def _attribute(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


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
