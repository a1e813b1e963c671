"""One piece of reading done in a child process, started before the rest of the tool has loaded.

Before calamine may load a sheet, the sheet's XML is read once to find the range its cells span
(one cell far out would make calamine allocate the whole range). On a large sheet that pass
costs about as long as loading the import's own modules (a third of a second for 100,000 rows),
while the machine's other cores wait for the first rows. ``start`` runs such a pass in a forked
child; ``take`` hands its result to the code that needs it, if it was asked for the same thing
of the same file. Otherwise, or when the child failed, ``take`` gives None and the caller does
the work itself, which is where any error is raised: the child never decides anything alone.

One pass is pending at a time; ``take`` always ends the child, used or not.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

_FileIdentity = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Pending:
    key: Hashable
    identity: _FileIdentity
    process: BaseProcess
    connection: Connection


_pending: _Pending | None = None


def start(key: Hashable, path: Path, work: Callable[..., Any], *args: Any) -> bool:
    """Run ``work(*args)`` on ``path`` in a child process; False when it cannot be forked here
    (no fork on this platform: spawning would import the tool anew, costing more than it saves).
    """
    global _pending
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    identity = _identity(path)
    if identity is None:
        return False
    _end(_pending)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, work, args), daemon=True)
    process.start()
    sender.close()
    _pending = _Pending(key, identity, process, receiver)
    return True


def take(key: Hashable, path: Path) -> Any | None:
    """What the child started for ``key`` found, if ``path`` is still the file it read; else
    None. Waits for the child to finish."""
    global _pending
    pending, _pending = _pending, None
    if pending is None:
        return None
    try:
        if pending.key != key or _identity(path) != pending.identity:
            return None
        try:
            found = pending.connection.recv()
        except (EOFError, OSError):
            return None  # the child died (killed, out of memory): the caller does the work
        # the file may have been replaced while it was read
        return found if _identity(path) == pending.identity else None
    finally:
        _end(pending)


def _end(pending: _Pending | None) -> None:
    if pending is None:
        return
    pending.connection.close()
    pending.process.terminate()  # a no-op once it has sent its result and ended
    pending.process.join()


def _child(connection: Connection, work: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # Ctrl-C reaches the whole process group: the parent decides how the run stops, and ends
    # this process (SIGTERM) when it has.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        found = work(*args)
    except Exception:
        found = None  # the parent does the work again and reports what it finds
    with contextlib.suppress(OSError):  # a broken pipe: the parent no longer wants it
        connection.send(found)


def _identity(path: Path) -> _FileIdentity | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns
