"""Scenario: several importer processes on one API key, pacing alone or through Redis.

Four processes each import 500 rows into an account of their own, all with one key, into a
sandbox limited to 50 requests a second for that key (StackOne's limit is per key too). Each is
told the key's rate. Alone, each paces to the whole limit and they share it in 429s; through
``--pacer`` they pace as one. A third run kills one of the four with SIGKILL part-way: the
others must go on at the full rate (nothing held for the dead one), and ``--resume`` then
finishes its file with no candidate created twice.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import data
from bench.harness import AUDIT_KEY, MAPPING, PYTHON, WORK, SandboxServer, basic, spread
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
    # every batch imports the same rows into the same accounts again: no ledger to skip them
    command += ["--rate", str(LIMIT * 60), "--no-state"]
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
            if all(child.poll() is not None for child in children):
                raise RuntimeError(f"{name}: the importers ended before the kill")
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


# -- one account throttled by its provider -----------------------------------------------------

ACCOUNTS, PER_ACCOUNT, PROVIDER_PER_MINUTE = 4, 150, 300
THROTTLED = "account-0"


def _routed_csv() -> Path:
    """The clean rows with a Customer column, the accounts taking turns row by row."""
    path = WORK / f"routed-{ACCOUNTS}x{PER_ACCOUNT}.csv"
    if not path.exists():
        with data.candidates_csv(ACCOUNTS * PER_ACCOUNT).open(newline="", encoding="utf-8") as f:
            header, *rows = list(csv.reader(f))
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([*header, "Customer"])
            writer.writerows([*row, f"account-{i % ACCOUNTS}"] for i, row in enumerate(rows))
    return path


def _created(server: SandboxServer, account: str) -> list[datetime]:
    query = urllib.parse.urlencode({"page_size": 1000})
    headers = {"Authorization": basic(AUDIT_KEY), "x-account-id": account}
    url = f"{server.url}/unified/ats/candidates?{query}"
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        found = json.load(answer)["data"]
    return [datetime.fromisoformat(c["created_at"].replace("Z", "+00:00")) for c in found]


def _routed_run(server: SandboxServer, name: str) -> tuple[float, float, dict[str, Any]]:
    """One import of the routed file: seconds until the other accounts' last row was created
    and until the throttled one's, counted from the first creation; and the sandbox's stats."""
    out = WORK / "out" / name
    shutil.rmtree(out, ignore_errors=True)
    server.reset()
    command = _command(_routed_csv(), server.url, "unused", out, None)
    command = [c for c in command if c not in ("--account-id", "unused")]
    command += ["--account-column", "Customer"]
    env = {**os.environ, "STACKONE_API_KEY": KEY}
    env.pop("IMPORTER_PACER_URL", None)
    result = subprocess.run(command, env=env, stderr=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"{name}: the importer exited {result.returncode}")
    created = {f"account-{i}": _created(server, f"account-{i}") for i in range(ACCOUNTS)}
    for account, times in created.items():
        if len(times) != PER_ACCOUNT:
            held = f"{account} holds {len(times)} candidates, not {PER_ACCOUNT}"
            raise RuntimeError(f"{name}: {held}")
    first = min(min(times) for times in created.values())
    finished = {account: (max(times) - first).total_seconds() for account, times in created.items()}
    others = max(t for account, t in finished.items() if account != THROTTLED)
    return others, finished[THROTTLED], server.stats()


def one_account_throttled(runs: int) -> Section:
    limit_flags = ("--rate", str(LIMIT * 60))
    provider = ("--provider-rate", str(PROVIDER_PER_MINUTE), "--provider-delay", "1")
    provider += ("--provider-account", THROTTLED)
    with SandboxServer(*limit_flags) as server:
        free = [_routed_run(server, f"accounts-free-{i}") for i in range(runs)]
    with SandboxServer(*limit_flags, *provider) as server:
        throttled = [_routed_run(server, f"accounts-throttled-{i}") for i in range(runs)]
    table = [["provider of account-0", "others done", "account-0 done", "408s", "RA violations"]]
    for label, group in (("no limit", free), (f"{PROVIDER_PER_MINUTE}/min", throttled)):
        table.append(
            [
                label,
                spread([r[0] for r in group]).show("{:.1f} s"),
                spread([r[1] for r in group]).show("{:.1f} s"),
                spread([r[2]["requests_by_status"].get("408", 0) for r in group]).show("{:,.0f}"),
                spread([r[2]["retry_after_violations"] for r in group]).show("{:,.0f}"),
            ]
        )
    base = spread([r[0] for r in free]).median
    slowed = spread([r[0] for r in throttled]).median
    goals = [
        Goal(
            "one account throttled by its provider slows the others by ≤ 10 %",
            f"others done in {slowed:.1f} s against {base:.1f} s unthrottled "
            f"({slowed / base - 1:+.0%})",
            slowed <= 1.10 * base,
        ),
        Goal(
            "throttled: 0 Retry-After violations",
            f"{max(r[2]['retry_after_violations'] for r in throttled)} in the worst run",
            all(r[2]["retry_after_violations"] == 0 for r in throttled),
        ),
    ]
    return Section(
        "one-account-throttled",
        "7. One account throttled by its provider",
        f"One file of {ACCOUNTS * PER_ACCOUNT} clean rows for {ACCOUNTS} accounts taking turns "
        "row by row (`--account-column Customer`), one importer told `--rate "
        f"{LIMIT * 60}`, into the sandbox limited to {LIMIT} requests/s per key; then the same "
        f"with {THROTTLED}'s provider limited to {PROVIDER_PER_MINUTE} creates a minute "
        "(`--provider-rate`, answered 408 after 1 s, `--provider-account`). *Done* is the "
        "last candidate's creation time in the sandbox, from the first one's. "
        f"{runs} run{'s' if runs != 1 else ''} each.",
        table,
        goals,
        [
            f"Unthrottled, the {ACCOUNTS * PER_ACCOUNT} rows share the key's {LIMIT}/s; "
            f"throttled, {THROTTLED}'s 408s pause and slow its rows only, its slots go to the "
            "others, which therefore finish sooner rather than later."
        ],
    )
