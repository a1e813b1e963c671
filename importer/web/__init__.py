"""The recruiters' web page: ``importer serve`` — upload, match columns, check, import, download.

``WebServer`` is the aiohttp server (``server.py``, its handlers by role in ``page.py``,
``upload_routes.py``, ``check_routes.py`` and ``job_routes.py``); uploads live in a private folder
(``workspace.py``); each check or import runs in a worker process (``worker.py``) that the job
registry (``jobs.py``) starts, follows and stops like Ctrl-C; the page is plain HTML, CSS and
JavaScript in ``static/``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importer.web.server import WebConfig, WebServer, start_server_thread

__all__ = ["WebConfig", "WebServer", "start_server_thread"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: every command builds the `serve` flags from importer.web.cli, and
    # importing the server (aiohttp's web half, openpyxl, numpy) made each command's start-up
    # about a quarter more work (0.8 G instructions on 3.4 G).
    if name in __all__:
        return getattr(importlib.import_module("importer.web.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
