"""A file's sheets, header row and first rows, read in a process of its own, within limits.

A spreadsheet can be built to exhaust memory or time, and a server holds every user's page:
so it never reads an upload itself. ``read_sample`` starts ``python -m importer.read.sample
SPEC``, which caps its own address space and CPU time (``setrlimit``) before it opens the file,
reads it within the workbook limits it is given, and answers one JSON line. The worst file costs
that process, which is killed past a wall-clock limit as well.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from importer.errors import ConfigError
from importer.read.limits import WorkbookLimits
from importer.read.tables import is_workbook, open_table
from importer.read.xlsx import list_sheets

MB = 1024 * 1024
MEMORY_LIMIT = 1536 * MB
"""Address space of a reading process: calamine holds a sheet of up to 10 million cells whole
(about 320 MB) and both readers the shared strings (256 MB of XML by default)."""
CPU_SECONDS = 60
WALL_SECONDS = 90.0
"""Beyond the CPU limit: a reader stuck waiting (a disk, a pipe) is killed all the same."""
SAMPLE_CELL = 1000
"""Characters kept of each sample cell: a page shows a few short examples per column, and the
date order is read from the first characters of a date."""
ANSWER_LIMIT = 64 * MB
"""The most a reader may answer; a header row of 16,384 long names is about 16 MB."""


@dataclass(frozen=True, slots=True)
class Sample:
    """What a mapping step shows of one sheet (of a CSV: the file)."""

    sheets: list[tuple[str, bool]]
    """A workbook's worksheets as (name, visible); empty for a CSV."""
    sheet: str | None
    header_row: int
    """The row the headers are on: as asked, or where they were found."""
    headers: list[str]
    rows: list[list[str]]


class SampleError(Exception):
    """The file cannot be read; ``costly`` when it needed more memory or time than allowed."""

    def __init__(self, message: str, *, costly: bool = False) -> None:
        super().__init__(message)
        self.costly = costly


async def read_sample(
    path: Path, sheet: str | None, limits: WorkbookLimits, rows: int, header_row: int | None = None
) -> Sample:
    """The sheets, header and first ``rows`` rows of ``sheet`` (None: the first visible one),
    the header on ``header_row`` (None: where it is found)."""
    spec = {
        "path": str(path),
        "sheet": sheet,
        "header_row": header_row,
        "limits": asdict(limits),
        "rows": rows,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "importer.read.sample",
        json.dumps(spec),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        answer = await asyncio.wait_for(_read_answer(process.stdout), WALL_SECONDS)
        code = await asyncio.wait_for(process.wait(), WALL_SECONDS)
    except TimeoutError:
        raise SampleError(_too_slow(path), costly=True) from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code == -signal.SIGXCPU:
        raise SampleError(_too_slow(path), costly=True)
    if code != 0 or not answer:
        # a failed allocation in a native reader aborts the process rather than raising
        raise SampleError(_out_of_memory(path), costly=True)
    try:
        found: dict[str, Any] = json.loads(answer)
    except ValueError:
        raise SampleError(f"{path}: its header row and first rows hold too much text") from None
    if "error" in found:
        raise SampleError(found["error"], costly=found.get("costly", False))
    return Sample(
        [(name, visible) for name, visible in found["sheets"]],
        found["sheet"],
        found["header_row"],
        found["headers"],
        found["rows"],
    )


async def _read_answer(stream: asyncio.StreamReader) -> bytes:
    """The reader's whole answer, cut one byte past ``ANSWER_LIMIT`` (then not JSON: refused)."""
    answer = bytearray()
    while len(answer) <= ANSWER_LIMIT and (chunk := await stream.read(1 << 20)):
        answer += chunk
    return bytes(answer[: ANSWER_LIMIT + 1])


def _too_slow(path: Path | str) -> str:
    return (
        f"{path} took more than {CPU_SECONDS} s to open, so reading it was stopped: save it "
        "again from Excel (or as CSV UTF-8) and use that"
    )


def _out_of_memory(path: Path | str) -> str:
    return (
        f"{path} needed more than {MEMORY_LIMIT // MB:,} MB of memory to open, so reading it "
        "was stopped: save it again from Excel (or as CSV UTF-8), or split it"
    )


# -- the reading process ------------------------------------------------------------------------


def read(spec: dict[str, Any]) -> dict[str, Any]:
    """The answer to one spec: the sample, or ``{"error": message}``."""
    path = Path(spec["path"])
    limits = WorkbookLimits(**spec["limits"])
    try:
        sheets = list_sheets(path, limits) if is_workbook(path) else []
        with open_table(
            path, sheet=spec["sheet"], header_row=spec.get("header_row"), limits=limits
        ) as table:
            rows = [
                [cell[:SAMPLE_CELL] for cell in row.values]
                for row in islice(table.rows, spec["rows"])
            ]
            return {
                "sheets": sheets,
                "sheet": table.sheet,
                "header_row": table.header_row,
                "headers": table.headers,
                "rows": rows,
            }
    except ConfigError as error:
        return {"error": str(error)}
    except MemoryError:
        return {"error": _out_of_memory(path), "costly": True}


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0])
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    answer = json.dumps(read(spec), ensure_ascii=False).encode()
    if len(answer) > ANSWER_LIMIT:
        too_much = f"{spec['path']}: its header row and first rows hold too much text to show"
        answer = json.dumps({"error": too_much}).encode()
    sys.stdout.buffer.write(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
