"""The reports' folder (``--out``): checked before anything is read, sent or written.

Reports overwrite results.csv, rejects.csv and summary.json in the folder they are given, so a
careless ``--out`` could write into ``/`` or a system folder, over a file, or over the rejects
file being imported (whose reports would then replace the previous round's).
"""

from __future__ import annotations

import os
from pathlib import Path

from importer.errors import ConfigError

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
