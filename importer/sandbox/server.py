"""Running the sandbox: in the current event loop, or in a daemon thread with its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from importer.background import running_in_thread
from importer.clock import Clock, SystemClock
from importer.loopback import allowed_hosts, is_loopback
from importer.sandbox.app import SandboxApp
from importer.sandbox.config import SANDBOX_API_KEY, SandboxConfig
from importer.sandbox.store import CandidateStore

T = TypeVar("T")
# Long enough for in-flight answers to finish, short enough that tests and Ctrl-C stay snappy.
SHUTDOWN_TIMEOUT = 0.5


class Sandbox:
    """A StackOne-compatible server on ``host:port`` (port 0 picks a free one).

    Use ``async with Sandbox(config) as sandbox`` inside a running loop, or
    ``start_sandbox_thread`` from synchronous code. ``stats``, ``configure`` and ``reset`` may
    be called from any thread.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._config = config or SandboxConfig()
        self._clock = clock or SystemClock()
        self._host = host
        self._port = port
        self._app: SandboxApp | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def api_key(self) -> str:
        """The key clients must use: the configured one, or any (the default's) when none is."""
        config = self._config if self._app is None else self._app.config
        return config.api_key or SANDBOX_API_KEY

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the sandbox is not running")
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        store = CandidateStore(self._config.db_path)
        app = SandboxApp(self._config, self._clock, store)
        runner = web.AppRunner(
            app.build(), access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        try:
            await runner.setup()
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            store.close()
            raise
        if is_loopback(self._host):
            app.hosts = allowed_hosts(self._host, runner.addresses[0][1])
        self._app, self._runner, self._loop = app, runner, asyncio.get_running_loop()

    async def stop(self) -> None:
        if self._runner is None or self._app is None:
            return
        await self._runner.cleanup()
        self._app.store.close()
        self._runner = None
        self._loop = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sandbox/stats`` answers."""
        return self._on_loop(lambda: self._running().stats.snapshot(self._running().store))

    def configure(self, **changes: Any) -> None:
        """Switch settings while running, e.g. ``configure(p500=0.1, latency_mean=0.2)``."""
        self._on_loop(lambda: self._running().configure(**changes))

    def reset(self) -> None:
        """What ``POST /_sandbox/reset`` does: forget candidates and counters."""
        self._on_loop(self._running().reset)

    def _running(self) -> SandboxApp:
        if self._app is None or self._runner is None:
            raise RuntimeError("the sandbox is not running")
        return self._app

    def _on_loop(self, call: Callable[[], T]) -> T:
        # The SQLite connection and the counters belong to the server's loop thread.
        loop = self._loop
        if loop is None or loop is _current_loop():
            return call()

        async def in_loop() -> T:
            return call()

        return asyncio.run_coroutine_threadsafe(in_loop(), loop).result()


def _current_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@contextmanager
def start_sandbox_thread(
    config: SandboxConfig | None = None,
    *,
    clock: Clock | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[Sandbox]:
    """Run a Sandbox in a daemon thread for the ``with`` block; for sync code and subprocesses."""
    sandbox = Sandbox(config, clock=clock, host=host, port=port)
    with running_in_thread(sandbox, "stackone-sandbox") as running:
        yield running
