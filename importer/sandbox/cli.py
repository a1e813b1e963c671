"""``importer sandbox``: the flags, and running the server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys

from importer.sandbox.config import ACCOUNT_FAILURES, SandboxConfig
from importer.sandbox.limits import LIMITERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SandboxConfig()
    _add_server_arguments(parser)
    _add_limit_arguments(parser, defaults)
    _add_provider_arguments(parser, defaults)
    _add_fault_arguments(parser, defaults)


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Where it listens, whom it lets in, what it keeps."""
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    add("--port", type=int, default=8765, help="port; 0 picks a free one (default: %(default)s)")
    add(
        "--api-key",
        default=os.environ.get("SANDBOX_API_KEY"),
        help="accept only this API key (default: $SANDBOX_API_KEY, else any key)",
    )
    add("--db", metavar="PATH", help="keep candidates in this SQLite file (default: in memory)")
    add("--seed", type=int, help="make faults, latencies and ids repeatable")


def _add_limit_arguments(parser: argparse.ArgumentParser, defaults: SandboxConfig) -> None:
    """The per-key rate limit, and how its 429s are answered."""
    add = parser.add_argument
    add(
        "--rate",
        type=float,
        default=defaults.rate_limit_per_minute,
        metavar="N",
        help="requests per minute per API key; 0 turns the limit off (default: %(default)g)",
    )
    add(
        "--burst",
        type=float,
        help="requests the limit lets through back to back (default: one second's worth)",
    )
    add(
        "--limiter",
        choices=list(LIMITERS),
        default=defaults.limiter,
        help="how the rate limit counts, one of the limiters below (default: %(default)s)",
    )
    # One line per limiter, kept as written: argparse would run them together.
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = "limiters:\n" + "\n".join(
        f"  {kind:<8} {limiter.summary}" for kind, limiter in LIMITERS.items()
    )
    add(
        "--retry-after-date",
        action="store_true",
        help="send Retry-After as an HTTP-date (its fraction of a second dropped)",
    )
    add(
        "--retry-after-grace",
        type=float,
        default=defaults.retry_after_grace,
        metavar="SECONDS",
        help="requests this soon after a 429 are not counted as ignoring it (default: %(default)g)",
    )


def _add_provider_arguments(parser: argparse.ArgumentParser, defaults: SandboxConfig) -> None:
    """The provider behind StackOne, with a limit of its own that StackOne answers 408 for."""
    add = parser.add_argument
    add(
        "--provider-rate",
        type=float,
        default=defaults.provider_rate_per_minute,
        metavar="N",
        help="the provider's own limit in creates per minute per account; a create over it is "
        "answered 408 with Retry-After after --provider-delay (default: 0, no limit)",
    )
    add(
        "--provider-delay",
        type=float,
        default=defaults.provider_delay,
        metavar="SECONDS",
        help="how long StackOne retries a throttled provider before answering 408 "
        "(default: %(default)g)",
    )
    add(
        "--provider-account",
        action="append",
        default=[],
        metavar="ID",
        help="apply --provider-rate to this account only (repeatable; default: every account)",
    )


def _add_fault_arguments(parser: argparse.ArgumentParser, defaults: SandboxConfig) -> None:
    """A provider's bad days: latency, injected errors, dropped connections, heartbeats."""
    add = parser.add_argument
    add(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="mean provider latency per request (default: 0)",
    )
    add(
        "--jitter",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="latency spread, e.g. 0.5 for ±50%% (default: 0)",
    )
    add("--p408", type=float, default=0.0, help="probability of a 408 with Retry-After per POST")
    add(
        "--retry-after-408",
        type=int,
        default=defaults.retry_after_408,
        metavar="SECONDS",
        help="Retry-After sent with injected 408s (default: %(default)s)",
    )
    add("--p500", type=float, default=0.0, help="probability of a 500 per POST")
    add("--p502", type=float, default=0.0, help="probability of a 502 per POST")
    add(
        "--p-drop",
        type=float,
        default=0.0,
        help="probability per POST of storing the candidate, then dropping the connection",
    )
    add("--conflict", action="store_true", help="answer 409 for an e-mail that already exists")
    add(
        "--fail-account",
        type=_account_failure,
        action="append",
        default=[],
        metavar="ID=STATUS",
        help="answer 412 or 501 for this x-account-id (repeatable)",
    )
    add(
        "--heartbeat-interval",
        type=float,
        default=defaults.heartbeat_interval,
        metavar="SECONDS",
        help="newline interval for Prefer: heartbeat (default: %(default)g)",
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        api_key=args.api_key or None,
        rate_limit_per_minute=args.rate,
        burst=args.burst,
        limiter=args.limiter,
        retry_after_http_date=args.retry_after_date,
        latency_mean=args.latency,
        latency_jitter=args.jitter,
        p408=args.p408,
        retry_after_408=args.retry_after_408,
        provider_rate_per_minute=args.provider_rate,
        provider_delay=args.provider_delay,
        provider_accounts=frozenset(args.provider_account),
        p500=args.p500,
        p502=args.p502,
        p_drop=args.p_drop,
        conflict_on_duplicate=args.conflict,
        fail_accounts=dict(args.fail_account),
        heartbeat_interval=args.heartbeat_interval,
        retry_after_grace=args.retry_after_grace,
        seed=args.seed,
        db_path=args.db,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 after a clean stop, 2 when it cannot start."""
    try:
        config = config_from_args(args)
    except ValueError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(config, args.host, args.port))
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"sandbox: cannot use the database {args.db}: {exc}", file=sys.stderr)
        return 2
    return 0


def banner(url: str, config: SandboxConfig) -> str:
    key = config.api_key or "any"
    return (
        f"sandbox listening on {url} — import with: STACKONE_API_KEY={key} importer run FILE"
        f" --mapping M --base-url {url} --account-id sandbox"
    )


async def _serve(config: SandboxConfig, host: str, port: int) -> None:
    from importer.sandbox.server import Sandbox  # aiohttp: only for the command that serves

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with Sandbox(config, host=host, port=port) as sandbox:
        print(banner(sandbox.url, config), file=sys.stderr, flush=True)
        await stopping.wait()
        stats = sandbox.stats()
    print(
        f"sandbox stopped: {stats['requests_total']} requests, {stats['candidates']} candidates,"
        f" {stats['duplicate_emails']} duplicate e-mails,"
        f" {stats['retry_after_violations']} Retry-After violations",
        file=sys.stderr,
    )


def _account_failure(text: str) -> tuple[str, int]:
    account, _, status = text.rpartition("=")
    if not account or not status.isdigit() or int(status) not in ACCOUNT_FAILURES:
        raise argparse.ArgumentTypeError(f"expected ID=412 or ID=501, got {text!r}")
    return account, int(status)
