"""A local StackOne-compatible server for the candidates endpoints, bad days included."""

from importer.sandbox.config import SandboxConfig
from importer.sandbox.server import Sandbox, start_sandbox_thread

__all__ = ["Sandbox", "SandboxConfig", "start_sandbox_thread"]
