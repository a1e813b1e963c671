"""Scenario: several importer processes on one API key, pacing alone or through Redis.

Four processes each import 500 rows into an account of their own, all with one key, into a
sandbox limited to 50 requests a second for that key (StackOne's limit is per key too). Each is
told the key's rate. Alone, each paces to the whole limit and they share it in 429s; through
``--pacer`` they pace as one. A third run kills one of the four with SIGKILL part-way: the
others must go on at the full rate (nothing held for the dead one), and ``--resume`` then
finishes its file with no candidate created twice.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import data
from bench.harness import MAPPING, PYTHON, WORK, SandboxServer, spread
from bench.scenarios import Goal, Section

PROCESSES, ROWS, LIMIT = 4, 500, 50
KEY = "bench-several"


@dataclass
class _Batch:
    wall: float  # first process started → last one exited
    summaries: list[dict[str, Any]]
    stats: dict[str, Any]
    after_kill_rate: float | None = None  # creates a second by the others once one was killed

    @property
    def created(self) -> int:
        return sum(int(s["by_status"]["created"]) for s in self.summaries)

    def status(self, status: str) -> int:
        return int(self.stats["requests_by_status"].get(status, 0))


def _command(csv: Path, url: str, account: str, out: Path, pacer: str | None) -> list[str]:
    command = [PYTHON, "-m", "importer", "run", str(csv), "--mapping", str(MAPPING)]
    command += ["--base-url", url, "--account-id", account, "--out", str(out), "--quiet"]
    command += ["--rate", str(LIMIT * 60)]
    return command + (["--pacer", pacer] if pacer else [])


def _batch(server: SandboxServer, name: str, pacer: str | None, kill: bool = False) -> _Batch:
    csv = data.candidates_csv(ROWS)
    env = {**os.environ, "STACKONE_API_KEY": KEY}
    env.pop("IMPORTER_PACER_URL", None)
    server.reset()
    outs = [WORK / "out" / f"{name}-{i}" for i in range(PROCESSES)]
    for out in outs:
        shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    children = [
        subprocess.Popen(
            _command(csv, server.url, f"account-{i}", out, pacer),
            env=env,
            stderr=subprocess.DEVNULL,
        )
        for i, out in enumerate(outs)
    ]
    after_kill_rate = None
    if kill:
        while server.stats()["candidates"] < PROCESSES * ROWS // 4:
            time.sleep(0.02)
        os.kill(children[0].pid, signal.SIGKILL)
        killed_at, held_then = time.monotonic(), server.stats()["candidates"]
        # the others' creates over the next ten seconds, while all three still have rows
        time.sleep(10)
        after_kill_rate = (server.stats()["candidates"] - held_then) / (
            time.monotonic() - killed_at
        )
    codes = [child.wait() for child in children]
    wall = time.monotonic() - started
    expected = [-signal.SIGKILL, 0, 0, 0] if kill else [0] * PROCESSES
    if codes != expected:
        raise RuntimeError(f"{name}: importers exited {codes}")
    if kill:
        resumed = subprocess.run(
            [*_command(csv, server.url, "account-0", outs[0], pacer), "--resume"], env=env
        )
        if resumed.returncode != 0:
            raise RuntimeError(f"{name}: --resume exited {resumed.returncode}")
    summaries = [json.loads((out / "summary.json").read_text()) for out in outs]
    return _Batch(wall, summaries, server.stats(), after_kill_rate)


def several_processes(runs: int, redis_url: str) -> Section:
    bound = PROCESSES * ROWS / LIMIT
    with SandboxServer("--rate", str(LIMIT * 60)) as server:
        alone = [_batch(server, f"several-alone-{i}", None) for i in range(runs)]
        shared = [_batch(server, f"several-shared-{i}", redis_url) for i in range(runs)]
        killed = _batch(server, "several-killed", redis_url, kill=True)
    table = [["processes", "wall", "import wall (slowest)", "created", "429s", "RA violations"]]
    for label, group in (
        ("4 pacing alone", alone),
        ("4 through `--pacer`", shared),
        ("4 through `--pacer`, one killed and resumed", [killed]),
    ):
        table.append(
            [
                label,
                spread([b.wall for b in group]).show("{:.1f} s"),
                spread(
                    [max(float(s["duration_seconds"]) for s in b.summaries) for b in group]
                ).show("{:.1f} s"),
                spread([b.created for b in group]).show("{:,.0f}"),
                spread([b.status("429") for b in group]).show("{:,.0f}"),
                spread([b.stats["retry_after_violations"] for b in group]).show("{:,.0f}"),
            ]
        )
    import_wall = spread(
        [max(float(s["duration_seconds"]) for s in b.summaries) for b in shared]
    ).median
    goals = [
        Goal(
            f"through --pacer: all {PROCESSES * ROWS:,} created, 0 Retry-After violations",
            f"{min(b.created for b in shared):,} created, "
            f"{max(b.stats['retry_after_violations'] for b in shared)} violations",
            all(b.created == PROCESSES * ROWS for b in shared)
            and all(b.stats["retry_after_violations"] == 0 for b in shared),
        ),
        Goal(
            f"through --pacer: wall ≤ 1.05 × {bound:.0f} s = {1.05 * bound:.1f} s",
            f"{import_wall:.1f} s = {import_wall / bound:.3f} × bound (slowest import)",
            import_wall <= 1.05 * bound,
        ),
        Goal(
            "one killed: the others go on at the full rate (≥ 95 % of the limit)",
            f"{killed.after_kill_rate or 0:.1f} creates/s in the 10 s after the kill",
            (killed.after_kill_rate or 0) >= 0.95 * LIMIT,
        ),
        Goal(
            "one killed: --resume finishes it, no candidate twice",
            f"{killed.created:,} created, {killed.stats['duplicate_emails']} duplicates",
            killed.created == PROCESSES * ROWS and killed.stats["duplicate_emails"] == 0,
        ),
    ]
    storm = spread([b.status("429") for b in alone]).median
    notes = [
        f"Pacing alone, each process is told the key's {LIMIT}/s and sends at it: the sandbox "
        f"answered {storm:,.0f} requests 429, and the processes sent "
        f"{spread([b.stats['retry_after_violations'] for b in alone]).median:,.0f} requests "
        "inside Retry-After windows another process had been given (each pauses only itself). "
        "The wall is about the same only because the sandbox enforces the limit; StackOne "
        "would see a client ignoring its Retry-After.",
        "*Wall* counts from the first process's start to the last one's exit, interpreter "
        "start-up of four Pythons on two cores included; *import wall* is the slowest "
        "summary.json duration (first row read to last answer).",
    ]
    return Section(
        "several-processes",
        "6. Several processes on one API key",
        f"{PROCESSES} importer processes at once, one key, each importing the same {ROWS} clean "
        f"rows into an account of its own, into the sandbox limited to {LIMIT} requests/s per "
        f"key (`--rate {LIMIT * 60}`); each told `--rate {LIMIT * 60}`. Bound: "
        f"{PROCESSES * ROWS:,} / {LIMIT} = {bound:.0f} s. Redis 7 on 127.0.0.1. "
        f"{runs} run{'s' if runs != 1 else ''} each, and one with a process killed (SIGKILL) "
        "once a quarter of the rows were created, then resumed.",
        table,
        goals,
        notes,
    )
