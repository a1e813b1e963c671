"""A dry run that maps and validates rows in worker processes reports exactly what one process
does: every row once, in order, with the same statuses, codes, messages and keys."""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import pytest

from importer import ImportOptions, run_import
from importer.errors import Code, Reject, RowWarning, WarningCode
from importer.mapping import Prepared, RowMapper, load_mapping
from importer.read.tables import SourceRow, open_table
from importer.run import dry, parallel
from importer.run.parallel import PreparePool
from tests.sandboxed import DATA, LEGACY_MAPPING, MAPPINGS, SAMPLES


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start after 3 rows and take 4 at a time, so that small files cross chunks."""
    monkeypatch.setattr(dry, "SERIAL_ROWS", 3)
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 4)


def _dry_run(
    source: Path, mapping: Path, out: Path, workers: int
) -> tuple[bytes, bytes, dict[str, int]]:
    summary = run_import(
        source,
        ImportOptions(
            mapping=mapping, out_dir=out, dry_run=True, workers=workers, handle_signals=False
        ),
    )
    counts = {k: v for k, v in vars(summary.counts).items() if isinstance(v, int)}
    return (out / "results.csv").read_bytes(), (out / "rejects.csv").read_bytes(), counts


def _legacy_file(tmp_path: Path) -> tuple[Path, Path]:
    mapping = tmp_path / "legacy.yaml"
    mapping.write_text(LEGACY_MAPPING, encoding="utf-8")
    lines = ["First Name,Last Name,Email,Candidate ID"]
    for n in range(30):
        lines.append(f"Ada{n},Lovelace,ada{n}@example.com,C-{n % 25}")  # C-0..C-4 twice
    lines[7] = ",,,"  # a blank row
    lines[12] = "Grace,Hopper,grace@example.com,C-99,extra"  # a ragged row
    lines[20] = "Alan,,alan@example,C-77"  # no last name, bad e-mail
    source = tmp_path / "legacy.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source, mapping


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize(
    ("source", "mapping"),
    [
        (SAMPLES / "candidates.csv", MAPPINGS / "default.yaml"),
        (SAMPLES / "candidates.xlsx", MAPPINGS / "default.yaml"),
        (SAMPLES / "smartrecruiters.csv", MAPPINGS / "smartrecruiters.yaml"),
        (SAMPLES / "lever_migration.csv", MAPPINGS / "lever.yaml"),
        (DATA / "ragged.csv", MAPPINGS / "default.yaml"),
        (None, None),
    ],
    ids=["candidates", "xlsx", "smartrecruiters", "lever", "ragged", "legacy-key"],
)
def test_workers_report_what_one_process_reports(
    tmp_path: Path, source: Path | None, mapping: Path | None
) -> None:
    if source is None or mapping is None:
        source, mapping = _legacy_file(tmp_path)
    alone = _dry_run(source, mapping, tmp_path / "alone", workers=0)
    shared = _dry_run(source, mapping, tmp_path / "shared", workers=1)
    assert shared == alone
    if source.name == "legacy.csv":
        assert alone[1].count(b"duplicate-in-file") == 5  # C-0 to C-4, 25 rows apart


@pytest.mark.usefixtures("small_chunks")
def test_rows_past_the_first_ones_are_prepared_by_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared_here: list[int] = []
    original = RowMapper.prepare

    def counting(self: RowMapper, row: SourceRow) -> object:
        prepared_here.append(row.row_number)  # forked workers count in their own memory
        return original(self, row)

    monkeypatch.setattr(RowMapper, "prepare", counting)
    _, _, counts = _dry_run(
        SAMPLES / "candidates.csv", MAPPINGS / "default.yaml", tmp_path / "o", workers=2
    )
    assert counts["rows"] == 19
    # the first chunk after them always goes to a worker (the main process maps a chunk only
    # while every worker is busy)
    assert prepared_here[:3] == [2, 3, 4]
    assert not {5, 6, 7, 8} & set(prepared_here)


def test_a_stopped_run_sends_no_more_rows_to_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 4)
    mapping = load_mapping(MAPPINGS / "default.yaml")
    with open_table(SAMPLES / "candidates.csv") as table:
        rows: Iterator[tuple[int, SourceRow]] = enumerate(table.rows)
        read: list[int] = []

        def counted() -> Iterator[tuple[int, SourceRow]]:
            for seq, row in rows:
                read.append(seq)
                yield seq, row

        # stopped once the first chunk has gone: the later chunks come back unprepared
        mapper = mapping.bind(table.headers)
        with PreparePool(mapping, mapper, table.headers, "candidates.csv", "email", 1) as pool:
            out = list(pool.prepared(counted(), stopped=lambda: len(read) > 4))
    assert [seq for seq, _, _ in out] == list(range(19))
    prepared = [seq for seq, _, p in out if p is not None]
    assert prepared == [0, 1, 2, 3]
    assert out[0][2] is not None
    first = Prepared(*out[0][2])
    assert first.body == {"email": first.email}
    assert first.rejects == ()


def test_with_every_worker_busy_the_main_process_maps_the_chunk_itself() -> None:
    mapping = load_mapping(MAPPINGS / "default.yaml")
    with open_table(SAMPLES / "candidates.csv") as table:
        rows = list(enumerate(table.rows))
        mapper = mapping.bind(table.headers)
        with PreparePool(mapping, mapper, table.headers, "candidates.csv", "email", 0) as pool:
            out = list(pool.prepared(iter(rows), stopped=lambda: False))
    assert [seq for seq, _, _ in out] == list(range(19))
    for (_, row), (_, _, prepared) in zip(rows, out, strict=True):
        if row.is_blank:
            assert prepared is None
            continue
        expected = mapper.prepare(row)
        assert prepared is not None
        prepared = Prepared(*prepared)
        assert (prepared.email, prepared.rejects) == (expected.email, expected.rejects)
        assert prepared.body == (None if expected.body is None else {"email": expected.email})


def test_workers_leave_ctrl_c_and_sigterm_to_the_main_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 4)
    mapping = load_mapping(MAPPINGS / "default.yaml")
    with open_table(SAMPLES / "candidates.csv") as table:
        rows = list(enumerate(table.rows))
        mapper = mapping.bind(table.headers)
        with PreparePool(mapping, mapper, table.headers, "candidates.csv", "email", 1) as pool:
            (worker, _), *_ = pool._workers
            before = list(pool.prepared(iter(rows), stopped=lambda: False))  # worker serving
            os.kill(worker.pid or 0, signal.SIGINT)
            os.kill(worker.pid or 0, signal.SIGTERM)
            after = list(pool.prepared(iter(rows), stopped=lambda: False))
            assert worker.is_alive()
        assert worker.exitcode == 0  # ended by the pool, once the run is done
    assert after == before


class _LateAnswer:
    """A worker's pipe whose answer comes just after the pool looked for it, while the worker
    holds two chunks: the moment at which an answer could be read into the wrong chunk."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self._holding = 0
        self.late = False

    def send(self, message: object) -> None:
        self._holding += message is not None
        self._pipe.send(message)

    def recv(self) -> object:
        self._holding -= 1
        return self._pipe.recv()

    def poll(self, timeout: float = 0.0) -> bool:
        if self._holding == 2 and not self.late and not self._pipe.poll(timeout):
            self.late = True
            assert self._pipe.poll(30)  # the answer comes only now
            return False
        return self._pipe.poll(timeout)

    def close(self) -> None:
        self._pipe.close()


def test_an_answer_that_comes_late_goes_to_the_chunk_it_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 2)
    mapping = load_mapping(MAPPINGS / "default.yaml")
    with open_table(SAMPLES / "candidates.csv") as table:
        rows = list(enumerate(table.rows))
        mapper = mapping.bind(table.headers)
        with PreparePool(mapping, mapper, table.headers, "candidates.csv", "email", 1) as pool:
            (worker, pipe), *_ = pool._workers
            late = _LateAnswer(pipe)
            pool._workers[0] = (worker, cast(Connection, late))
            out = list(pool.prepared(iter(rows), stopped=lambda: False))
    assert late.late
    expected = [None if row.is_blank else mapper.prepare(row).email for _, row in rows]
    assert [None if p is None else Prepared(*p).email for _, _, p in out] == expected


def test_where_processes_cannot_fork_the_workers_are_spawned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # macOS and Windows: each worker starts a fresh interpreter and gets the mapping pickled
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(parallel, "CHUNK_ROWS", 4)
    mapping = load_mapping(MAPPINGS / "default.yaml")
    with open_table(SAMPLES / "candidates.csv") as table:
        rows = list(enumerate(table.rows))
        mapper = mapping.bind(table.headers)
        with PreparePool(mapping, mapper, table.headers, "candidates.csv", "email", 1) as pool:
            (worker, _), *_ = pool._workers
            out = list(pool.prepared(iter(rows), stopped=lambda: False))
    assert worker.exitcode == 0
    expected = [None if row.is_blank else mapper.prepare(row).email for _, row in rows]
    assert [None if p is None else Prepared(*p).email for _, _, p in out] == expected


def test_warnings_and_rejects_come_back_from_a_worker_as_they_went() -> None:
    warning = RowWarning(7, WarningCode.KEPT_AS_TYPED, "kept", "phone_numbers[0].phone", "P", "1")
    reject = Reject(8, Code.INVALID_EMAIL, "not an e-mail", "email", None, "x@")
    for sent in (warning, reject, RowWarning(9, WarningCode.VALUE_DROPPED, "dropped")):
        back = pickle.loads(pickle.dumps(sent, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == sent
        assert type(back) is type(sent)
        assert back.code is sent.code
