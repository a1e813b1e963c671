"""Map and validate rows in worker processes, so that a dry run of a big file uses every core."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from importer.errors import Reject
from importer.mapping import Mapping, Prepared, RowMapper
from importer.readers import SourceRow

CHUNK_ROWS = 2_000
"""Rows a worker maps and validates per task: big enough that passing them costs little."""

SERIAL_ROWS = 20_000
"""Rows checked in this process before workers start: a small file never waits for them."""

# What a worker sends back per row: the body (only the field the run's key reads, since the
# rest would cost more to pass back than to build), the e-mail, the rejects.
_Result = tuple[dict[str, Any] | None, str | None, tuple[Reject, ...]]

_mapper: RowMapper | None = None
_keep: str | None = None
_width = 0


def default_workers() -> int:
    """One worker per core this process may run on, but for the one the main process needs:
    reading, duplicate checks and the reports take it about as long as a row's mapping."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return cores - 1


def _start_worker(mapping: Mapping, headers: list[str], source: str, keep: str | None) -> None:
    # Ctrl-C reaches the whole process group: the main process decides how the run stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _mapper, _keep, _width
    _mapper = mapping.bind(headers, source=source)
    _keep = keep
    _width = len(headers)


def _prepare_chunk(rows: list[tuple[int, tuple[str, ...]]]) -> list[_Result | None]:
    """Each row prepared, or None for a blank or ragged one (the main process rejects those)."""
    assert _mapper is not None, "the worker's initializer binds the mapping"
    prepare, keep, width = _mapper.prepare, _keep, _width
    results: list[_Result | None] = []
    for number, values in rows:
        row = SourceRow(number, values)
        if len(values) != width or row.is_blank:
            results.append(None)
            continue
        body = (prepared := prepare(row)).body
        if body is not None:
            body = {keep: body[keep]} if keep is not None and keep in body else {}
        results.append((body, prepared.email, prepared.rejects))
    return results


class PreparePool:
    """Worker processes running ``RowMapper.prepare``; rows come back in the order they went in.

    ``keep`` is the one top-level body field the caller still needs (the run's key), or None.
    """

    def __init__(
        self, mapping: Mapping, headers: list[str], source: str, keep: str | None, workers: int
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        # fork starts a worker in milliseconds; elsewhere each one imports the package anew.
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(mapping, headers, source, keep),
        )

    def __enter__(self) -> PreparePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def prepared(
        self, rows: Iterator[tuple[int, SourceRow]], stopped: Callable[[], bool]
    ) -> Iterator[tuple[int, SourceRow, Prepared | None]]:
        """Each row with its Prepared, or None for a blank or ragged row and for every row read
        once ``stopped()`` is true (none are sent to workers then).

        At most two chunks per worker are in flight, so memory stays flat however long the file.
        """
        pending: deque[tuple[list[tuple[int, SourceRow]], Future[list[_Result | None]] | None]]
        pending = deque()
        chunk: list[tuple[int, SourceRow]] = []

        def submit() -> None:
            future = None
            if not stopped():
                send = [(row.row_number, row.values) for _, row in chunk]
                future = self._pool.submit(_prepare_chunk, send)
            pending.append((chunk, future))

        for item in rows:
            chunk.append(item)
            if len(chunk) == CHUNK_ROWS:
                submit()
                chunk = []
                if len(pending) > 2 * self.workers:
                    yield from _settle(*pending.popleft())
        if chunk:
            submit()
        while pending:
            yield from _settle(*pending.popleft())


def _settle(
    chunk: list[tuple[int, SourceRow]], future: Future[list[_Result | None]] | None
) -> Iterator[tuple[int, SourceRow, Prepared | None]]:
    if future is None:
        for seq, row in chunk:
            yield seq, row, None
        return
    for (seq, row), result in zip(chunk, future.result(), strict=True):
        if result is None:
            yield seq, row, None
        else:
            body, email, rejects = result
            yield seq, row, Prepared(row.row_number, body, email, rejects)
