"""Ctrl-C and SIGTERM for the whole process: which signals stop an import, and the handlers a
run puts in place and takes away. Light on purpose: the command line imports it before it
knows which command runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from importer.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def handled_by(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` takes both signals inside the block; the handlers before it come back after."""
    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler_before in previous.items():
            signal.signal(sig, handler_before)


@contextmanager
def terminated_as_interrupted(*, restore: bool) -> Iterator[None]:
    """Ctrl-C and SIGTERM raise ``Interrupted`` wherever the run has not taken them over: a
    start-up stopped by either says that nothing was sent, instead of ending silently (SIGTERM:
    143) or with a traceback.

    ``restore``: the handlers are put back on the way out. A process about to exit keeps
    ``summary_written``'s: its finalisation (0.1 s after 20,000 rows) is no place for them."""
    if threading.current_thread() is not threading.main_thread():
        yield
    elif restore:
        with handled_by(_interrupted):
            yield
    else:
        for sig in SIGNALS:
            signal.signal(sig, _interrupted)
        yield


def _interrupted(*_: object) -> None:
    raise Interrupted


def summary_written() -> None:
    """summary.json and the exit code are decided: a stop from now on would contradict them
    (Ctrl-C there ended with 130), and the summary is printed whole."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
