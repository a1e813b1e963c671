"""The `importer` command line's flags: the parser, its subcommands and their arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from importer import __version__
from importer.read.limits import add_limit_arguments
from importer.read.records import MAX_CELL_MB
from importer.read.sheet_view import HIDDEN_ROWS
from importer.send import DEFAULT_BASE_URL
from importer.send.retry import RetryPolicy


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _rate(text: str) -> float | None:
    if text == "auto":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(
            "must be a positive number of requests per minute or 'auto'"
        )
    return value


def _add_input_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="CSV or XLSX file of candidates")
    p.add_argument(
        "--mapping",
        "-m",
        required=True,
        help="YAML mapping file, or the name of a shipped one (importer mappings lists them); "
        "a file of that name wins",
    )
    p.add_argument(
        "--out", "-o", type=Path, help="folder for the reports (default: out/<input name>)"
    )
    p.add_argument(
        "--sheet",
        help="XLSX sheet to read (default: the mapping's sheet, else the first visible one)",
    )
    p.add_argument("--encoding", help="CSV encoding, when detection guesses wrong (e.g. cp1252)")
    p.add_argument(
        "--header-row",
        type=_positive_int,
        help="spreadsheet row holding the headers (default: the mapping's header_row, else "
        "found in the file below any title lines)",
    )
    p.add_argument(
        "--hidden-rows",
        choices=HIDDEN_ROWS,
        help="rows an XLSX sheet hides (a filter, rows hidden by hand): skip them, or import "
        "them like the others (default: such a sheet is refused until you say which)",
    )
    p.add_argument(
        "--max-cell-mb",
        type=_positive_int,
        default=MAX_CELL_MB,
        metavar="MB",
        help=f"longest CSV cell read, in MiB of characters (default {MAX_CELL_MB}); a longer one "
        "stops the run before anything is sent",
    )
    p.add_argument(
        "--workers",
        type=_count,
        help="processes that map and validate the rows of a long dry run besides the main one "
        "(default: one per core beyond the first; 0: none, everything in this process)",
    )
    p.add_argument(
        "--account-column",
        metavar="COLUMN",
        help="the column naming each row's linked account: rows go to several accounts in one "
        "run (default: the mapping's account: column; --account-id is then not used)",
    )
    add_limit_arguments(p)
    p.add_argument("--json", action="store_true", help="print summary.json on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress, no summary text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="importer",
        description="Import candidates from CSV/XLSX into an ATS through StackOne's Unified API.",
    )
    parser.add_argument("--version", action="version", version=f"importer {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="validate and import a file")
    _add_input_arguments(run)
    _add_target_arguments(run)
    _add_sending_arguments(run)
    _add_rerun_arguments(run)

    validate = commands.add_parser("validate", help="read, map and validate a file; send nothing")
    _add_input_arguments(validate)

    _add_suggest_arguments(
        commands.add_parser(
            "suggest-mapping", help="propose a mapping from a file's headers (commented YAML)"
        )
    )

    ledger = commands.add_parser(
        "ledger", help="the candidates imported before: list, find, forget, export"
    )
    from importer.record import ledger_cli

    ledger_cli.add_arguments(ledger)

    mappings = commands.add_parser(
        "mappings", help="list the shipped mappings that --mapping NAME accepts, one line each"
    )
    mappings.add_argument(
        "name", nargs="?", help="print this shipped mapping's YAML instead (to copy and change)"
    )

    sandbox = commands.add_parser(
        "sandbox", help="run the local StackOne-compatible sandbox server"
    )
    from importer.sandbox import cli as sandbox_cli

    sandbox_cli.add_arguments(sandbox)

    serve = commands.add_parser(
        "serve", help="run the web page for recruiters: upload, check, import, download reports"
    )
    from importer.web import cli as web_cli

    web_cli.add_arguments(serve)
    return parser


def _add_target_arguments(p: argparse.ArgumentParser) -> None:
    """run: where the rows go, with which credentials."""
    p.add_argument("--account-id", help="linked account (default: $STACKONE_ACCOUNT_ID)")
    p.add_argument(
        "--api-key-file", type=Path, help="file holding the API key (default: $STACKONE_API_KEY)"
    )
    p.add_argument("--base-url", default=None, help=f"API base URL (default: {DEFAULT_BASE_URL})")
    p.add_argument("--sandbox", action="store_true", help="import into a built-in local sandbox")
    p.add_argument(
        "--pacer",
        metavar="URL",
        help="share the API key's pacing with every importer process using the same key and "
        "Redis (redis://host:6379/0; default: $IMPORTER_PACER_URL, else this process paces "
        "alone). An unreachable Redis stops the run: it never falls back to pacing alone",
    )


def _add_sending_arguments(p: argparse.ArgumentParser) -> None:
    """run: how fast, how hard and how long a row is tried."""
    p.add_argument(
        "--concurrency",
        "-c",
        type=_positive_int,
        default=10,
        help="requests in flight (default 10)",
    )
    p.add_argument(
        "--rate",
        type=_rate,
        default=1000.0,
        help="requests per minute for this API key (default 1000), or 'auto' to adapt to 429s",
    )
    p.add_argument("--dry-run", action="store_true", help="read, map and validate; send nothing")
    p.add_argument(
        "--heartbeat", action="store_true", help="ask for keep-alive newlines (Prefer: heartbeat)"
    )
    p.add_argument(
        "--resend-unverified",
        action="store_true",
        help="after a 5xx or timeout on a row without e-mail, resend it (may duplicate) "
        "instead of rejecting it as outcome-unknown",
    )
    p.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=RetryPolicy.max_attempts,
        help="attempts per row",
    )
    p.add_argument(
        "--max-wait",
        type=float,
        default=RetryPolicy.max_wait,
        help="seconds a row may wait on retries before it is rejected as retries-exhausted",
    )


def _add_rerun_arguments(p: argparse.ArgumentParser) -> None:
    """run: what an earlier run or a crash left behind."""
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run journaled in --out after a crash, a kill or a stop: rows it "
        "created are reported, not sent again; rows that were in flight are looked up by e-mail "
        "first; the rest are sent. Refused if the input or the mapping changed; starts a new "
        "run when --out holds none",
    )
    ledger_flags = p.add_mutually_exclusive_group()
    ledger_flags.add_argument(
        "--state",
        type=_ledger_place,
        metavar="FILE|URL",
        help="the ledger that remembers every candidate created, across runs (made if "
        "missing; default: ledger.sqlite in your data folder, see `importer ledger`; a "
        "postgresql:// URL shares one between machines): a row whose key (the e-mail, or the "
        "mapping's key:) it holds for the same API and account is skipped as already-imported",
    )
    ledger_flags.add_argument(
        "--no-state",
        action="store_true",
        help="keep no ledger: rows are sent whatever earlier runs created",
    )
    p.add_argument(
        "--reimport",
        action="store_true",
        help="send rows that the ledger says were imported before (e.g. after deleting them "
        "in the ATS), and remember their new ids",
    )


def _ledger_place(value: str) -> str | Path:
    """A ledger file, or a database URL (kept as typed: a path would fold its ``//``)."""
    from importer.record.ledger.where import is_database_url

    return value if is_database_url(value) else Path(value)


def _add_suggest_arguments(p: argparse.ArgumentParser) -> None:
    """suggest-mapping: the file to read and where the YAML goes."""
    p.add_argument("input", type=Path, help="CSV or XLSX file of candidates")
    p.add_argument(
        "--sheet",
        help="XLSX sheet to read (default: the first visible one whose columns give a name)",
    )
    p.add_argument("--encoding", help="CSV encoding, when detection guesses wrong")
    p.add_argument(
        "--header-row",
        type=_positive_int,
        help="spreadsheet row holding the headers (default: found below any title lines)",
    )
    add_limit_arguments(p)
    p.add_argument(
        "--output", "-o", type=Path, help="write the mapping to this file instead of stdout"
    )
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
