"""The reports' folder (``--out``): checked before anything is read, sent or written.

Reports overwrite results.csv, rejects.csv and summary.json in the folder they are given, so a
careless ``--out`` could write into ``/`` or a system folder, over a file, over the rejects
file being imported (whose reports would then replace the previous round's), or over a file of
the same name that someone else wrote there. So the folder must be new, empty, or hold nothing
but the importer's own files, each recognised by its name and its first bytes: an earlier run's
reports (of any version), and the journal that ``--resume`` continues.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

from importer.errors import ConfigError
from importer.read.escape import is_rejects_file
from importer.record.journal_file import JOURNAL_FILE

# Folders of the operating system (and a home folder's root): never a place for reports.
_SYSTEM = frozenset(
    Path(p)
    for p in (
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/home",
        "/Users",
        "/System",
        "/Library",
        "/Applications",
        "/private",
        "C:\\",
        "C:\\Windows",
        "C:\\Program Files",
        "C:\\Users",
    )
)


_HEAD = 64 * 1024
_SQLITE = b"SQLite format 3\x00"
# What the system or an open spreadsheet leaves in a folder someone looks at: never a report.
_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_LOCK_PREFIXES = ("~$", ".~lock.")


def _first_record(head: bytes) -> list[str]:
    text = head.decode("utf-8-sig", "replace")
    for delimiter in (",", ";"):  # rejects.csv takes the input's comma or semicolon
        record = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
        if is_rejects_file(record):
            return record
    return []


def _is_results(head: bytes) -> bool:
    return head.startswith(b"row_number,status,")


def _is_rows_file(head: bytes) -> bool:
    return bool(_first_record(head))


def _is_workbook(head: bytes) -> bool:
    return head.startswith(b"PK\x03\x04")


def _is_summary(head: bytes) -> bool:
    try:
        summary = json.loads(head)
    except ValueError:
        return False  # not JSON, or longer than any summary of the importer's
    return isinstance(summary, dict) and {"by_status", "exit_code"} <= summary.keys()


def _is_sqlite(head: bytes) -> bool:
    return head.startswith(_SQLITE)


def _any(head: bytes) -> bool:
    return True


_OWN: dict[str, Callable[[bytes], bool]] = {
    "results.csv": _is_results,
    "rejects.csv": _is_rows_file,
    "remaining.csv": _is_rows_file,
    "rejects.xlsx": _is_workbook,
    "summary.json": _is_summary,
    JOURNAL_FILE: _is_sqlite,
    # SQLite's companions of the journal: a killed run leaves them, --resume reads them
    f"{JOURNAL_FILE}-wal": _any,
    f"{JOURNAL_FILE}-shm": _any,
    f"{JOURNAL_FILE}-journal": _any,
}
"""The files the importer writes into a reports' folder → how its own copy starts."""


def foreign_files(folder: Path) -> list[str]:
    """The names in ``folder`` (sorted) that the importer did not write."""
    foreign = []
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        name = entry.name
        if name in _LITTER or name.startswith(_LOCK_PREFIXES):
            continue
        recognise = _OWN.get(name)
        if recognise is None or not entry.is_file(follow_symlinks=False):
            foreign.append(name + ("/" if entry.is_dir() else ""))
            continue
        with open(entry.path, "rb") as file:
            head = file.read(_HEAD if name != "summary.json" else 16 * _HEAD)
        if head and not recognise(head):
            foreign.append(name)
    return foreign


def _check_only_own_files(out_dir: Path, where: Path) -> None:
    try:
        foreign = foreign_files(where)
    except OSError as error:
        raise ConfigError(
            f"cannot read the --out folder {out_dir}: {error.strerror}; give a folder you can "
            "read and write"
        ) from None
    if not foreign:
        return
    shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3:,} more" if len(foreign) > 3 else "")
    raise ConfigError(
        f"--out {out_dir} holds files the importer did not write ({shown}): the reports "
        "(results.csv, rejects.csv, rejects.xlsx, summary.json...) would overwrite or mix with "
        "them; give a new or empty folder, for example --out out/"
        f"{where.name or 'reports'}-2, or move those files out of it"
    )


def check_out_dir(out_dir: Path, input_path: Path) -> None:
    """Refuse an ``--out`` the reports must not go to, and make the folder; ``ConfigError``."""
    where = out_dir.resolve()
    if where in _SYSTEM or where == Path.home().resolve():
        raise ConfigError(
            f"--out {out_dir} is a system or home folder: give a folder of the reports' own, "
            "for example --out out/march (it is made if missing)"
        )
    if where.exists() and not where.is_dir():
        raise ConfigError(
            f"--out {out_dir} is a file, not a folder: give a folder for the reports (it is "
            "made if missing)"
        )
    if where == input_path.resolve().parent:
        raise ConfigError(
            f"--out {out_dir} is the folder of {input_path}: the reports would replace the ones "
            "there (and the file being imported, if it is a rejects.csv); give another --out, "
            "or leave --out out to get a new folder"
        )
    if where.is_dir():
        _check_only_own_files(out_dir, where)
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot make the --out folder {out_dir}: {error.strerror}; give a folder you can "
            "write to"
        ) from None
    if not os.access(where, os.W_OK | os.X_OK):
        raise ConfigError(
            f"cannot write to the --out folder {out_dir}: give a folder you can write to"
        )


def default_out_dir(input_path: Path) -> Path:
    """out/<input name>, or out/<input name>-2, -3... when that is the input's own folder
    (importing out/candidates/rejects.csv twice must not overwrite the first round's reports)."""
    folder = Path("out") / input_path.stem
    number = 2
    while folder.resolve() == input_path.resolve().parent:
        folder = Path("out") / f"{input_path.stem}-{number}"
        number += 1
    return folder
