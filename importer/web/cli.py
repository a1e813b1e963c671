"""``importer serve``: the flags, the address to open, and serving until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from importer.loopback import is_loopback
from importer.read.limits import add_limit_arguments, limits_from_args
from importer.send import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from importer.web.server import WebConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default: %(default)s, this computer only)",
    )
    add("--port", type=int, default=8080, help="port; 0 picks a free one (default: %(default)s)")
    add(
        "--max-upload-mb",
        type=float,
        default=50.0,
        metavar="MB",
        help="largest spreadsheet the page accepts (default: %(default)g)",
    )
    add(
        "--max-uploads",
        type=int,
        default=20,
        metavar="N",
        help="uploads kept at once; past it the least recently used one that no check or "
        "import is reading is deleted (default: %(default)s)",
    )
    add(
        "--max-storage-mb",
        type=float,
        default=500.0,
        metavar="MB",
        help="total size of the uploads kept at once, likewise (default: %(default)g)",
    )
    add(
        "--keep-minutes",
        type=float,
        default=60.0,
        metavar="MINUTES",
        help="how long uploads and finished runs are kept after their last use "
        "(default: %(default)g); all are deleted when the server stops",
    )
    add_limit_arguments(parser)
    add(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name (or name:port) besides the address listened on that the page may be "
        "opened at; repeat for several. Requests naming any other host are refused",
    )
    add(
        "--mappings",
        type=Path,
        metavar="DIR",
        help="folder of the mappings the page offers (default: the mappings shipped with "
        "importer; importer mappings lists them)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 after a clean stop, 2 when it cannot start."""
    # imported here so that `importer --help` and the other commands start fast
    from importer.web.server import MB, WebConfig

    if min(args.max_upload_mb, args.keep_minutes, args.max_uploads, args.max_storage_mb) <= 0:
        print(
            "serve: --max-upload-mb, --max-uploads, --max-storage-mb and --keep-minutes must be "
            "positive",
            file=sys.stderr,
        )
        return 2
    if args.max_storage_mb < args.max_upload_mb:
        print("serve: --max-storage-mb must be at least --max-upload-mb", file=sys.stderr)
        return 2
    if args.mappings is not None and not args.mappings.is_dir():
        print(f"serve: --mappings {args.mappings} is not a folder", file=sys.stderr)
        return 2
    config = WebConfig(
        host=args.host,
        port=args.port,
        token=os.environ.get("IMPORTER_WEB_TOKEN") or None,
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_uploads=args.max_uploads,
        max_storage_bytes=int(args.max_storage_mb * MB),
        mappings_dir=args.mappings,
        keep_seconds=args.keep_minutes * 60,
        limits=limits_from_args(args),
        api_key=os.environ.get("STACKONE_API_KEY") or None,
        base_url=os.environ.get("STACKONE_BASE_URL") or DEFAULT_BASE_URL,
        account_id=os.environ.get("STACKONE_ACCOUNT_ID") or None,
        allowed_hosts=tuple(args.allowed_host),
    )
    try:
        asyncio.run(_serve(config))
    except OSError as exc:
        print(f"serve: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    return 0


async def _serve(config: WebConfig) -> None:
    from importer.web.server import WebServer

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with WebServer(config) as server:
        print(f"importer web page: {server.login_url}", file=sys.stderr)
        print(
            "open that address in a browser (the token in it lets you in); Ctrl-C stops the "
            "server and deletes the uploaded files",
            file=sys.stderr,
        )
        if not is_loopback(config.host):
            print(
                f"warning: listening on {config.host}, not only on this computer: anyone who "
                "can reach it and has the token can upload and import; open it at this "
                "address, or name the host others use with --allowed-host",
                file=sys.stderr,
            )
        if config.api_key is None:
            print(
                "StackOne imports are off: set STACKONE_API_KEY before starting to allow them "
                "(the sandbox works without it)",
                file=sys.stderr,
            )
        sys.stderr.flush()
        await stopping.wait()
        print("stopping: finishing runs in progress and deleting uploads", file=sys.stderr)
