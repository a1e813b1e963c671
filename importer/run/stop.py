"""Why a run stops early, and Ctrl-C / SIGTERM turned into that reason."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from importer.errors import Code, Interrupted, Reject
from importer.read.tables import SourceRow
from importer.record.outcomes import RowOutcome, Status
from importer.signals import SIGNALS, handled_by


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

    loop = None
    if not blocking:
        with suppress(RuntimeError):  # no loop: Python's handlers do
            loop = asyncio.get_running_loop()
    if loop is None:
        with handled_by(on_signal):
            yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            # The loop leaves Python's defaults behind, which raise or kill while the reports
            # are being written: the run's own handler (run_signals) takes over again.
            signal.signal(sig, handler)


@contextmanager
def run_signals(stop: Stop, under_way: Callable[[], bool], *, enabled: bool) -> Iterator[None]:
    """Ctrl-C / SIGTERM over a whole run, wherever the stages' own handler is not.

    Before rows are under way (a start-up: reading a large workbook, opening the ledger) they
    raise ``Interrupted`` where the code is: nothing was sent. ``asyncio.run`` would turn
    Ctrl-C into a cancellation that lands at the run's next await: for a dry run, which never
    awaits, after every row was checked.

    Once rows are under way, they stop the run as during the stages: the reports, which are
    quick, are finished, and the summary says that the run stopped, as its exit code does.
    Raising there would leave the reports half written and no summary.json.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(*_: object) -> None:
        if not under_way():
            raise Interrupted
        stop.set("interrupted", Code.INTERRUPTED)

    with handled_by(on_signal):
        yield
