"""Importer processes from the command line sharing one API key through a real Redis.

Each imports its own file into its own account of one sandbox (on 127.0.0.1, in this test's
process) whose limit is per key, as StackOne's is: together they must stay under it.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import pytest

from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread
from tests.servers import free_port, redis_server

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "mappings" / "default.yaml"
API_KEY = "soak-key"  # the key sandbox_candidates reads with
LIMIT_PER_MINUTE = 1200  # 20 requests a second for the key, all accounts together


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path / "redis") as url:
        yield url


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(rate_limit_per_minute=LIMIT_PER_MINUTE)
    with start_sandbox_thread(config) as running:
        yield running


def write_input(path: Path, rows: int, prefix: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email"])
        for i in range(rows):
            writer.writerow([f"First{i}", f"Last{i}", f"{prefix}{i}@example.com"])
    return path


def importer(
    tmp_path: Path, sandbox: Sandbox, name: str, rows: int, *flags: str
) -> subprocess.Popen[bytes]:
    source = write_input(tmp_path / f"{name}.csv", rows, name)
    command = [sys.executable, "-m", "importer", "run", str(source), "--mapping", str(MAPPING)]
    command += ["--base-url", sandbox.url, "--account-id", name, "--out", str(tmp_path / name)]
    command += ["--rate", str(LIMIT_PER_MINUTE), "--quiet", *flags]
    env = {**os.environ, "STACKONE_API_KEY": API_KEY}
    env.pop("IMPORTER_PACER_URL", None)
    with (tmp_path / f"{name}.log").open("ab") as log:
        return subprocess.Popen(command, env=env, stderr=log, cwd=tmp_path)


def summary(tmp_path: Path, name: str) -> dict[str, object]:
    found: dict[str, object] = json.loads((tmp_path / name / "summary.json").read_text())
    return found


def test_processes_sharing_a_key_through_redis_stay_under_its_limit(
    tmp_path: Path, sandbox: Sandbox, redis_url: str
) -> None:
    rows = 30
    started = time.monotonic()
    processes = [
        importer(tmp_path, sandbox, name, rows, "--pacer", redis_url) for name in ("acc-a", "acc-b")
    ]
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    wall = time.monotonic() - started
    stats = sandbox.stats()
    assert stats["requests_by_status"] == {"201": 2 * rows}
    assert stats["retry_after_violations"] == 0
    # one key's 20 requests a second for both: at least 60 / 20 = 3 s (minus the first second's
    # burst the sandbox's bucket allows)
    assert wall >= 2.9
    for name in ("acc-a", "acc-b"):
        assert summary(tmp_path, name)["by_status"] == {
            "created": rows,
            "rejected": 0,
            "skipped": 0,
            "not_attempted": 0,
        }


def test_without_the_shared_pacer_the_same_processes_are_answered_429(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = 40
    processes = [importer(tmp_path, sandbox, name, rows) for name in ("acc-a", "acc-b", "acc-c")]
    assert [p.wait(timeout=120) for p in processes] == [0, 0, 0]
    stats = sandbox.stats()
    assert stats["requests_by_status"]["201"] == 3 * rows
    assert stats["requests_by_status"]["429"] > 0


def test_unreachable_redis_stops_the_run_before_anything_is_sent(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    process = importer(tmp_path, sandbox, "acc-a", 5, "--pacer", url)
    assert process.wait(timeout=60) == 2
    log = (tmp_path / "acc-a.log").read_text()
    assert f"cannot reach the shared pacer at {url}" in log
    assert "Traceback" not in log
    assert sandbox.stats()["requests_total"] == 0
    assert not (tmp_path / "acc-a" / "journal.sqlite").exists()


def test_the_pacer_url_can_come_from_the_environment(
    tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer.cli import main

    monkeypatch.setenv("IMPORTER_PACER_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setenv("STACKONE_API_KEY", API_KEY)
    source = write_input(tmp_path / "in.csv", 3, "env")
    where = ["--base-url", sandbox.url, "--account-id", "acc", "--out", str(tmp_path / "out")]
    code = main(["run", str(source), "--mapping", str(MAPPING), *where, "--quiet"])
    assert code == 2
    assert sandbox.stats()["requests_total"] == 0


def test_a_process_killed_mid_run_leaves_nothing_holding_the_pacer(
    tmp_path: Path, sandbox: Sandbox, redis_url: str
) -> None:
    rows = 40
    flags = ("--pacer", redis_url)
    victim = importer(tmp_path, sandbox, "acc-killed", rows, *flags)
    others = [importer(tmp_path, sandbox, name, rows, *flags) for name in ("acc-b", "acc-c")]
    while sandbox.stats()["candidates"] < 20:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    assert [p.wait(timeout=120) for p in others] == [0, 0]
    assert sandbox.stats()["retry_after_violations"] == 0
    assert "429" not in sandbox.stats()["requests_by_status"]

    resumed = importer(tmp_path, sandbox, "acc-killed", rows, *flags, "--resume")
    assert resumed.wait(timeout=120) == 0
    held = sandbox_candidates_of(sandbox, "acc-killed")
    assert sorted(held) == sorted(f"acc-killed{i}@example.com" for i in range(rows))
    assert all(len(ids) == 1 for ids in held.values())
    assert sandbox.stats()["retry_after_violations"] == 0


def sandbox_candidates_of(sandbox: Sandbox, account: str) -> dict[str, list[str]]:
    """E-mail → the ids the sandbox holds for it in ``account``."""
    auth = "Basic " + b64encode(f"{API_KEY}:".encode()).decode()
    request = urllib.request.Request(
        f"{sandbox.url}/unified/ats/candidates?page_size=1000",
        headers={"Authorization": auth, "x-account-id": account},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        page = json.load(response)
    assert page["next"] is None
    held: dict[str, list[str]] = {}
    for candidate in page["data"]:
        held.setdefault(candidate["emails"][0]["value"], []).append(candidate["id"])
    return held


def test_the_web_page_imports_through_the_servers_pacer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from importer.web import worker

    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("IMPORTER_PACER_URL", url)
    monkeypatch.setenv("STACKONE_API_KEY", API_KEY)
    source = write_input(tmp_path / "in.csv", 3, "web")
    spec = {
        "input": str(source),
        "name": "in.csv",
        "mapping": str(MAPPING),
        "mapping_label": "default",
        "out_dir": str(tmp_path / "out"),
        "dry_run": False,
        "base_url": f"http://127.0.0.1:{free_port()}",
        "account_id": "acc",
        "preview_rows": 0,
    }
    job = tmp_path / "job.json"
    job.write_text(json.dumps(spec))
    assert worker.main([str(job)]) == 2
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["event"] == "error"
    assert f"cannot reach the shared pacer at {url}" in event["message"]
