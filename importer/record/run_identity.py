"""What makes a run that run: the input's bytes, how they were read, the mapping and the target;
``--resume`` continues only the same run, and a finished one is not repeated by accident."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from importer.read.tables import SourceRow
from importer.record.journal_file import JournalError
from importer.record.ledger import Imported, when


def row_hash(values: Sequence[str]) -> bytes:
    """A 16-byte digest of a row's cells, to tell whether a row has changed."""
    return hashlib.blake2b(orjson.dumps(list(values)), digest_size=16).digest()


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True, slots=True)
class RunIdentity:
    """What makes a resumed run the same run: same bytes, read the same way, same mapping and
    target. ``input``, ``mapping`` and ``state`` are paths kept for messages and the audit."""

    input: str
    input_sha256: str
    reading: str
    mapping: str
    mapping_sha256: str
    target: str
    account_id: str
    state: str | None = None


def refuse_repeat(
    db: sqlite3.Connection, run: tuple[str, ...], identity: RunIdentity, out_dir: Path
) -> None:
    """The same file into the same account again, with nothing to skip what it created."""
    _, input_sha, _, _, target, account_id, started, _, _ = run
    same = (input_sha, target, account_id) == (
        identity.input_sha256,
        identity.target,
        identity.account_id,
    )
    # A --sandbox run starts an empty sandbox, and --state skips what was created before.
    if not same or target == "sandbox" or identity.state is not None:
        return
    (created,) = db.execute("SELECT count(*) FROM rows WHERE status = 'created'").fetchone()
    if created:
        raise JournalError(
            f"{out_dir} holds a finished run of this same file into the same account "
            f"({when(started)}), which created {created} candidates: running it again would "
            "create them again. Add --resume to send only the rows it did not create, or "
            "choose another --out"
        )


def created_unremembered(
    db: sqlite3.Connection, run: tuple[str, ...], identity: RunIdentity
) -> list[tuple[str, Imported]]:
    """The keyed candidates a finished run into the same target and account created, when this
    run's ledger cannot hold them: that run kept no ledger (--no-state) or another one. Told to
    this run's ledger, they are skipped as already imported instead of created again."""
    run_id, _, _, _, target, account_id, started, _, state = run
    if identity.state is None or state == identity.state:
        return []
    # A --sandbox run starts an empty sandbox: nothing created before is in it.
    if (target, account_id) != (identity.target, identity.account_id) or target == "sandbox":
        return []
    (input_name,) = db.execute("SELECT input FROM run").fetchone()
    found = db.execute(
        "SELECT key, id, remote_id, sent_at, row_number, row_hash FROM rows"
        " WHERE status = 'created' AND key IS NOT NULL"
    )
    return [
        (key, Imported(id_, remote_id, sent_at or started, run_id, input_name, number, digest))
        for key, id_, remote_id, sent_at, number, digest in found
    ]


def check_same_run(
    db: sqlite3.Connection,
    run: tuple[str, ...],
    identity: RunIdentity,
    out_dir: Path,
    rows: Iterable[SourceRow],
) -> None:
    _, input_sha, reading, mapping_sha, target, account_id, started, _, state = run
    since = f"since the run in {out_dir} started ({when(started)})"
    keep = (
        "--resume only continues a run with the same file and mapping: put the original back "
        "to finish that run, or start a new one with another --out"
    )
    if state:
        keep += f" (pass --state {state} again so that rows it created are skipped)"
    if input_sha != identity.input_sha256:
        where = _first_difference(db, rows)
        raise JournalError(f"{identity.input} has changed {since}{where}; {keep}")
    if reading != identity.reading:
        raise JournalError(
            f"{identity.input} would be read differently than {since} (then: {reading}; now: "
            f"{identity.reading}); pass the same --sheet, --encoding and --header-row"
        )
    if mapping_sha != identity.mapping_sha256:
        raise JournalError(f"the mapping {identity.mapping} has changed {since}; {keep}")
    if (target, account_id) != (identity.target, identity.account_id):
        raise JournalError(
            f"the run in {out_dir} imports into {target} (account {account_id}), this one into "
            f"{identity.target} (account {identity.account_id}); --resume must use the same "
            "--base-url (or --sandbox) and --account-id"
        )


def _first_difference(db: sqlite3.Connection, rows: Iterable[SourceRow]) -> str:
    recorded = db.execute("SELECT row_number, row_hash FROM rows ORDER BY row_number")
    known = dict(recorded.fetchall())
    for row in rows:
        digest = known.get(row.row_number)
        if digest is not None and digest != row_hash(row.values):
            return f" (row {row.row_number} is not what it was)"
    return " (rows were added, removed or changed after the rows it reached)"
