"""The server's private folder: uploads under server-made ids, what they hold, and their expiry.

Everything the page uploads or a run writes lives under one ``tempfile.mkdtemp`` folder
(mode 0700), in ``uploads/<id>/`` and ``jobs/<id>/``. Ids are random hex made here; nothing the
client sends becomes part of a path, not even the extension (it is checked against a fixed list).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from importer.read.escape import REJECTS_EXTRA_COLUMNS
from importer.read.tables import CSV_SUFFIXES, XLSX_SUFFIXES
from importer.suggest import Suggestion, suggest_mapping

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
EXAMPLES = 3
"""Example values shown per column on the mapping step."""
_REPORT_COLUMNS = {name.casefold() for name in REJECTS_EXTRA_COLUMNS}


CellEdits = dict[str, dict[str, tuple[str, str]]]
"""Cells corrected on the page: row → column → (the file's text, the corrected text)."""


def put_edit(edits: CellEdits, row: int, column: int, original: str, text: str) -> None:
    """Keep a corrected cell (an edit back to the file's text drops it)."""
    cells = edits.setdefault(str(row), {})
    if text == original:
        cells.pop(str(column), None)
    else:
        cells[str(column)] = (original, text)


def edited_cells(edits: CellEdits) -> int:
    return sum(len(cells) for cells in edits.values())


def new_id() -> str:
    return secrets.token_hex(16)


class UploadError(Exception):
    """An upload the server refuses; ``status`` is the HTTP status, the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def display_name(name: str | None) -> str:
    """The client's file name fit for showing and for messages: base name, no control chars."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return clean[:120] or "upload"


@dataclass(frozen=True, slots=True)
class SheetInfo:
    name: str
    visible: bool


@dataclass(frozen=True, slots=True)
class View:
    """One sheet of an upload (or the CSV) as the mapping step shows it."""

    sheet: str | None
    header_row: int
    headers: list[str]
    examples: list[list[str]]
    """Per column, the first few distinct values of the sample rows."""
    suggestion: Suggestion
    notes: dict[int, str]
    """Why a column the suggestion would send is left out (the error columns of rejects.csv)."""


@dataclass
class Upload:
    id: str
    name: str
    path: Path
    kind: str
    size: int
    sheets: list[SheetInfo]
    touched: float
    candidates_sheet: str | None = None
    """The first visible sheet a suggested mapping can read, when the first one cannot."""
    views: dict[tuple[str | None, int | None], View] = field(default_factory=dict)
    """What the mapping step shows, by sheet and header row (None: the row found)."""
    edits: dict[str, CellEdits] = field(default_factory=dict)
    """The latest cells corrected on the page, by sheet ("" in a CSV), which the next check of
    the sheet starts from. Kept in memory beside the upload, so they go when it goes."""

    def edits_of(self, sheet: str | None) -> CellEdits:
        return self.edits.get(sheet or "", {})

    def edit(self, sheet: str | None, row: int, column: int, original: str, text: str) -> None:
        put_edit(self.edits.setdefault(sheet or "", {}), row, column, original, text)

    @property
    def default_sheet(self) -> str | None:
        """The sheet shown first: the one that holds the candidates, else the first visible."""
        if self.candidates_sheet is not None:
            return self.candidates_sheet
        return next((s.name for s in self.sheets if s.visible), None) if self.sheets else None

    def found_candidates(self, view: View, passed: Sequence[str]) -> View:
        """``view``'s sheet holds the candidates, after ``passed`` sheets that name none: it is
        shown first, and its mapping says which sheets were passed over."""
        self.candidates_sheet = view.sheet
        found = replace(view, suggestion=replace(view.suggestion, passed_sheets=tuple(passed)))
        for key, cached in list(self.views.items()):
            if cached is view:
                self.views[key] = found
        return found

    def public(self, message: str) -> str:
        """A reader's message for the page: the user's file name instead of the server's path,
        and the fix in the page's words (a limit is raised by whoever runs the server)."""
        return page_words(message.replace(str(self.path), f'"{self.name}"'))

    def sheet(self, requested: str | None) -> str | None:
        """The sheet to read: ``requested`` when the workbook has it, else the default."""
        if self.kind != "xlsx":
            return None
        names = [s.name for s in self.sheets]
        return requested if requested in names else self.default_sheet


class Workspace:
    """The private folder and the uploads in it, within quotas: at most ``max_uploads`` files
    and ``max_storage_bytes`` in all, so that a page (or a script with the token) uploading in
    a loop cannot fill the disk."""

    def __init__(
        self,
        max_upload_bytes: int,
        *,
        max_uploads: int = 20,
        max_storage_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_upload_bytes = max_upload_bytes
        self.max_uploads = max_uploads
        self.max_storage_bytes = (
            max_storage_bytes if max_storage_bytes is not None else 10 * max_upload_bytes
        )
        self.root = Path(tempfile.mkdtemp(prefix="importer-web-"))
        self.uploads_dir = self.root / "uploads"
        self.jobs_dir = self.root / "jobs"
        self.uploads_dir.mkdir(mode=0o700)
        self.jobs_dir.mkdir(mode=0o700)
        self.clock = clock
        self.uploads: dict[str, Upload] = {}
        self.on_forget: Callable[[str], None] = lambda upload_id: None
        """Called with each deleted upload's id, so that its runs' files go with it."""

    def get(self, upload_id: str) -> Upload | None:
        upload = self.uploads.get(upload_id) if ID_PATTERN.fullmatch(upload_id) else None
        if upload is not None:
            upload.touched = self.clock()
        return upload

    def job_dir(self, job_id: str) -> Path:
        folder = self.jobs_dir / job_id
        folder.mkdir(mode=0o700)
        return folder

    @property
    def stored_bytes(self) -> int:
        return sum(upload.size for upload in self.uploads.values())

    def _make_room(self, needed: int, in_use: Collection[str]) -> bool:
        """Delete least recently used uploads not ``in_use`` until ``needed`` more bytes and one
        more file fit the quotas; whether they do."""
        for upload in sorted(self.uploads.values(), key=lambda u: u.touched):
            if self._fits(needed):
                return True
            if upload.id not in in_use:
                self.forget(upload)
        return self._fits(needed)

    def _fits(self, needed: int) -> bool:
        return (
            len(self.uploads) < self.max_uploads
            and self.stored_bytes + needed <= self.max_storage_bytes
        )

    async def save(
        self, name: str, chunks: AsyncIterator[bytes], in_use: Collection[str] = ()
    ) -> Upload:
        """Store an uploaded file; ``UploadError`` 413 past the size limit, 507 when the quotas
        leave no room even after deleting the uploads that are not ``in_use``."""
        suffix = Path(name).suffix.lower()
        if suffix == ".xls":
            raise UploadError(
                f'"{name}" is an Excel 97-2003 workbook (.xls), which cannot be read: open it '
                "in Excel and save it as an Excel Workbook (.xlsx) or as CSV UTF-8"
            )
        if suffix not in CSV_SUFFIXES | XLSX_SUFFIXES:
            raise UploadError(
                f'"{name}" is not a spreadsheet this page reads: upload a .csv, .tsv or .txt '
                "file or an .xlsx or .xlsm workbook",
                415,
            )
        if not self._make_room(0, in_use):
            raise UploadError(_full(f"{self.max_uploads} files"), 507)
        upload_id = new_id()
        folder = self.uploads_dir / upload_id
        folder.mkdir(mode=0o700)
        path = folder / f"input{suffix}"
        size = 0
        try:
            with path.open("wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_upload_bytes:
                        raise UploadError(too_large(self.max_upload_bytes), 413)
                    if not self._make_room(size, in_use):
                        quota = format_size(self.max_storage_bytes)
                        raise UploadError(_full(quota), 507)
                    f.write(chunk)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        kind = "xlsx" if suffix in XLSX_SUFFIXES else "csv"
        # its sheets are listed when it is first read (importer.web.reader)
        upload = Upload(upload_id, name, path, kind, size, [], self.clock())
        self.uploads[upload_id] = upload
        return upload

    def forget(self, upload: Upload) -> None:
        self.uploads.pop(upload.id, None)
        shutil.rmtree(upload.path.parent, ignore_errors=True)
        self.on_forget(upload.id)

    def sweep(self, older_than: float, busy: Collection[str]) -> None:
        """Delete the uploads untouched since ``older_than`` that no live job reads."""
        for upload in list(self.uploads.values()):
            if upload.touched < older_than and upload.id not in busy:
                self.forget(upload)

    def close(self) -> None:
        self.uploads.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def too_large(limit: int) -> str:
    return (
        f"the file is larger than {format_size(limit)}, the most this page takes: split it, "
        "or ask whoever runs the server to raise the limit"
    )


# The reader's messages give the command line's fix; the page has its own control for each.
_PAGE_ADVICE = (
    (
        re.compile(r"pass --header-row (\d+) if it holds the column names"),
        r"enter \1 under “Column names on row” if that row holds them",
    ),
    (
        re.compile(r"; if the headers are on a later row, pass --header-row N"),
        "; if the column names are on a later row, enter it under “Column names on row”",
    ),
    (re.compile(r" \(--header-row\)"), " (the row of column names)"),
    (re.compile(r", or pass --encoding \([^)]*\)"), ""),
    (
        re.compile(
            r"pass --encoding with the code page it was saved in, or save it from Excel as "
            r"\"CSV UTF-8\""
        ),
        "save it from Excel as “CSV UTF-8” and upload that file",
    ),
    (
        re.compile(
            r"add it to a copy of the mapping \(importer suggest-mapping writes one from "
            r"the file\)"
        ),
        "choose its field under “Change the columns”",
    ),
    (re.compile(r", or pass --encoding to read the whole file one way"), ""),
    (
        re.compile(
            r"Pass --encoding with the one whose letters are right, or save the file from "
            r"Excel as \"CSV UTF-8\""
        ),
        "Save it from Excel as “CSV UTF-8” and upload that file",
    ),
    (
        re.compile(r'run again with --sheet (?:"NAME" for each|"[^"]*")'),
        "choose it under “Sheet” when matching the columns",
    ),
    (
        re.compile(r"raise the limit with --[a-z-]+ [\d.,]+"),
        "ask whoever runs the server to raise the limit",
    ),
    (re.compile(r" \(date: \{day_first: (?:true|false)\}\)"), ""),
    (
        re.compile(r"set date: \{day_first: (?:true|false)\} in a copy of the mapping"),
        "choose “Suggested from your columns” under “Mapping”, which reads dates in the order "
        "the file's first rows write them",
    ),
)


def page_words(message: str) -> str:
    """A reader's or mapping's message with the fix said as the page offers it, not as a flag."""
    for pattern, words in _PAGE_ADVICE:
        message = pattern.sub(words, message)
    return message


def _full(quota: str) -> str:
    return (
        f"the server already holds {quota} of uploads that checks or imports are using: wait "
        "for one to finish and try again, or ask whoever runs the server to allow more"
    )


def format_size(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:.3g} MB" if mb >= 1 else f"{size / 1024:.3g} KB"


def view_of(
    upload: Upload, sheet: str | None, header_row: int, headers: list[str], rows: list[list[str]]
) -> View:
    """The mapping step for a sheet's header (on ``header_row``) and first rows: the
    suggestion, examples, notes (CPU only, up to a second for thousands of columns: run it in
    a thread)."""
    source = f'{upload.name}, sheet "{sheet}"' if sheet else upload.name
    suggestion = suggest_mapping(headers, rows, source=source, header_row=header_row)
    first = next((info.name for info in upload.sheets if info.visible), None)
    if sheet is not None and sheet != first:
        # the mapping offered for download names the sheet, so the command line reads it too
        suggestion = replace(suggestion, sheet=sheet)
    notes = {}
    for choice in suggestion.columns:
        # A fixed rejects.csv comes back with these: they describe the last run, not the person.
        if choice.header.casefold() in _REPORT_COLUMNS and choice.target is not None:
            suggestion = suggestion.choose(choice.position, None)
            notes[choice.position] = "the importer's own error column from rejects.csv"
    examples: list[list[str]] = [[] for _ in headers]
    for values in rows:
        for position, value in enumerate(values[: len(headers)]):
            text = value.strip()
            if text and len(examples[position]) < EXAMPLES and text not in examples[position]:
                examples[position].append(text)
    return View(sheet, header_row, headers, examples, suggestion, notes)
