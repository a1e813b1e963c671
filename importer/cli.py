"""The `importer` command line: parses flags, calls the library, prints, returns the exit code."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING

from importer.arguments import build_parser
from importer.errors import ConfigError, RunFailedError
from importer.read.limits import limits_from_args
from importer.record.outdir import default_out_dir
from importer.send import DEFAULT_BASE_URL
from importer.send.retry import RetryPolicy
from importer.signals import summary_written, terminated_as_interrupted

if TYPE_CHECKING:
    from importer.record.report import ImportSummary
    from importer.run.options import ImportOptions

EXIT_CONFIG = 2
EXIT_STOPPED = 3


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
    with terminated_as_interrupted(restore=not args.whole_process):
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
            summary_written()
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
