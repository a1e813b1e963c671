"""Failures that must not report the wrong outcome: an address nothing answers at, a disk that
fills up mid-run, a journal that cannot be closed."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Any

import pytest

from importer.cli import main
from importer.record.journal import Journal
from importer.record.journal_file import JournalError
from importer.record.report import Recorder
from importer.sandbox import start_sandbox_thread
from tests.test_pipeline import import_into_sandbox, read_results, write_candidates

ROOT = Path(__file__).resolve().parent.parent
MAPPING = str(ROOT / "mappings" / "default.yaml")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_api_stops_the_run_instead_of_retrying_every_row(tmp_path: Path) -> None:
    rows = write_candidates(tmp_path / "in.csv", 40)
    # the sandbox is started (and ignored) only to share the helper's fast clock
    summary, _ = import_into_sandbox(
        rows,
        tmp_path / "out",
        clock_factor=1000.0,
        base_url=f"http://127.0.0.1:{closed_port()}",
        concurrency=4,
    )
    results = read_results(tmp_path / "out")
    assert summary.exit_code == 3
    assert "cannot be reached" in (summary.stop_reason or "")
    assert len(results) == 40
    assert {r["status"] for r in results} == {"not_attempted"}
    assert {r["error_code"] for r in results} == {"run-stopped"}
    # a few rows tried, each a few times: not every row waiting out its retry budget
    assert summary.requests_by_status["refused"] < 40


def test_a_full_disk_after_sending_is_a_stop_not_nothing_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_candidates(tmp_path / "in.csv", 30)
    record = Recorder.record
    calls = 0

    def disk_fills_up(self: Recorder, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 10:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))
        record(self, *args)

    with start_sandbox_thread() as sandbox:
        command = ["run", str(rows), "--mapping", MAPPING, "--out", str(tmp_path / "out"), "-q"]
        command += ["--base-url", sandbox.url, "--account-id", "acc-1", "--rate", "60000"]
        monkeypatch.setenv("STACKONE_API_KEY", "key")
        monkeypatch.setattr(Recorder, "record", disk_fills_up)
        assert main(command) == 3
        created_before = sandbox.stats()["candidates"]
        assert created_before >= 10
        summary = (tmp_path / "out" / "summary.json").read_text(encoding="utf-8")
        assert "No space left on device" in summary
        assert '"stopped_early": true' in summary
        # space again: --resume finishes the import, creating nobody twice
        monkeypatch.setattr(Recorder, "record", record)
        assert main([*command, "--resume"]) == 0
        assert sandbox.stats()["candidates"] == 30
    results = read_results(tmp_path / "out")
    assert [r["status"] for r in results] == ["created"] * 30


def test_a_journal_that_cannot_be_closed_after_sending_is_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = write_candidates(tmp_path / "in.csv", 5)

    def cannot_close(self: Journal) -> None:
        raise JournalError(f"cannot write {self.path}: disk I/O error")

    with start_sandbox_thread() as sandbox:
        monkeypatch.setenv("STACKONE_API_KEY", "key")
        monkeypatch.setattr(Journal, "close", cannot_close)
        command = ["run", str(rows), "--mapping", MAPPING, "--out", str(tmp_path / "out")]
        command += ["--base-url", sandbox.url, "--account-id", "acc-1", "-q"]
        assert main(command) == 3
        assert sandbox.stats()["candidates"] == 5
    error = capsys.readouterr().err
    assert "importer: stopped:" in error
    assert "--resume" in error
