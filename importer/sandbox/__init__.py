"""A local StackOne-compatible server for the candidates endpoints, bad days included."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from importer.sandbox.config import SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY, SandboxConfig

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox, start_sandbox_thread

__all__ = [
    "SANDBOX_ACCOUNT_ID",
    "SANDBOX_API_KEY",
    "Sandbox",
    "SandboxConfig",
    "start_sandbox_thread",
]
_SERVER = ("Sandbox", "start_sandbox_thread")


def __getattr__(name: str) -> Any:
    # Loaded on first use: every command builds the `sandbox` flags from importer.sandbox.cli,
    # and the server brings aiohttp, which a dry run does not need.
    if name in _SERVER:
        return getattr(importlib.import_module("importer.sandbox.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
