"""Why a run stops early, and Ctrl-C / SIGTERM turned into that reason."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from importer.errors import Code, Reject
from importer.read.tables import SourceRow
from importer.record.outcomes import RowOutcome, Status


class Stop:
    """Why the run is stopping; set once, by a fatal answer or a signal (a second one forces)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.forced = asyncio.Event()
        self.reason: str | None = None
        self.code = Code.RUN_STOPPED

    def set(self, reason: str, code: Code) -> None:
        if not self.event.is_set():
            self.reason, self.code = reason, code
            self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    def outcome(self, row: SourceRow) -> RowOutcome:
        reject = Reject(row.row_number, self.code, f"not sent: {self.reason}")
        return RowOutcome(row.row_number, Status.NOT_ATTEMPTED, rejects=(reject,))


@contextmanager
def stopped_by_signals(stop: Stop, *, enabled: bool, blocking: bool = False) -> Iterator[None]:
    """Ctrl-C / SIGTERM: stop taking rows, finish what is in flight; twice: stop now.

    ``blocking``: the caller never hands control back to the event loop (the dry run), so
    the loop could not run its handlers: Python's own run between the caller's lines.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(*_: object) -> None:
        if stop.is_set():
            stop.forced.set()
        stop.set("interrupted", Code.INTERRUPTED)

    signals = (signal.SIGINT, signal.SIGTERM)
    loop = None
    if not blocking:
        with suppress(RuntimeError):  # no loop: Python's handlers do
            loop = asyncio.get_running_loop()
    if loop is None:
        previous = {sig: signal.signal(sig, on_signal) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


@contextmanager
def interrupted_at_once(*, enabled: bool) -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt where the code is, until ``stopped_by_signals`` takes over.

    ``asyncio.run`` would turn it into a cancellation of the run, which lands only at the run's
    next await: for a dry run, which never awaits, after every row was checked, as if Ctrl-C had
    not been pressed. A start-up (reading a large workbook, opening the ledger) stops at once.
    """
    if (
        not enabled
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
