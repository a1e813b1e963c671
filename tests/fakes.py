"""Test doubles shared by the test suite: a virtual-time clock for asyncio code, and fake HTTP.

``FakeClock`` is an ``importer.clock.Clock`` whose time only moves when every task is waiting:
``clock.run(main())`` runs ``main`` on an event loop that reads the clock for its own time, and
whenever nothing is ready to run, jumps straight to the next timer instead of sleeping. So
``await clock.sleep(120)`` (or ``asyncio.sleep(120)``, or an aiohttp timeout) returns at once in
real time, concurrent tasks still see one shared, consistent "now", and every sleep requested
through the clock is recorded in ``clock.sleeps`` for tests to assert::

    clock = FakeClock()
    clock.run(sender.send(2, body, "ada@example.com"))
    assert clock.sleeps == [120.0]

Real I/O still works (the loop polls sockets before jumping), but time jumps while a thread or a
socket is busy if a timer is pending, so keep real servers and FakeClock apart.

``FakeApi`` is ``aioresponses`` made to work with aiohttp 3.14, and ``reply`` builds a response
for its callbacks (which can ``await clock.sleep(...)`` to play a slow server)::

    with FakeApi() as api:
        api.post(URL, status=429, headers={"Retry-After": "30"})
        api.post(URL, callback=lambda url, **kw: reply(201, {"data": {"id": "c1"}}))
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
import orjson
from aioresponses import CallbackResult, aioresponses
from yarl import URL

T = TypeVar("T")

# 2026-01-01T00:00:00Z: a fixed wall clock makes HTTP-date Retry-After values reproducible.
WALL_START = 1_767_225_600.0


class FakeClock:
    """Virtual time for asyncio tests; see the module docstring."""

    def __init__(self, wall_start: float = WALL_START) -> None:
        self.wall_start = wall_start
        self.sleeps: list[float] = []
        self._now = 0.0

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self.wall_start + self._now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to completion on an event loop driven by this clock."""
        with asyncio.Runner(loop_factory=lambda: _VirtualTimeLoop(self)) as runner:
            return runner.run(coro)


class _VirtualTimeSelector(selectors.DefaultSelector):
    """Polls I/O without blocking; when idle with a timer pending, moves the clock to it."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            # No timers at all: only real I/O or a thread can wake the loop, so wait for real.
            return super().select(None)
        self._clock.advance(timeout)
        return []


class _VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: FakeClock) -> None:
        self._virtual_clock = clock
        super().__init__(_VirtualTimeSelector(clock))

    def time(self) -> float:
        return self._virtual_clock.now()


class _Response(aiohttp.ClientResponse):
    """aioresponses 0.7.9 builds responses without the ``stream_writer`` aiohttp 3.14 requires
    (pnuckowski/aioresponses#289); for an already-sent request it only reads ``output_size``."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


class FakeApi(aioresponses):  # type: ignore[misc]
    """``aioresponses`` that works with aiohttp 3.14; see the module docstring."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _Response)
        super().add(*args, **kwargs)


def reply(
    status: int,
    payload: Any = None,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> CallbackResult:
    """A response for a ``FakeApi`` callback: ``payload`` as JSON, or raw ``body`` bytes."""
    return CallbackResult(
        status=status,
        body=body if body is not None else orjson.dumps(payload) if payload is not None else b"",
        headers=headers,
        response_class=_Response,
    )
