"""``importer ledger``: what the ledger remembers, looked up, forgotten, exported."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path
from typing import TextIO

from importer.errors import ConfigError
from importer.record.ledger import (
    Entry,
    LedgerFile,
    default_ledger_path,
    is_database_url,
    location,
    when,
)
from importer.send import DEFAULT_BASE_URL

EXPORT_COLUMNS = [
    "target",
    "account_id",
    "key_sha256",
    "state",
    "id",
    "remote_id",
    "at",
    "run_id",
    "input",
    "row_number",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        metavar="FILE|URL",
        help="the ledger to read: a file (default: ledger.sqlite in your data folder) or a "
        "postgresql:// URL",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="the latest imports that created candidates")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    find = actions.add_parser("find", help="look a key (an e-mail, or the mapping's key) up")
    find.add_argument("key")
    forget = actions.add_parser(
        "forget", help="forget a key, or one import's keys, so that they can be imported again"
    )
    what = forget.add_mutually_exclusive_group(required=True)
    what.add_argument("key", nargs="?", help="the key to forget")
    what.add_argument("--run", metavar="RUN_ID", help="forget every key this import created")
    forget.add_argument(
        "--account-id", help="the account it was imported into (default: $STACKONE_ACCOUNT_ID)"
    )
    forget.add_argument("--base-url", help="the API it was imported into (default: any)")
    export = actions.add_parser("export", help="every entry as CSV")
    export.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    """0 done; 1 ``find`` found nothing; ``ConfigError`` (exit 2) for what cannot be done."""
    where: str | Path = args.state or default_ledger_path()
    if not is_database_url(where) and not Path(where).exists():
        raise ConfigError(
            f"there is no ledger at {location(where)}: nothing has been imported with it yet"
            + ("" if args.state else " (pass --state FILE for another ledger)")
        )
    with LedgerFile(where) as ledger:
        if args.action == "list":
            return _list(ledger, args.limit)
        if args.action == "find":
            return _find(ledger, args.key)
        if args.action == "forget":
            return _forget(ledger, args)
        return _export(ledger, args.output)


def _list(ledger: LedgerFile, limit: int) -> int:
    imports = ledger.recent(limit)
    if not imports:
        print(f"{ledger.location} holds no import yet")
        return 0
    print(f"{'last created':<20} {'created':>7}  {'account':<20} {'target':<28} file · run id")
    for run in imports:
        print(
            f"{when(run.last):<20} {run.created:>7}  {run.account_id[:20]:<20} "
            f"{run.target[:28]:<28} {run.input} · {run.run_id}"
        )
    return 0


def _describe(entry: Entry) -> str:
    what = {"created": "created", "claimed": "being sent now", "doubt": "sent, no answer"}
    imported = entry.imported
    ids = imported.id or "-"
    if imported.remote_id:
        ids += f" (remote {imported.remote_id})"
    return (
        f"{entry.target} · account {entry.account_id}: {what.get(entry.state, entry.state)} "
        f"{when(imported.created_at)} as {ids}, row {imported.row_number} of {imported.input} "
        f"(run {imported.run_id})"
    )


def _find(ledger: LedgerFile, key: str) -> int:
    entries = ledger.find(key)
    if not entries:
        print(f"{key} is not in {ledger.location}: an import would send it")
        return 1
    for entry in entries:
        print(_describe(entry))
    return 0


def _forget(ledger: LedgerFile, args: argparse.Namespace) -> int:
    if args.run is not None:
        forgotten = ledger.forget_run(args.run)
        if not forgotten:
            raise ConfigError(f"no import with run id {args.run} in {ledger.location}: see `list`")
        print(
            f"forgot the {forgotten} candidates of run {args.run}: importing them again sends them"
        )
        return 0
    account = args.account_id or os.environ.get("STACKONE_ACCOUNT_ID")
    entries = [e for e in ledger.find(args.key) if account is None or e.account_id == account]
    if args.base_url is not None:
        target = args.base_url.rstrip("/")
        entries = [e for e in entries if e.target == target]
    if not entries:
        raise ConfigError(
            f"{args.key} is not in {ledger.location}"
            + (f" for account {account}" if account else "")
            + ": nothing to forget"
        )
    if len(entries) > 1:
        where = "; ".join(f"{e.target} account {e.account_id}" for e in entries)
        raise ConfigError(
            f"{args.key} is in the ledger for several accounts ({where}): pass --account-id "
            f"(and --base-url, e.g. {DEFAULT_BASE_URL}) to say which"
        )
    ledger.forget(entries)
    print(f"forgot {args.key}: {_describe(entries[0])}; importing it again sends it")
    return 0


def _export(ledger: LedgerFile, output: Path | None) -> int:
    if output is None:
        _write_csv(ledger, sys.stdout)
        return 0
    try:
        with output.open("w", newline="", encoding="utf-8") as f:
            _write_csv(ledger, f)
    except OSError as error:
        raise ConfigError(f"cannot write {output}: {error.strerror}") from None
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _write_csv(ledger: LedgerFile, stream: TextIO) -> None:
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    for entry in ledger.entries():
        imported = entry.imported
        writer.writerow(
            [
                entry.target,
                entry.account_id,
                entry.key_sha256,
                entry.state,
                imported.id or "",
                imported.remote_id or "",
                imported.created_at,
                imported.run_id,
                imported.input,
                imported.row_number,
            ]
        )
