"""A local StackOne-compatible server for the candidates endpoints, bad days included."""

from importer.sandbox.config import SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY, SandboxConfig
from importer.sandbox.server import Sandbox, start_sandbox_thread

__all__ = [
    "SANDBOX_ACCOUNT_ID",
    "SANDBOX_API_KEY",
    "Sandbox",
    "SandboxConfig",
    "start_sandbox_thread",
]
