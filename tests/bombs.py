"""Hostile and broken spreadsheets, made at test time: small on disk, huge or absurd inside.

Each maker writes one file into a folder and returns its path. ``SMALL`` makes every bomb in a
form cheap enough for each test run; ``LARGE`` the sizes the security review used (gigabytes
unpacked), for the ``-m slow`` run. Run as a script to write them all into a folder:

    python -m tests.bombs DIR [large]
"""

from __future__ import annotations

import os
import random
import resource
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Email</t></is></c></row>'
)
_CHUNK = 1 << 20


def package(
    sheet: bytes | Iterator[bytes], *, shared_strings: bytes | Iterator[bytes] | None = None
) -> dict[str, bytes | Iterator[bytes]]:
    """The parts of a one-sheet workbook; a part given as an iterator is streamed when written."""
    overrides = (
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    )
    rels = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared_strings is not None:
        rels += f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    parts: dict[str, bytes | Iterator[bytes]] = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
            'org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            f'ContentType="application/xml"/>{overrides}</Types>'
        ).encode(),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{_REL}">'
            '<sheets><sheet name="Candidates" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">{rels}'
            "</Relationships>"
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def write_workbook(path: Path, parts: dict[str, bytes | Iterator[bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in parts.items():
            if isinstance(data, bytes):
                archive.writestr(name, data)
                continue
            with archive.open(name, "w", force_zip64=True) as target:
                for chunk in data:
                    target.write(chunk)
    return path


def _repeat(head: bytes, unit: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    """head, then ``unit`` repeated to about ``size`` bytes, then tail, in 1 MB writes."""
    yield head
    block = unit * max(1, _CHUNK // len(unit))
    for _ in range(max(1, size // len(block))):
        yield block
    yield tail


def sheet(rows: str) -> bytes:
    return (_SHEET_HEAD + rows + _SHEET_TAIL).encode()


# -- the bombs ----------------------------------------------------------------------------------


def sparse_range(folder: Path, large: bool = False) -> Path:
    """One cell at A1, one at XFD1048576: calamine would allocate the 17-billion-cell range."""
    rows = _HEADER_ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return write_workbook(folder / "sparse-range.xlsx", package(sheet(rows)))


def wide_rows(folder: Path, large: bool = False) -> Path:
    """Every row reaching column XFD: tiny XML, a used range of rows × 16,384."""
    count = 200_000 if large else 20_000
    rows = "".join(f'<row r="{n}"><c r="XFD{n}"><v>1</v></c></row>' for n in range(2, count))
    return write_workbook(folder / "wide-rows.xlsx", package(sheet(_HEADER_ROW + rows)))


def shared_strings(folder: Path, large: bool = False) -> Path:
    """A shared-strings table of 2 GB (large) or 300 MB unpacked, a few MB packed."""
    size = (2048 if large else 300) << 20
    table = _repeat(
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">'.encode(),
        b"<si><t>" + b"x" * 4000 + b"</t></si>",
        size,
        b"</sst>",
    )
    rows = _HEADER_ROW + '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return write_workbook(
        folder / "shared-strings.xlsx", package(sheet(rows), shared_strings=table)
    )


def big_sheet(folder: Path, large: bool = False) -> Path:
    """A sheet of 2 GB (large) or 1.2 GB of XML without <dimension>, the same row repeated."""
    size = (2048 if large else 1200) << 20
    unit = b'<row><c t="inlineStr"><is><t>Ann Lee</t></is></c><c><v>7</v></c></row>'
    data = _repeat(_SHEET_HEAD.encode() + _HEADER_ROW.encode(), unit, size, _SHEET_TAIL.encode())
    return write_workbook(folder / "big-sheet.xlsx", package(data))


def ten_million_columns(folder: Path, large: bool = False) -> Path:
    """A header row of 10 million cells without references (150 MB of XML)."""
    cells = 10_000_000 if large else 1_000_000
    data = _repeat(b"".join([_SHEET_HEAD.encode(), b"<row>"]), b"<c><v>1</v></c>", cells * 15, b"")
    end = iter([b"</row>" + _SHEET_TAIL.encode()])
    return write_workbook(folder / "ten-million-columns.xlsx", package(_chain(data, end)))


def ten_million_columns_csv(folder: Path, large: bool = False) -> Path:
    cells = 10_000_000 if large else 1_000_000
    path = folder / "ten-million-columns.csv"
    path.write_bytes(b"Name," * cells + b"\n" + b"a," * cells + b"\n")
    return path


def hundred_mb_cell(folder: Path, large: bool = False) -> Path:
    """A CSV whose one cell holds 100 MB (large) or 20 MB of text."""
    size = (100 if large else 20) << 20
    path = folder / "hundred-mb-cell.csv"
    with path.open("wb") as f:
        f.write(b"Name,Email,Notes\nAnn Lee,ann@example.com,")
        for _ in range(size // _CHUNK):
            f.write(b"n" * _CHUNK)
        f.write(b"\n")
    return path


def hundred_mb_cell_xlsx(folder: Path, large: bool = False) -> Path:
    size = (100 if large else 20) << 20
    head = (_SHEET_HEAD + _HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>').encode()
    data = _repeat(head, b"n", size, b"</t></is></c></row>" + _SHEET_TAIL.encode())
    return write_workbook(folder / "hundred-mb-cell.xlsx", package(data))


def duplicate_headers(folder: Path, large: bool = False) -> Path:
    """One header name 10,000 times (40 KB), or the same for 30 MB (large)."""
    count = 6_000_000 if large else 10_000
    path = folder / "duplicate-headers.csv"
    path.write_bytes(b",".join([b"Name"] * count) + b"\n" + b",".join([b"a"] * count) + b"\n")
    return path


def truncated_sheet_xml(folder: Path, large: bool = False) -> Path:
    """A well-formed zip whose sheet XML stops in the middle of a cell."""
    return _truncated(folder / "truncated-sheet.xlsx", "")


def truncated_streamed_sheet(folder: Path, large: bool = False) -> Path:
    """The same, with an error cell (#N/A) that sends the sheet to the streaming reader."""
    return _truncated(folder / "truncated-streamed-sheet.xlsx", '<c r="C2" t="e"><v>#N/A</v></c>')


def _truncated(path: Path, extra: str) -> Path:
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Ann {n}</t></is></c>{extra}</row>'
        for n in range(2, 2000)
    )
    xml = sheet(_HEADER_ROW + rows)
    return write_workbook(path, package(xml[: len(xml) * 2 // 3]))


def truncated_zip(folder: Path, large: bool = False) -> Path:
    """A workbook cut short, as a failed download leaves it."""
    whole = sparse_free_workbook(folder / "whole.xlsx")
    path = folder / "truncated-zip.xlsx"
    data = whole.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    whole.unlink()
    return path


def sparse_free_workbook(path: Path) -> Path:
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Ann {n}</t></is></c>'
        f'<c r="B{n}" t="inlineStr"><is><t>ann{n}@example.com</t></is></c></row>'
        for n in range(2, 3000)
    )
    return write_workbook(path, package(sheet(_HEADER_ROW + rows)))


def malformed_xml(folder: Path, large: bool = False) -> Path:
    rows = _HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>Ann</is></t></c></row>'
    return write_workbook(folder / "malformed-xml.xlsx", package(sheet(rows)))


def dtd(folder: Path, large: bool = False) -> Path:
    """Billion laughs in the sheet: entity expansion that XML parsers must refuse."""
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    )
    head = f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
    rows = _HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>&a9;</t></is></c></row>'
    xml = (head + f'<worksheet xmlns="{MAIN}"><sheetData>' + rows + _SHEET_TAIL).encode()
    return write_workbook(folder / "dtd.xlsx", package(xml))


def lying_size(folder: Path, large: bool = False) -> Path:
    """A sheet whose zip directory declares 1 KB but whose data unpacks to 50 MB."""
    path = sparse_free_workbook(folder / "lying-size.xlsx")
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # the uncompressed-size field: offset 22 in a local header, 24 in a central one
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(name)] == name:
                data[start + offset : start + offset + 4] = struct.pack("<I", 1024)
            start += 4
    path.write_bytes(bytes(data))
    return path


def binary_junk(folder: Path, large: bool = False) -> Path:
    path = folder / "binary-junk.xlsx"
    path.write_bytes(random.Random(1).randbytes(64 * 1024))
    return path


def random_bytes_csv(folder: Path, large: bool = False) -> Path:
    path = folder / "random-bytes.csv"
    path.write_bytes(random.Random(2).randbytes(256 * 1024))
    return path


def zip_of_junk(folder: Path, large: bool = False) -> Path:
    """A valid zip holding a workbook's part names with random bytes in them."""
    rng = random.Random(3)
    parts: dict[str, bytes | Iterator[bytes]] = {name: rng.randbytes(2000) for name in package(b"")}
    return write_workbook(folder / "zip-of-junk.xlsx", parts)


def many_entries(folder: Path, large: bool = False) -> Path:
    """A workbook followed by 1,000,000 (large) or 20,000 empty zip entries: 1.3 or 54 MB."""
    path = folder / "many-entries.xlsx"
    return zip_entries(sparse_free_workbook(path), 1_000_000 if large else 20_000)


def zip_entries(path: Path, extra: int, *, declared: int | None = None) -> Path:
    """``path`` with ``extra`` empty entries added to its zip directory, all naming one stored
    part (as a bomb would: the directory, not the data, is what costs); the end record declares
    the true count, or ``declared``."""
    data = path.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, size, offset, _ = struct.unpack_from("<4s4H2LH", data, end)
    empty = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"e"
    entry = struct.Struct("<4s6H3L5H2L")
    added = [
        entry.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, offset)
        + name
        for name in (b"x/%d" % n for n in range(extra))
    ]
    directory = data[offset : offset + size] + b"".join(added)
    total = count + extra if declared is None else declared
    record = struct.pack(
        "<4s4H2LH",
        b"PK\x05\x06",
        0,
        0,
        min(total, 0xFFFF),
        min(total, 0xFFFF),
        len(directory),
        offset + len(empty),
        0,
    )
    path.write_bytes(data[:offset] + empty + directory + record)
    return path


def _chain(*parts: Iterator[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


# -- running the importer on them ---------------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent
_MAPPING = str(_ROOT / "mappings" / "default.yaml")
MEMORY_LIMIT = 2 << 30
"""Address space a validate process gets here: a bomb that gets loaded dies (or raises) well
before it could hurt the machine."""
CPU_SECONDS = 300
"""And CPU time: a bomb that makes it loop forever is killed (SIGXCPU), which fails the test."""


@dataclass(frozen=True, slots=True)
class Finished:
    code: int
    err: str
    peak_rss_mb: float


def validate(path: Path, out: Path, *flags: str) -> Finished:
    """``importer validate`` in a process of its own, memory capped, its peak RSS measured."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))

    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "importer", "validate", str(path), "-m", _MAPPING),
            *("--out", str(out), "--quiet", "--workers", "0", *flags),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=cap,
        cwd=_ROOT,
        env={**os.environ, "PYTHONPATH": str(_ROOT)},
    )
    assert process.stderr is not None
    err = process.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    return Finished(process.returncode, err, usage.ru_maxrss / 1024)


BOMBS: dict[str, Callable[[Path, bool], Path]] = {
    "sparse-range": sparse_range,
    "wide-rows": wide_rows,
    "shared-strings": shared_strings,
    "big-sheet": big_sheet,
    "ten-million-columns": ten_million_columns,
    "ten-million-columns-csv": ten_million_columns_csv,
    "hundred-mb-cell": hundred_mb_cell,
    "hundred-mb-cell-xlsx": hundred_mb_cell_xlsx,
    "duplicate-headers": duplicate_headers,
    "truncated-sheet": truncated_sheet_xml,
    "truncated-streamed-sheet": truncated_streamed_sheet,
    "truncated-zip": truncated_zip,
    "malformed-xml": malformed_xml,
    "dtd": dtd,
    "lying-size": lying_size,
    "binary-junk": binary_junk,
    "random-bytes": random_bytes_csv,
    "zip-of-junk": zip_of_junk,
    "many-entries": many_entries,
}
"""Every bomb by name, in the order the fuzz test feeds them."""


if __name__ == "__main__":
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for make in BOMBS.values():
        made = make(target, "large" in sys.argv[2:])
        print(f"{made}  {made.stat().st_size:,} bytes")
