"""Soak: thousands of rows through a rate limit and faults, the importer killed -9 and resumed.

The importer runs as a separate process against a sandbox in this one (rate limit on, 408s,
500s, 502s and connections dropped after the candidate was stored, seeded), is killed with
SIGKILL twice part-way and resumed with ``--resume`` until it finishes. Then every input row
must have exactly one outcome, every created row the id the sandbox holds for its e-mail, no
e-mail may exist twice, and no request may have arrived inside a Retry-After window.

The CI variant runs the sandbox and the importer on one time scale (both move 20× faster,
StackOne's 1000 requests a minute included), so a 408's one-second pause lasts 50 ms; the
importer is the CLI's ``main``, started in a child whose clock is scaled. ``-m slow`` runs the
real-time variant through ``python -m importer`` itself. ``SOAK_SEED`` picks the faults.
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
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from importer.clock import ScaledClock
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "mappings" / "default.yaml"
API_KEY = "soak-key"
ACCOUNT = "soak"

# The CLI, in a process whose SystemClock runs ``scale`` times faster (sleeps included).
_SCALED_CLI = """
import sys
from importer import clock

scaled = clock.ScaledClock(float(sys.argv[1]))

async def sleep(self, seconds):
    await scaled.sleep(seconds)

clock.SystemClock.now = lambda self: scaled.now()
clock.SystemClock.wall = lambda self: scaled.wall()
clock.SystemClock.sleep = sleep
from importer.cli import main

sys.exit(main(sys.argv[2:]))
"""


@dataclass
class Soak:
    rows: int
    scale: float
    sandbox_rate: float  # requests per minute, on the shared time scale
    importer_rate: str  # above the sandbox's, so 429s happen
    kill_at: tuple[float, ...]  # fractions of the rows created when a process is killed
    seed: int = field(default_factory=lambda: int(os.environ.get("SOAK_SEED", "5")))


def write_input(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email", "Company", "Title"])
        for i in range(rows):
            writer.writerow([f"First{i}", f"Last{i}", f"soak{i}@example.com", "Acme", "Engineer"])
    return path


def sandbox_candidates(url: str) -> dict[str, list[str]]:
    """E-mail → the ids the sandbox holds for it, every page of ``GET /candidates``."""
    held: dict[str, list[str]] = {}
    cursor: str | None = ""
    auth = "Basic " + b64encode(f"{API_KEY}:".encode()).decode()
    while cursor is not None:
        query = "page_size=1000" + (f"&next={cursor}" if cursor else "")
        request = urllib.request.Request(
            f"{url}/unified/ats/candidates?{query}",
            headers={"Authorization": auth, "x-account-id": ACCOUNT},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.load(response)
        for candidate in page["data"]:
            held.setdefault(candidate["emails"][0]["value"], []).append(candidate["id"])
        cursor = page["next"]
    return held


def session(
    command: list[str], sandbox: Sandbox, kill_at: int | None, log: Path
) -> tuple[int, float]:
    """Run one importer process; SIGKILL it once the sandbox holds ``kill_at`` candidates."""
    env = {**os.environ, "STACKONE_API_KEY": API_KEY}
    started = time.monotonic()
    with log.open("a") as stderr, subprocess.Popen(command, env=env, stderr=stderr) as child:
        if kill_at is not None:
            while child.poll() is None and sandbox.stats()["candidates"] < kill_at:
                time.sleep(0.01)
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
        code = child.wait(timeout=600)
    return code, time.monotonic() - started


def soak(tmp_path: Path, plan: Soak, *, scaled: bool) -> dict[str, Any]:
    source = write_input(tmp_path / "candidates.csv", plan.rows)
    out = tmp_path / "out"
    config = SandboxConfig(
        rate_limit_per_minute=plan.sandbox_rate,
        p408=0.05,
        p500=0.02,
        p502=0.02,
        p_drop=0.01,
        seed=plan.seed,
    )
    clock = ScaledClock(plan.scale)
    with start_sandbox_thread(config, clock=clock) as sandbox:
        if scaled:
            command = [sys.executable, "-c", _SCALED_CLI, str(plan.scale)]
        else:
            command = [sys.executable, "-m", "importer"]
        command += ["run", str(source), "--mapping", str(MAPPING), "--out", str(out)]
        command += ["--base-url", sandbox.url, "--account-id", ACCOUNT, "--quiet", "--resume"]
        command += ["--concurrency", "16", "--rate", plan.importer_rate]
        sessions: list[tuple[int, float]] = []
        for fraction in plan.kill_at:
            sessions.append(session(command, sandbox, int(plan.rows * fraction), tmp_path / "log"))
        while len(sessions) < 8 and sessions[-1][0] not in (0, 1):
            sessions.append(session(command, sandbox, None, tmp_path / "log"))
        stats = sandbox.stats()
        sandbox.configure(rate_limit_per_minute=0)
        held = sandbox_candidates(sandbox.url)

    log = (tmp_path / "log").read_text()
    assert [code for code, _ in sessions[: len(plan.kill_at)]] == [-signal.SIGKILL] * len(
        plan.kill_at
    ), log
    assert sessions[-1][0] == 0, log
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        results = list(csv.DictReader(f))
    summary = json.loads((out / "summary.json").read_text())

    # Every input row has exactly one outcome, and every one of them is "created".
    assert [int(r["row_number"]) for r in results] == list(range(2, plan.rows + 2))
    assert Counter(r["status"] for r in results) == {"created": plan.rows}
    # Each created row's id is the id the sandbox holds for its e-mail, held once.
    assert stats["duplicate_emails"] == 0
    assert {email: ids for email, ids in held.items() if len(ids) > 1} == {}
    assert {r["key"]: r["id"] for r in results} == {email: ids[0] for email, ids in held.items()}
    # Nobody came back inside a Retry-After window, and every fault was met.
    assert stats["retry_after_violations"] == 0
    for status in ("201", "408", "429", "500", "502"):
        assert stats["requests_by_status"].get(status, 0) > 0, stats
    assert stats["dropped"] > 0
    notes = Counter(r["note"] for r in results)
    assert notes["resumed"] > 0

    figures = {
        "seed": plan.seed,
        "rows": plan.rows,
        "sessions_seconds": [round(seconds, 1) for _, seconds in sessions],
        "exit_codes": [code for code, _ in sessions],
        "total_seconds": round(sum(seconds for _, seconds in sessions), 1),
        "sandbox_requests_by_status": stats["requests_by_status"],
        "sandbox_posts": stats["posts"],
        "sandbox_gets": stats["gets"],
        "sandbox_dropped": stats["dropped"],
        "notes": {note or "-": n for note, n in sorted(notes.items())},
        "last_session": {
            key: summary[key]
            for key in ("requests_by_status", "retries", "duplicate_lookups", "waited_seconds")
        },
    }
    print("soak:", json.dumps(figures))
    return figures


def test_soak_killed_twice_and_resumed(tmp_path: Path) -> None:
    plan = Soak(
        rows=3000,
        scale=20.0,
        sandbox_rate=1000.0,
        importer_rate="1500",
        kill_at=(0.3, 0.65),
    )
    soak(tmp_path, plan, scaled=True)


@pytest.mark.slow
def test_soak_in_real_time(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("a long run: select it with -m slow")
    plan = Soak(
        rows=3000,
        scale=1.0,
        sandbox_rate=1000.0,
        importer_rate="1500",
        kill_at=(0.2, 0.5, 0.8),
    )
    soak(tmp_path, plan, scaled=False)
