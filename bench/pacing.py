"""The pacing scenarios: against each kind of rate limiter, under faults, behind a provider limit.

Each is wall-clock bound (the importer spends its time waiting for its pacer), so on a shared
machine the figures stay meaningful while the CPU is busy with other work; the load average is
recorded beside them all the same.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from bench import data
from bench.harness import SandboxServer, spread
from bench.scenarios import Goal, ImporterRun, Section, run_importer
from importer.sandbox.limits import LIMITERS

# The importer's headroom under a told rate: the headroom scenario tells it the rate that puts
# its pace a chosen share under the limit.
from importer.send.pacer import HEADROOM

ROWS, LIMIT = 1000, 50


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _lost(server: SandboxServer, csv: Path) -> int:
    return len(data.emails(csv) - {email.lower() for email in server.stored_emails()})


# -- 1. pacing against each limiter -------------------------------------------------------------


def pacing(runs: int) -> Section:
    bound = ROWS / LIMIT
    csv = data.candidates_csv(ROWS)
    told_rate = str(LIMIT * 60)
    table = [
        [
            "limiter",
            "importer",
            "import wall",
            "× bound",
            "requests",
            "429s",
            "RA violations",
            "load",
        ]
    ]
    goals: list[Goal] = []
    for limiter in LIMITERS:
        groups: dict[str, list[ImporterRun]] = {"told": [], "auto": [], "auto, HTTP-date": []}
        loads: dict[str, list[str]] = {label: [] for label in groups}
        with SandboxServer("--rate", told_rate, "--limiter", limiter) as server:
            for i in range(runs):
                for label, rate in (("told", told_rate), ("auto", "auto")):
                    loads[label].append(_load())
                    groups[label].append(
                        run_importer(
                            server,
                            csv,
                            rate=rate,
                            concurrency=10,
                            name=f"pacing-{limiter}-{label}-{i}",
                        )
                    )
        with SandboxServer(
            "--rate", told_rate, "--limiter", limiter, "--retry-after-date"
        ) as server:
            for i in range(runs):
                loads["auto, HTTP-date"].append(_load())
                groups["auto, HTTP-date"].append(
                    run_importer(
                        server, csv, rate="auto", concurrency=10, name=f"pacing-{limiter}-d-{i}"
                    )
                )
        for label, group in groups.items():
            walls = spread([r.duration for r in group])
            table.append(
                [
                    limiter,
                    f"--rate {told_rate}" if label == "told" else f"--rate {label}",
                    walls.show("{:.2f} s"),
                    spread([r.duration / bound for r in group]).show("{:.3f}"),
                    spread([r.stats["posts"] for r in group]).show("{:,.0f}"),
                    spread([r.status_count("429") for r in group]).show("{:,.0f}"),
                    spread([r.stats["retry_after_violations"] for r in group]).show("{:,.0f}"),
                    " / ".join(loads[label]),
                ]
            )
        told, auto = groups["told"], groups["auto"] + groups["auto, HTTP-date"]
        told_wall = spread([r.duration for r in told])
        told_429 = max(r.status_count("429") / max(1, r.stats["posts"]) for r in told)
        auto_wall = spread([r.duration for r in groups["auto"]])
        dated_wall = spread([r.duration for r in groups["auto, HTTP-date"]])
        violations = max(r.stats["retry_after_violations"] for r in told + auto)
        goals += [
            Goal(
                f"{limiter}, told: wall ≤ 1.03 × {bound:.0f} s",
                f"{told_wall.median:.2f} s = {told_wall.median / bound:.3f} × bound",
                told_wall.median <= 1.03 * bound,
            ),
            Goal(
                f"{limiter}, told: ≤ 1 % of requests answered 429",
                f"{told_429:.1%} in the worst run",
                told_429 <= 0.01,
            ),
            Goal(
                f"{limiter}, auto: wall ≤ 1.10 × {bound:.0f} s",
                f"{auto_wall.median:.2f} s = {auto_wall.median / bound:.3f} × bound",
                auto_wall.median <= 1.10 * bound,
            ),
            Goal(
                f"{limiter}, auto, Retry-After as an HTTP-date: wall ≤ 1.10 × {bound:.0f} s",
                f"{dated_wall.median:.2f} s = {dated_wall.median / bound:.3f} × bound",
                dated_wall.median <= 1.10 * bound,
            ),
            Goal(
                f"{limiter}: zero Retry-After violations, told and auto, seconds and HTTP-date",
                f"{violations} in the worst run",
                violations == 0,
            ),
        ]
    return Section(
        "pacing",
        "1. Pacing against each kind of rate limiter",
        f"{ROWS:,} clean rows into the sandbox limited to {LIMIT} requests/s (`--rate "
        f"{told_rate}`, one second's worth back to back) counted by each of its limiters "
        "(`--limiter`: a token bucket, fixed 1 s windows, a sliding 1 s log, GCRA), no latency, "
        f"no faults; importer at its default concurrency 10, told the limit (`--rate "
        f"{told_rate}`, which it paces {HEADROOM:.0%} under) or not (`--rate auto`); once more "
        "with `auto` against a sandbox answering Retry-After as an HTTP date "
        "(`--retry-after-date`: whole seconds, the fraction dropped, so the client waits to the "
        f"end of the second named). Bound: {ROWS:,} / {LIMIT} = {bound:.0f} s. *Import wall* is "
        f"summary.json's duration. {_runs(runs)} each; *load* is the 1-minute load average "
        "before each run (2 cores).",
        table,
        goals,
    )


# -- how far under a told rate to pace ------------------------------------------------------------


def headroom(runs: int) -> Section:
    bound = ROWS / LIMIT
    csv = data.candidates_csv(ROWS)
    under = (0.0, 0.01, 0.02, 0.03)
    table = [["limiter", "paced under the limit", "429s", "import wall", "× bound", "load"]]
    for limiter in ("fixed", "sliding"):
        with SandboxServer("--rate", str(LIMIT * 60), "--limiter", limiter) as server:
            for share in under:
                # the importer paces HEADROOM under what it is told: tell it the rate that puts
                # its pace this share under the limit
                told = LIMIT * 60 * (1 - share) / (1 - HEADROOM)
                group, loads = [], []
                for i in range(runs):
                    loads.append(_load())
                    group.append(
                        run_importer(
                            server,
                            csv,
                            rate=f"{told:.3f}",
                            concurrency=10,
                            name=f"headroom-{limiter}-{share}-{i}",
                        )
                    )
                table.append(
                    [
                        limiter,
                        f"{share:.0%}",
                        spread([r.status_count("429") for r in group]).show("{:,.0f}"),
                        spread([r.duration for r in group]).show("{:.2f} s"),
                        spread([r.duration / bound for r in group]).show("{:.3f}"),
                        " / ".join(loads),
                    ]
                )
    return Section(
        "headroom",
        "1b. How far under a told rate to pace",
        f"As scenario 1, against the two limiters that count in windows (a token bucket or GCRA "
        "absorbs a late request in its burst), with the importer told a rate that puts its pace "
        f"0–3 % under the limit. {_runs(runs)} each. The importer paces {HEADROOM:.0%} under a "
        "told rate.",
        table,
    )


# -- 5b. faults, against a bucket and fixed windows -----------------------------------------------


FAULT_ROWS, FAULT_LIMIT = 600, 20


def faults(runs: int) -> Section:
    bound = FAULT_ROWS / FAULT_LIMIT
    csv = data.candidates_csv(FAULT_ROWS)
    rate = str(FAULT_LIMIT * 60)
    table = [
        [
            "limiter",
            "import wall",
            "408s",
            "bound + 408 pauses",
            "× that",
            "429s",
            "RA violations",
            "lost",
            "duplicated",
        ]
    ]
    goals = []
    for limiter in ("bucket", "fixed"):
        flags = ("--rate", rate, "--limiter", limiter, "--p408", "0.05", "--p502", "0.03")
        group: list[ImporterRun] = []
        lost: list[int] = []
        for i in range(runs):
            with SandboxServer(*flags, "--seed", str(i + 1)) as server:
                run = run_importer(
                    server,
                    csv,
                    rate=rate,
                    concurrency=10,
                    name=f"faults-{limiter}-{i}",
                    accept=(0, 1),
                )
                group.append(run)
                lost.append(_lost(server, csv))
        # each 408 announced Retry-After: 1, and the importer pauses every worker for it
        allowed = [bound + r.status_count("408") * 1.0 for r in group]
        ratios = [r.duration / a for r, a in zip(group, allowed, strict=True)]
        duplicated = [int(r.stats["duplicate_emails"]) for r in group]
        violations = [int(r.stats["retry_after_violations"]) for r in group]
        table.append(
            [
                limiter,
                spread([r.duration for r in group]).show("{:.1f} s"),
                spread([r.status_count("408") for r in group]).show("{:,.0f}"),
                spread(allowed).show("{:.0f} s"),
                spread(ratios).show("{:.3f}"),
                spread([r.status_count("429") for r in group]).show("{:,.0f}"),
                spread(violations).show("{:,.0f}"),
                spread(lost).show("{:,.0f}"),
                spread(duplicated).show("{:,.0f}"),
            ]
        )
        goals += [
            Goal(
                f"{limiter}: wall ≤ 1.15 × (rate bound + the 408s' Retry-After pauses)",
                f"{max(ratios):.3f} × in the worst run",
                max(ratios) <= 1.15,
            ),
            Goal(
                f"{limiter}: 0 lost, 0 duplicated, 0 Retry-After violations",
                f"{max(lost)} lost, {max(duplicated)} duplicated, {max(violations)} violations",
                max(lost) == max(duplicated) == max(violations) == 0,
            ),
        ]
    return Section(
        "faults",
        "5b. Under faults, against a bucket and fixed windows",
        f"{FAULT_ROWS} clean rows into the sandbox limited to {FAULT_LIMIT} requests/s, answering "
        "5 % of creates 408 (Retry-After: 1) and 3 % 502 (`--p408 0.05 --p502 0.03`), counted "
        f"by a token bucket or in fixed windows; importer `--rate {rate}`. Each 408 pauses every "
        f"worker for its second, so the bound is {bound:.0f} s plus one second per 408. "
        f"{_runs(runs)} each, seeds 1–{runs}; lost and duplicated are e-mails never stored or "
        "stored twice.",
        table,
        goals,
    )


# -- 6. a provider over its own limit -------------------------------------------------------------


PROVIDER_LIMIT = 20


def provider(runs: int) -> Section:
    rows = 600
    bound = rows / PROVIDER_LIMIT
    csv = data.candidates_csv(rows)
    flags = (
        "--rate",
        str(LIMIT * 60),
        "--provider-rate",
        str(PROVIDER_LIMIT * 60),
        "--provider-delay",
        "1",
    )
    table = [
        [
            "importer",
            "import wall",
            "× bound",
            "408s",
            "429s",
            "RA violations",
            "rejected",
            "lost",
            "duplicated",
        ]
    ]
    goals = []
    for label, rate in (("told the key's limit", str(LIMIT * 60)), ("auto", "auto")):
        group: list[ImporterRun] = []
        lost: list[int] = []
        with SandboxServer(*flags) as server:
            for i in range(runs):
                group.append(
                    run_importer(
                        server,
                        csv,
                        rate=rate,
                        concurrency=10,
                        name=f"provider-{rate}-{i}",
                        accept=(0, 1),
                    )
                )
                lost.append(_lost(server, csv))
        duplicated = [int(r.stats["duplicate_emails"]) for r in group]
        violations = [int(r.stats["retry_after_violations"]) for r in group]
        table.append(
            [
                f"--rate {rate} ({label})",
                spread([r.duration for r in group]).show("{:.1f} s"),
                spread([r.duration / bound for r in group]).show("{:.2f}"),
                spread([r.status_count("408") for r in group]).show("{:,.0f}"),
                spread([r.status_count("429") for r in group]).show("{:,.0f}"),
                spread(violations).show("{:,.0f}"),
                spread([r.summary["by_status"]["rejected"] for r in group]).show("{:,.0f}"),
                spread(lost).show("{:,.0f}"),
                spread(duplicated).show("{:,.0f}"),
            ]
        )
        goals.append(
            Goal(
                f"{label}: 0 lost, 0 duplicated, 0 Retry-After violations",
                f"{max(lost)} lost, {max(duplicated)} duplicated, {max(violations)} violations",
                max(lost) == max(duplicated) == max(violations) == 0,
            )
        )
    notes = [
        "Lost counts e-mails never stored; a row the importer gave up on (`retries-exhausted`, "
        "in *rejected*) is in rejects.csv to import again, so it is not lost to the user, but it "
        "is counted here all the same."
    ]
    return Section(
        "provider",
        "6. A provider over its own limit (408s in bursts)",
        f"{rows} clean rows into the sandbox limited to {LIMIT} requests/s for the key, in front "
        f"of a provider that takes {PROVIDER_LIMIT} creates/s for the account: a create over it "
        "is answered 408 one second later (`--provider-rate "
        f"{PROVIDER_LIMIT * 60} --provider-delay 1`), with a Retry-After until the provider has "
        "room. The importer paces each account on its own: a 408 pauses that account's rows, "
        "and with `--rate auto` also lowers that account's rate. Bound: "
        f"{rows} / {PROVIDER_LIMIT} = {bound:.0f} s. {_runs(runs)} each.",
        table,
        goals,
        notes,
    )


PACING_SCENARIOS: Sequence[str] = ("pacing", "headroom", "faults", "provider")
