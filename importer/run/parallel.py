"""Map and validate rows in worker processes, so that a dry run of a big file uses every core."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from importer.errors import Reject, RowWarning
from importer.mapping import Mapping, PreparedFields, RowMapper
from importer.read.tables import SourceRow
from importer.run.check import needs_mapping

CHUNK_ROWS = 1_000
"""Rows a worker maps and validates per task: big enough that passing them costs little."""

SERIAL_ROWS = 5_000
"""Rows checked in this process before workers start: a small file never waits for them."""

_AHEAD = 2  # chunks a worker holds at once: one being mapped, one waiting for it
_EXIT_GRACE = 5.0  # seconds a worker gets to finish its chunk and end before it is killed

_Rows = list[tuple[int, tuple[str, ...]]]
# What a worker sends back per row: the body (only the field the run's key reads, since the
# rest would cost more to pass back than to build), the e-mail, the rejects, the warnings; None
# for a blank or ragged row, which the main process rejects itself.
_Result = (
    tuple[dict[str, Any] | None, str | None, tuple[Reject, ...], tuple[RowWarning, ...]] | None
)


def _serve(
    connection: Connection, mapping: Mapping, headers: list[str], source: str, keep: str | None
) -> None:
    """A worker: prepare each chunk of rows received until told to stop (None)."""
    # Ctrl-C (or a scheduler's SIGTERM) reaches the whole process group: the main process
    # decides how the run stops, and ends this one when it has.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    mapper = mapping.bind(headers, source=source)
    # A thread takes every chunk off the pipe as soon as it comes, so that the main process
    # can queue the next chunk while this one is mapped, and never blocks sending it while
    # this process blocks sending an answer.
    inbox: queue.SimpleQueue[_Rows | None] = queue.SimpleQueue()
    threading.Thread(target=_take_in, args=(connection, inbox), daemon=True).start()
    try:
        while (rows := inbox.get()) is not None:
            try:
                results: list[_Result] | BaseException = _prepare(mapper, keep, len(headers), rows)
            except Exception as error:  # a bug: raised again in the main process
                results = error
            connection.send(results)
    except (EOFError, BrokenPipeError):
        pass  # the main process has gone


def _take_in(connection: Connection, inbox: queue.SimpleQueue[_Rows | None]) -> None:
    try:
        while (rows := connection.recv()) is not None:
            inbox.put(rows)
    except (EOFError, OSError):
        pass  # the main process has gone
    inbox.put(None)


def _prepare(mapper: RowMapper, keep: str | None, width: int, rows: _Rows) -> list[_Result]:
    prepare = mapper.prepare
    results: list[_Result] = []
    for number, values in rows:
        row = SourceRow(number, values)
        if not needs_mapping(row, width):
            results.append(None)
            continue
        _, body, email, rejects, warnings = prepare(row)  # at once: named fields are slow to read
        if body is not None:
            body = {keep: body[keep]} if keep is not None and keep in body else {}
        results.append((body, email, rejects, warnings))
    return results


@dataclass(slots=True)
class _Chunk:
    rows: list[tuple[int, SourceRow]]
    worker: Connection | None = None  # the worker mapping it, until its answer is read
    results: list[_Result] | None = None  # None when left unprepared (the run stopped)


class PreparePool:
    """Worker processes running ``RowMapper.prepare``; rows come back in the order they went in.

    Each worker has one pipe, driven from the calling thread (no helper thread competes with
    it for the GIL) and holds up to two chunks, so that it never waits for the next one. When
    every worker has its two, the calling process maps the chunk itself: it never waits while
    it could work. ``mapper`` is the
    caller's own, bound like the workers'; ``keep`` is the one top-level body field the caller
    still needs (the run's key), or None.
    """

    def __init__(
        self,
        mapping: Mapping,
        mapper: RowMapper,
        headers: list[str],
        source: str,
        keep: str | None,
        workers: int,
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork starts a worker in milliseconds; spawn (macOS, Windows) imports the package anew.
        context: ForkContext | SpawnContext
        if "fork" in methods:
            context = multiprocessing.get_context("fork")
        else:
            context = multiprocessing.get_context("spawn")
        self._mapper = mapper
        self._keep = keep
        self._width = len(headers)
        self._workers: list[tuple[BaseProcess, Connection]] = []
        for _ in range(workers):
            here, there = context.Pipe()
            process = context.Process(
                target=_serve,
                args=(there, mapping, headers, source, keep),
                name="importer-prepare",
                daemon=True,
            )
            process.start()
            there.close()
            self._workers.append((process, here))

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *exc: object) -> None:
        for _, connection in self._workers:
            with contextlib.suppress(OSError):  # that worker has gone already
                connection.send(None)
        for process, connection in self._workers:
            # A worker may still be sending an answer nobody wants (the caller stopped reading
            # early): read it, so that the worker gets to the None and ends.
            deadline = time.monotonic() + _EXIT_GRACE
            while process.is_alive() and (left := deadline - time.monotonic()) > 0:
                try:
                    if connection.poll(min(0.05, left)):
                        connection.recv()
                except (EOFError, OSError):
                    process.join(left)  # its end of the pipe closed: it is exiting
                    break
                process.join(0)
            if process.is_alive():
                process.kill()
            process.join()
            connection.close()

    def prepared(
        self, rows: Iterator[tuple[int, SourceRow]], stopped: Callable[[], bool]
    ) -> Iterator[tuple[int, SourceRow, PreparedFields | None]]:
        """Each row with its Prepared's fields, or None for a blank or ragged row and for every
        row read once ``stopped()`` is true (none are prepared then).

        At most a few chunks are held at once, so memory stays flat however long the file.
        """
        pending: deque[_Chunk] = deque()
        # one entry per chunk a worker could take now
        idle = deque(connection for _, connection in self._workers for _ in range(_AHEAD))
        most = _AHEAD * len(self._workers) + 2
        chunk: list[tuple[int, SourceRow]] = []
        for item in rows:
            chunk.append(item)
            if len(chunk) < CHUNK_ROWS:
                continue
            _take_answers(pending, idle)
            pending.append(self._start(chunk, idle, stopped()))
            chunk = []
            while pending and (pending[0].worker is None or len(pending) > most):
                if pending[0].worker is not None:
                    idle.append(_receive(pending[0]))
                yield from _settle(pending.popleft())
        if chunk:
            pending.append(self._start(chunk, idle, stopped()))
        while pending:
            if pending[0].worker is not None:
                _receive(pending[0])
            yield from _settle(pending.popleft())

    def _start(
        self, rows: list[tuple[int, SourceRow]], idle: deque[Connection], stopped: bool
    ) -> _Chunk:
        if stopped:
            return _Chunk(rows)
        sent = [(row.row_number, row.values) for _, row in rows]
        if idle:
            worker = idle.popleft()
            worker.send(sent)
            return _Chunk(rows, worker)
        return _Chunk(rows, results=_prepare(self._mapper, self._keep, self._width, sent))


def _take_answers(pending: deque[_Chunk], idle: deque[Connection]) -> None:
    """Read every answer that has come, each into the oldest chunk its worker still holds.

    A worker answers its chunks in the order it got them, so only that chunk may take the
    answer: an answer arriving between the look at a worker's older chunk and the look at its
    newer one must not be read into the newer one.
    """
    passed: set[Connection] = set()
    for waiting in pending:
        worker = waiting.worker
        if worker is None or worker in passed:
            continue
        if worker.poll():
            idle.append(_receive(waiting))
        else:
            passed.add(worker)


def _receive(chunk: _Chunk) -> Connection:
    """Read the answer of the chunk's worker, which can then take another chunk."""
    worker = chunk.worker
    assert worker is not None
    try:
        results = worker.recv()
    except EOFError:
        raise RuntimeError("a worker process mapping the rows ended unexpectedly") from None
    if isinstance(results, BaseException):
        raise results
    chunk.results, chunk.worker = results, None
    return worker


def _settle(chunk: _Chunk) -> Iterator[tuple[int, SourceRow, PreparedFields | None]]:
    if chunk.results is None:
        for seq, row in chunk.rows:
            yield seq, row, None
        return
    for (seq, row), result in zip(chunk.rows, chunk.results, strict=True):
        if result is None:
            yield seq, row, None
        else:
            body, email, rejects, warnings = result
            yield seq, row, (row.row_number, body, email, rejects, warnings)
