"""The `importer` command line: parses flags, calls the library, prints, returns the exit code."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from importer import __version__
from importer.errors import ConfigError, Interrupted, RunFailedError
from importer.read.limits import add_limit_arguments, limits_from_args
from importer.read.records import MAX_CELL_MB
from importer.read.sheet_view import HIDDEN_ROWS
from importer.record.outdir import default_out_dir
from importer.send import DEFAULT_BASE_URL
from importer.send.retry import RetryPolicy

if TYPE_CHECKING:
    from importer.record.report import ImportSummary
    from importer.run.options import ImportOptions

EXIT_CONFIG = 2
EXIT_STOPPED = 3


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


def _api_key(args: argparse.Namespace) -> str | None:
    if args.api_key_file is not None:
        try:
            key: str = args.api_key_file.read_text(encoding="utf-8")
            return key.strip()
        except OSError as error:
            raise ConfigError(
                f"cannot read --api-key-file {args.api_key_file}: {error.strerror}"
            ) from None
    return os.environ.get("STACKONE_API_KEY") or None


def _options(args: argparse.Namespace, *, dry_run: bool) -> ImportOptions:
    from importer.run.options import ImportOptions

    out = args.out if args.out is not None else default_out_dir(args.input)
    options = ImportOptions(
        mapping=args.mapping,
        out_dir=out,
        sheet=args.sheet,
        encoding=args.encoding,
        header_row=args.header_row,
        dry_run=dry_run,
        workers=args.workers,
        max_cell_mb=args.max_cell_mb,
        account_column=args.account_column,
        hidden_rows=args.hidden_rows,
        limits=limits_from_args(args),
    )
    if args.command == "run":
        options.account_id = args.account_id or os.environ.get("STACKONE_ACCOUNT_ID") or None
        options.api_key = None if args.sandbox or dry_run else _api_key(args)
        options.base_url = args.base_url or os.environ.get("STACKONE_BASE_URL") or DEFAULT_BASE_URL
        options.concurrency = args.concurrency
        options.rate = args.rate
        options.heartbeat = args.heartbeat
        options.resume = args.resume
        options.state = args.state
        # a ledger named on the command line must work; the default one where it can
        options.ledger = False if args.no_state else (True if args.state else None)
        options.reimport = args.reimport
        options.pacer_url = args.pacer or os.environ.get("IMPORTER_PACER_URL") or None
        options.policy = RetryPolicy(
            max_attempts=args.max_attempts,
            max_wait=args.max_wait,
            resend_unverified=args.resend_unverified,
        )
    return options


def _import(args: argparse.Namespace, *, dry_run: bool) -> int:
    with _terminated_as_interrupted(restore=not args.whole_process):
        try:
            summary = _summary_of_import(args, dry_run=dry_run)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM while the import starts: once rows are under way, the run's
            # own handler stops it and writes the reports, and one that has sent says how to
            # finish it.
            nothing = "no row was checked" if dry_run else "nothing was sent"
            raise RunFailedError(
                f"interrupted before the import was under way: {nothing}"
            ) from None
        return _printed(args, summary)


def _printed(args: argparse.Namespace, summary: ImportSummary) -> int:
    """Print the summary (and how to finish a stopped import); its exit code."""
    if not args.quiet:
        from importer.record.report import render_summary

        print(render_summary(summary), file=sys.stderr)
        if summary.stopped_early and not summary.dry_run:
            print(f"to finish this import: {resume_command(args.argv)}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    return summary.exit_code


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _terminated_as_interrupted(*, restore: bool) -> Iterator[None]:
    """Ctrl-C and SIGTERM raise ``Interrupted`` wherever the run has not taken them over: a
    start-up stopped by either says that nothing was sent, instead of ending silently (SIGTERM:
    143) or with a traceback.

    ``restore``: the handlers are put back on the way out. A process about to exit keeps
    ``_summary_written``'s: its finalisation (0.1 s after 20,000 rows) is no place for them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupted) for sig in _SIGNALS}
    try:
        yield
    finally:
        if restore:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _interrupted(*_: object) -> None:
    raise Interrupted


def _summary_written() -> None:
    """summary.json and the exit code are decided: a stop from now on would contradict them
    (Ctrl-C there ended with 130), and the summary is printed whole."""
    if threading.current_thread() is threading.main_thread():
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _summary_of_import(args: argparse.Namespace, *, dry_run: bool) -> ImportSummary:
    _check_workbook_ahead(args)
    # Imported here: the pipeline's modules (pydantic, phonenumbers...) would slow every other
    # command's start, `importer sandbox` and `importer serve` included.
    from importer.run.pipeline import run_import
    from importer.run.progress import ProgressBar, ProgressLog

    if not dry_run:
        # A run that sends loads its HTTP client (aiohttp, a sixth of a second) with the other
        # modules, before the import starts: summary.json's duration and rows/s are the import's.
        import importer.run.dispatch  # noqa: F401

    options = _options(args, dry_run=dry_run)
    show = None
    if not args.quiet:
        show = ProgressBar() if sys.stderr.isatty() else ProgressLog()
        options.on_progress = show
        options.progress_interval = 0.2 if sys.stderr.isatty() else 10.0
    try:
        with ExitStack() as stack:
            if getattr(args, "sandbox", False) and not dry_run:
                _into_sandbox(options, stack)
            summary = run_import(args.input, options)
            _summary_written()
            return summary
    finally:
        if show is not None:
            show.close()


def _check_workbook_ahead(args: argparse.Namespace) -> None:
    """A large workbook's checks (a pass over its sheet) start in a child process now, on a core
    that would wait for the pipeline's modules to load; ``--workers 0`` keeps the whole import in
    this process."""
    from importer.read.tables import is_workbook
    from importer.run.cores import default_workers

    workers = default_workers() if args.workers is None else args.workers
    if workers > 0 and is_workbook(args.input):
        from importer.read.xlsx import check_ahead

        check_ahead(args.input, args.sheet, limits_from_args(args))


def _into_sandbox(options: ImportOptions, stack: ExitStack) -> None:
    """--sandbox: a new empty sandbox on a free port of 127.0.0.1, for the length of the run."""
    from importer.sandbox import (
        SANDBOX_ACCOUNT_ID,
        SANDBOX_API_KEY,
        SandboxConfig,
        start_sandbox_thread,
    )

    sandbox = stack.enter_context(start_sandbox_thread(SandboxConfig()))
    options.base_url = sandbox.url
    options.api_key = SANDBOX_API_KEY
    options.account_id = options.account_id or SANDBOX_ACCOUNT_ID
    # its port changes every run: the journal and the reports name it by what it is
    options.target = "sandbox"
    # It starts empty every time, so what the user's ledger remembers is not in it; a ledger
    # named with --state is kept, under the target "sandbox", for trying it out.
    if options.state is None:
        options.ledger = False


def _suggest(args: argparse.Namespace) -> int:
    from importer.suggest import suggest_for_file

    suggestion = suggest_for_file(
        args.input,
        sheet=args.sheet,
        encoding=args.encoding,
        header_row=args.header_row,
        limits=limits_from_args(args),
    )
    if args.output is None:
        sys.stdout.write(suggestion.to_yaml())
        return 0
    if args.output.exists() and not args.force:
        raise ConfigError(f"{args.output} exists: name another file, or pass --force to replace it")
    try:
        args.output.write_text(suggestion.to_yaml(), encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"wrote {args.output}: {suggestion.describe()}", file=sys.stderr)
    return 0


def _list_mappings(args: argparse.Namespace) -> int:
    from importer.mapping.shipped import shipped_mappings, unknown_mapping

    shipped = shipped_mappings()
    if args.name is not None:
        if args.name not in shipped:
            raise unknown_mapping(args.name, shipped)
        sys.stdout.write(shipped[args.name].text())
        return 0
    width = max((len(name) for name in shipped), default=0)
    for name, mapping in shipped.items():
        print(f"{name:<{width}}  {mapping.description}".rstrip())
    return 0


def resume_command(argv: Sequence[str]) -> str:
    """The command line that continues a stopped import, quoted for a POSIX shell."""
    words = ["importer", *argv]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(words)


def main(argv: Sequence[str] | None = None) -> int:
    # Without argv, the process's own command line (the console script, python -m importer):
    # the process ends when this returns.
    whole_process = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    args.whole_process = whole_process
    try:
        if args.command == "run":
            return _import(args, dry_run=args.dry_run)
        if args.command == "validate":
            return _import(args, dry_run=True)
        if args.command == "suggest-mapping":
            return _suggest(args)
        if args.command == "mappings":
            return _list_mappings(args)
        if args.command == "serve":
            from importer.web import cli as web_cli

            return web_cli.run(args)
        if args.command == "ledger":
            from importer.record import ledger_cli

            return ledger_cli.run(args)
        from importer.sandbox import cli as sandbox_cli

        return sandbox_cli.run(args)
    except ConfigError as error:
        print(f"importer: error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except RunFailedError as error:
        print(f"importer: stopped: {error}", file=sys.stderr)
        return EXIT_STOPPED
