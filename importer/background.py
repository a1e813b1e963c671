"""Running an async server (the sandbox, the web page) in a daemon thread, for sync callers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar


class Startable(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


@contextmanager
def running_in_thread(server: S, name: str) -> Iterator[S]:
    """Start ``server`` on its own event loop in a daemon thread; stop it when the block ends.

    A failure to start (a busy port, say) is raised in the caller's thread.
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failures: list[BaseException] = []

    def serve() -> None:
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:  # re-raised in the caller's thread
            failures.append(exc)
        finally:
            ready.set()
        if not failures:
            loop.run_forever()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    ready.wait()
    if failures:
        thread.join()
        loop.close()
        raise failures[0]
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
