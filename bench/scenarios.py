"""The five scenarios: each runs its tools several times and returns a ``Section``."""

from __future__ import annotations

import json
import shutil
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import data
from bench.harness import (
    ACCOUNT,
    MAPPING,
    PYTHON,
    WORK,
    Measured,
    SandboxServer,
    Spread,
    run_measured,
    spread,
)
from bench.profile import Profile, profile

# Requests per minute large enough that the importer's pacer never holds a request back.
UNLIMITED_RATE = "1000000"


@dataclass
class Goal:
    text: str
    figure: str
    met: bool


@dataclass
class Section:
    """One scenario's part of RESULTS.md."""

    key: str
    title: str
    setup: str
    table: list[list[str]]
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profile: Profile | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class ImporterRun:
    measured: Measured
    summary: dict[str, Any]
    stats: dict[str, Any]
    server_cpu: float

    @property
    def duration(self) -> float:
        """The import itself (summary.json), without interpreter start-up."""
        return float(self.summary["duration_seconds"])

    @property
    def created(self) -> int:
        return int(self.summary["by_status"]["created"])

    def status_count(self, status: str) -> int:
        return int(self.stats["requests_by_status"].get(status, 0))


def importer_command(csv: Path, url: str, out: Path, rate: str, concurrency: int) -> list[str]:
    return [
        PYTHON,
        "-m",
        "importer",
        "run",
        str(csv),
        "--mapping",
        str(MAPPING),
        "--base-url",
        url,
        "--account-id",
        ACCOUNT,
        "--rate",
        rate,
        "--concurrency",
        str(concurrency),
        "--out",
        str(out),
        # a ledger of its own, emptied with the out folder: every run is a first import
        "--state",
        str(out / "ledger.sqlite"),
        "--quiet",
    ]


def run_importer(
    server: SandboxServer,
    csv: Path,
    *,
    rate: str,
    concurrency: int,
    name: str,
    accept: tuple[int, ...] = (0,),
) -> ImporterRun:
    out = WORK / "out" / name
    shutil.rmtree(out, ignore_errors=True)
    server.reset()
    before = server.cpu()
    measured = run_measured(
        importer_command(csv, server.url, out, rate, concurrency),
        env={"STACKONE_API_KEY": "bench"},
        name=name,
    )
    server_cpu = server.cpu() - before
    if measured.returncode not in accept:
        raise RuntimeError(f"{name}: importer exited {measured.returncode}: {measured.stderr}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return ImporterRun(measured, summary, server.stats(), server_cpu)


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _all(runs: Sequence[Any], figure: Callable[[Any], float]) -> Spread:
    return spread([figure(run) for run in runs])


# -- 2. latency hiding -----------------------------------------------------------------------


def latency(runs: int) -> Section:
    rows, concurrency, mean = 2000, 32, 0.2
    bound = concurrency / mean
    csv = data.candidates_csv(rows)
    with SandboxServer("--rate", "0", "--latency", str(mean), "--jitter", "0.5") as server:
        group = [
            run_importer(
                server, csv, rate=UNLIMITED_RATE, concurrency=concurrency, name=f"latency-{i}"
            )
            for i in range(runs)
        ]
    throughput = _all(group, lambda r: r.created / r.duration)
    table = [
        ["rows/s", "× bound", "import wall", "client CPU", "server CPU"],
        [
            throughput.show("{:,.1f}"),
            spread([value / bound for value in throughput.values]).show("{:.3f}"),
            _all(group, lambda r: r.duration).show("{:.2f} s"),
            _all(group, lambda r: r.measured.cpu_share).show("{:.0%}"),
            _all(group, lambda r: r.server_cpu / r.measured.wall).show("{:.0%}"),
        ],
    ]
    goals = [
        Goal(
            f"throughput ≥ 0.9 × {concurrency} / {mean} s = {0.9 * bound:.0f} rows/s",
            f"{throughput.median:,.1f} rows/s = {throughput.median / bound:.3f} × bound",
            throughput.median >= 0.9 * bound,
        )
    ]
    return Section(
        "latency",
        "2. Latency hiding",
        f"{rows:,} clean rows; sandbox latency {mean * 1000:.0f} ms ± 50 % (uniform), no rate "
        f"limit, no faults; importer `--concurrency {concurrency} --rate {UNLIMITED_RATE}` "
        f"(a rate that never binds). Bound: {concurrency} / {mean} s = {bound:.0f} rows/s. "
        f"CPU is the share of one core. {_runs(runs)}.",
        table,
        goals,
    )


# -- 3. client overhead ----------------------------------------------------------------------


def overhead(runs: int) -> Section:
    rows, concurrency = 20_000, 32
    csv = data.candidates_csv(rows)
    bodies = data.request_bodies(csv)
    bare: list[tuple[Measured, float]] = []
    ours: list[ImporterRun] = []
    unjournaled: list[tuple[Measured, float]] = []
    with SandboxServer("--rate", "0") as server:
        for i in range(runs):
            bare.append(
                _run_client(
                    server,
                    [PYTHON, "-m", "bench.peers.bare_aiohttp", bodies, "--base-url", server.url],
                    concurrency,
                    f"overhead-bare-{i}",
                )
            )
            ours.append(
                run_importer(
                    server,
                    csv,
                    rate=UNLIMITED_RATE,
                    concurrency=concurrency,
                    name=f"overhead-importer-{i}",
                )
            )
            out = WORK / "out" / f"overhead-nojournal-{i}"
            shutil.rmtree(out, ignore_errors=True)
            unjournaled.append(
                _run_client(
                    server,
                    [PYTHON, "-m", "bench.nojournal", csv, "--base-url", server.url, "--out", out],
                    concurrency,
                    f"overhead-nojournal-{i}",
                )
            )
    bare_rate = spread([rows / m.json()["seconds"] for m, _ in bare])
    our_rate = _all(ours, lambda r: r.created / r.duration)
    free_rate = spread([m.json()["rows_per_second"] for m, _ in unjournaled])
    ratios = spread([o / b for o, b in zip(our_rate.values, bare_rate.values, strict=True)])
    free_ratios = spread([o / b for o, b in zip(free_rate.values, bare_rate.values, strict=True)])

    def client_row(label: str, rate: Spread, group: list[tuple[Measured, float]]) -> list[str]:
        return [
            label,
            rate.show("{:,.0f}"),
            spread([m.cpu_share for m, _ in group]).show("{:.0%}"),
            spread([m.cpu / rows * 1e6 for m, _ in group]).show("{:,.0f} µs"),
            spread([s / m.wall for m, s in group]).show("{:.0%}"),
            spread([m.max_rss_mb for m, _ in group]).show("{:,.0f} MB"),
        ]

    table = [
        ["client", "rows/s", "client CPU", "client CPU per row", "server CPU", "peak RSS"],
        client_row("bare aiohttp loop (pre-built bodies)", bare_rate, bare),
        client_row(
            "importer (read, map, validate, send, record, journal)",
            our_rate,
            [(r.measured, r.server_cpu) for r in ours],
        ),
        client_row("importer without its journal (Python API)", free_rate, unjournaled),
    ]
    met = ratios.median >= 0.6
    journal_cost = statistics.median(r.measured.cpu / rows for r in ours) - statistics.median(
        m.cpu / rows for m, _ in unjournaled
    )
    section = Section(
        "overhead",
        "3. Client overhead",
        f"{rows:,} clean rows; sandbox without latency, rate limit or faults; every client at "
        f"concurrency {concurrency}, runs interleaved (bare, importer, importer without "
        "journal, bare, ...) against the same sandbox process, reset before each run. The bare "
        "loop posts the importer's own request bodies, serialised beforehand. Rates are rows "
        "over each tool's own sending time; CPU is the share of one core, and per row over "
        f"the whole process (start-up included). {_runs(runs)}.",
        table,
        [
            Goal(
                "importer rows/s ≥ 0.6 × bare aiohttp loop",
                f"{ratios.show('{:.2f}')} ×",
                met,
            )
        ],
    )
    bare_cost = statistics.median(m.cpu / rows for m, _ in bare)
    free_cost = statistics.median(m.cpu / rows for m, _ in unjournaled)
    section.notes.append(
        f"{'**Why:**' if not met else 'Where the time goes:'} the importer is bound by its "
        "own CPU: "
        f"{statistics.median(r.measured.cpu / rows for r in ours) * 1e6:,.0f} µs a row against "
        f"the bare loop's {bare_cost * 1e6:,.0f} µs (both with the same aiohttp requests). Of "
        f"the difference, the journal and the ledger (each row's key claimed and the row marked "
        f"`sending`, both committed before its request leaves, then `created` and `done`) is "
        f"{journal_cost * 1e6:,.0f} µs a row; everything else "
        f"(reading, mapping, validating, pacing, retries, recording, start-up) "
        f"{(free_cost - bare_cost) * 1e6:,.0f} µs. Without its journal the importer runs at "
        f"{free_ratios.show('{:.2f}')} × the bare loop. At StackOne's real limit (1,000 "
        "requests a minute, 17 a second) either is far below what one core can do."
    )
    if not met:
        # a fresh out folder: its ledger would otherwise skip every row as already imported
        shutil.rmtree(WORK / "out" / "overhead-profile", ignore_errors=True)
        section.profile = profile(
            importer_command(csv, "{url}", WORK / "out" / "overhead-profile", UNLIMITED_RATE, 32),
            name="overhead",
            what=f"one more importer run of this scenario ({rows:,} rows, concurrency 32)",
            sandbox=("--rate", "0"),
        )
    return section


def _run_client(
    server: SandboxServer, command: list[str | Path], concurrency: int, name: str
) -> tuple[Measured, float]:
    server.reset()
    before = server.cpu()
    measured = run_measured(
        [*command, "--concurrency", str(concurrency)],
        env={"STACKONE_API_KEY": "bench"},
        name=name,
    )
    if measured.returncode != 0:
        raise RuntimeError(f"{name} failed: {measured.stderr}")
    return measured, server.cpu() - before


# -- 4. dry run ---------------------------------------------------------------------------------


def _validate(path: Path, name: str, *flags: str) -> tuple[Measured, dict[str, Any]]:
    out = WORK / "out" / name
    shutil.rmtree(out, ignore_errors=True)
    measured = run_measured(
        [
            PYTHON,
            "-m",
            "importer",
            "validate",
            path,
            "--mapping",
            MAPPING,
            "--out",
            out,
            "--quiet",
            *flags,
        ],
        name=name,
    )
    if measured.returncode not in (0, 1):
        raise RuntimeError(f"{name}: exit {measured.returncode}: {measured.stderr}")
    return measured, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def naive_dry_run(name: str) -> Measured:
    """The naive pandas path once over the dry run's CSV."""
    csv = data.candidates_csv(1_000_000, dirty=True)
    out = WORK / "out" / name
    measured = run_measured(
        [PYTHON, "-m", "bench.peers.naive_pandas", csv, "--out", out], name=name
    )
    if measured.returncode != 0:
        raise RuntimeError(f"naive pandas path failed: {measured.stderr}")
    return measured


def add_naive(section: Section, naive: Sequence[Measured], alongside: str | None) -> None:
    """The naive path's row in the dry run's table, measured on its own or beside ``alongside``."""
    first = naive[0].json()
    section.table.append(
        [
            "naive: pandas read_csv → to_dict → pydantic",
            f"{first['rows']:,}",
            spread([m.json()["rows"] / m.wall for m in naive]).show("{:,.0f}"),
            spread([m.json()["rows"] / m.json()["seconds"] for m in naive]).show("{:,.0f}"),
            spread([m.max_rss_mb for m in naive]).show("{:,.0f} MB"),
            spread([m.cpu_share for m in naive]).show("{:.0%}"),
            f"{first['rejected']:,}",
        ]
    )
    when = f" It ran while {alongside} did (that scenario mostly waits)." if alongside else ""
    section.notes.insert(
        0,
        f"The naive path (bench/peers/naive_pandas.py): {_runs(len(naive))} of "
        f"{naive[0].wall:,.0f} s.{when}",
    )


def dry_run(runs: int) -> Section:
    csv = data.candidates_csv(1_000_000, dirty=True)
    xlsx = data.candidates_xlsx(100_000, dirty=True)
    csv_runs = [_validate(csv, f"dry-csv-{i}") for i in range(runs)]
    # One process, for comparison: what the worker processes add.
    single = [_validate(csv, "dry-csv-single", "--workers", "0")]
    xlsx_runs = [_validate(xlsx, f"dry-xlsx-{i}") for i in range(runs)]

    def row(label: str, group: list[tuple[Measured, dict[str, Any]]]) -> list[str]:
        rows = group[0][1]["rows"]
        return [
            label,
            f"{rows:,}",
            spread([rows / m.wall for m, _ in group]).show("{:,.0f}"),
            spread([s["rows_per_second"] for _, s in group]).show("{:,.0f}"),
            spread([m.tree_pss_mb for m, _ in group]).show("{:,.0f} MB"),
            spread([m.max_rss_mb for m, _ in group]).show("{:,.0f} MB"),
            spread([m.cpu_share for m, _ in group]).show("{:.0%}"),
            spread([m.cpu / rows * 1e6 for m, _ in group]).show("{:,.0f} µs"),
            f"{group[0][1]['by_status']['rejected']:,}",
        ]

    table = [
        [
            "path",
            "rows",
            "rows/s end to end",
            "rows/s in run",
            "peak memory (all processes)",
            "peak RSS (largest process)",
            "CPU",
            "CPU per row",
            "rejected",
        ],
        row("importer validate, CSV", csv_runs),
        row("importer validate --workers 0, CSV", single),
        row("importer validate, XLSX", xlsx_runs),
    ]
    csv_rate = spread([s["rows"] / m.wall for m, s in csv_runs])
    csv_memory = spread([m.tree_pss_mb for m, _ in csv_runs])
    xlsx_rate = spread([s["rows"] / m.wall for m, s in xlsx_runs])
    goals = [
        Goal(
            "CSV 1,000,000 rows: ≥ 50,000 rows/s end to end",
            f"{csv_rate.median:,.0f} rows/s",
            csv_rate.median >= 50_000,
        ),
        Goal(
            "CSV: peak RSS ≤ 200 MB",
            f"{max(csv_memory.values):,.0f} MB, all processes",
            max(csv_memory.values) <= 200,
        ),
        Goal(
            "XLSX 100,000 rows: ≥ 20,000 rows/s end to end",
            f"{xlsx_rate.median:,.0f} rows/s",
            xlsx_rate.median >= 20_000,
        ),
    ]
    one = single[0][1]["rows"] / single[0][0].wall
    section = Section(
        "dry-run",
        "4. Dry run: read, map, validate, write the reports",
        "`importer validate FILE --mapping mappings/default.yaml` on a generated 12-column "
        "candidate file (names, e-mails, phones in national and international forms with the "
        "country beside them, ISO and day-first dates, LinkedIn and website links; about 1 % "
        "of rows spoilt: bad e-mails, short phones, impossible dates, repeated e-mails), "
        "as CSV (1,000,000 rows, "
        f"{csv.stat().st_size / 1e6:,.0f} MB) and XLSX (100,000 rows, shared strings). The "
        "importer maps and validates in one worker process per core beyond the first, after "
        "the first 5,000 rows (`--workers 0`: all in one process). *End to end* is rows over "
        "the process's wall time; *in run* is summary.json's figure (without interpreter "
        "start-up). *Peak memory* is the largest sum, sampled every 50 ms, of the proportional "
        "set sizes (PSS) of the importer and its workers: pages the forked workers share with "
        "it count once. *Peak RSS* is the largest single process's (`wait4`). CPU is the share "
        f"of one core, all processes together. {_runs(runs)} each; `--workers 0` once.",
        table,
        goals,
    )
    section.notes.append(
        f"Worker processes: {csv_rate.median:,.0f} rows/s against {one:,.0f} in one process "
        f"({csv_rate.median / one:.2f} ×)."
    )
    if not all(goal.met for goal in goals):
        sample = data.candidates_csv(200_000, dirty=True)
        section.profile = profile(
            [
                PYTHON,
                "-m",
                "importer",
                "validate",
                str(sample),
                "--mapping",
                str(MAPPING),
                "--out",
                str(WORK / "out" / "dry-profile"),
                "--quiet",
            ],
            name="dry-run",
            what="`importer validate` and its workers on a 200,000-row file generated like the "
            "CSV above",
            subprocesses=True,
        )
        cpu_per_row = statistics.median(m.cpu / s["rows"] for m, s in csv_runs) * 1e6
        section.notes.append(_dry_run_costs(section.profile, csv_rate.median, cpu_per_row))
    if not goals[2].met:
        per_row = statistics.median(m.cpu / s["rows"] for m, s in xlsx_runs) * 1e6
        found = profile(
            [
                PYTHON,
                "-m",
                "importer",
                "validate",
                str(xlsx),
                "--mapping",
                str(MAPPING),
                "--out",
                str(WORK / "out" / "dry-xlsx-profile"),
                "--quiet",
            ],
            name="dry-run-xlsx",
            what="the XLSX run",
            subprocesses=True,
        )
        reading = found.share("open_sheet") + found.share("_calamine_rows")
        section.notes.append(
            f"**Why (XLSX):** at {xlsx_rate.median:,.0f} rows/s, a row costs {per_row:.0f} µs "
            f"of CPU in all processes. Profiled, reading the workbook (calamine loads the sheet, "
            f"then each cell becomes text) is {reading:.0%} of the samples "
            f"(≈ {reading * per_row:.0f} µs a row), and it happens in the main process."
        )
    return section


# (label, a function name the stage's frames contain), as the pipeline calls them
_DRY_RUN_STAGES = (
    ("reading rows (csv module, blank and ragged checks)", "_data_rows"),
    ("mapping: every rule of every column", "RowMapper._build"),
    ("· phone numbers to E.164", "phone_e164"),
    ("· e-mail syntax", "email_address"),
    ("· dates", "date_converter"),
    ("· web addresses", "web_address"),
    (
        "validating the body (pydantic, strict; skipped when the mapping proves it)",
        "model_validate",
    ),
    ("duplicate e-mails", "FirstRows.first"),
    ("writing results.csv and rejects.csv", "Recorder.record"),
)
# Frames of passing rows to the workers and their results back, on both sides.
_PASSING = ("_ConnectionBase.send", "_ConnectionBase.recv")


def _dry_run_costs(found: Profile, rate: float, cpu_per_row: float) -> str:
    """Why the dry run is as fast as it is: CPU µs per row by stage, from the profile's shares."""
    budget = 2 * 1e6 / 50_000
    lines = [
        f"**Why:** at {rate:,.0f} rows/s a row costs {cpu_per_row:.0f} µs of CPU in all "
        f"processes together; 50,000 rows/s on 2 cores leaves at most {budget:.0f} µs, with "
        "both cores busy all the time. The profile below (both processes), applied to that "
        "cost:",
        "",
        "| stage | share of samples | ≈ µs of CPU per row |",
        "|---|---:|---:|",
    ]
    worker = found.share("_serve")
    passing = sum(found.share(frame) for frame in _PASSING)
    stages = [
        ("the main process, all of it", 1 - worker),
        ("the worker process, all of it", worker),
        ("passing rows to the worker and results back (pickling, pipes; both sides)", passing),
    ]
    stages += [(label, found.share(frame)) for label, frame in _DRY_RUN_STAGES]
    for label, share in stages:
        lines.append(f"| {label} | {share:.0%} | {share * cpu_per_row:.1f} |")
    lines += [
        "",
        "The main process reads the rows, checks duplicates and writes the reports; the "
        "worker maps and validates, and whenever it already holds two chunks the main process "
        "maps the next chunk itself, so neither waits for the other. Every stage is Python code "
        "running per row over Python objects, and pure Python on these machines runs 4–5× "
        "slower than on a laptop (measured when the project began): two cores at this cost a "
        f"row bound the rate near {2e6 / cpu_per_row:,.0f} rows/s, and a third process would "
        "only share the same two cores.",
    ]
    return "\n".join(lines)


# -- 5. peers under faults -----------------------------------------------------------------------


@dataclass
class _PeerRun:
    label: str
    measured: Measured | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def peers(runs: int) -> Section:
    rows, limit = 2000, 50
    csv = data.candidates_csv(rows)
    expected = data.emails(csv)
    flags = ("--rate", str(limit * 60), "--p408", "0.05", "--p502", "0.02")
    common = ["--base-url", "{url}", "--api-key", "bench", "--account-id", ACCOUNT]
    tools: list[tuple[str, list[str]]] = [
        (
            "importer (`--rate 3000`, concurrency 10)",
            importer_command(csv, "{url}", WORK / "out" / "peers-importer", str(limit * 60), 10),
        ),
        (
            "(a) sequential requests + tenacity",
            [PYTHON, "-m", "bench.peers.requests_loop", str(csv), *common],
        ),
        (
            "(b) asyncio + per-request tenacity, concurrency 10",
            [PYTHON, "-m", "bench.peers.asyncio_loop", str(csv), *common],
        ),
    ]
    results: list[list[_PeerRun]] = [[] for _ in tools]
    for run in range(runs):
        threads = []
        for index, (label, template) in enumerate(tools):
            outcome = _PeerRun(label)
            results[index].append(outcome)
            seed = ("--seed", str(run + 1))
            thread = threading.Thread(
                target=_run_peer, args=(outcome, template, (*flags, *seed), f"peers-{index}-{run}")
            )
            threads.append(thread)
            thread.start()
        for thread in threads:
            thread.join()
    for group in results:
        for outcome in group:
            if outcome.error:
                raise RuntimeError(f"{outcome.label}: {outcome.error}")
    table = [
        [
            "client",
            "wall",
            "× bound",
            "requests sent",
            "429s",
            "RA violations",
            "rows lost",
            "rows duplicated",
            "client CPU",
        ]
    ]
    bound = rows / limit
    for group in results:
        table.append(
            [
                group[0].label,
                spread([o.seconds for o in group]).show("{:,.1f} s"),
                spread([o.seconds / bound for o in group]).show("{:.2f}"),
                spread([o.stats["posts"] for o in group]).show("{:,.0f}"),
                spread([o.stats["requests_by_status"].get("429", 0) for o in group]).show(
                    "{:,.0f}"
                ),
                spread([o.stats["retry_after_violations"] for o in group]).show("{:,.0f}"),
                spread([len(expected - set(o.stored)) for o in group]).show("{:,.0f}"),
                spread([o.stats["duplicate_emails"] for o in group]).show("{:,.0f}"),
                spread([o.measured.cpu_share if o.measured else 0 for o in group]).show("{:.0%}"),
            ]
        )
    section = Section(
        "peers",
        "5. Against what people write instead, under faults",
        f"The same {rows:,} clean rows into a sandbox limited to {limit} requests/s that "
        "answers 5 % of creates with 408 (Retry-After: 1) and 2 % with 502 (`--p408 0.05 "
        "--p502 0.02`), for the importer and two peers in bench/peers/: (a) a sequential "
        "`requests` loop with tenacity retries honouring Retry-After, (b) an asyncio/aiohttp "
        "loop with a semaphore and per-request tenacity retries, no shared pacer. The three run "
        "at the same time, each against its own sandbox process with the same settings and "
        "seed (all three spend nearly all their time waiting, so they barely compete for "
        f"the CPU). Bound: {rows:,} / {limit} = {bound:.0f} s. *Wall* is each tool's own "
        "figure for its sending (summary.json for the importer); requests and 429s are the "
        "sandbox's counts; rows lost are e-mails never stored, rows duplicated e-mails "
        f"stored twice. {_runs(runs)}.",
        table,
    )
    ours, parallel = results[0][0], results[2][0]
    timeouts = ours.summary["requests_by_status"].get("408", 0)
    section.notes.append(
        f"The importer got {timeouts} answers 408 with Retry-After: 1 and, as designed "
        "(StackOne answers 408 after retrying a provider's own throttling for 60 s, so a 408 "
        "means the provider is throttling the account), paused every "
        f"worker for each one; {timeouts} × 1 s of pauses on top of the {bound:.0f} s bound "
        f"is most of its {ours.seconds:.0f} s. The sequential peer waits the same seconds "
        "one request at a time. The asyncio peer, with no shared pacer, finishes in "
        f"{parallel.seconds:.0f} s by sending on while others wait: "
        f"{parallel.stats['requests_by_status'].get('429', 0)} answers 429 and "
        f"{parallel.stats['retry_after_violations']:,} requests inside a Retry-After window, "
        "which a real API may answer by blocking the key. The sandbox draws its 408s per "
        "request (one request's bad luck, no window for the key), so here the importer's "
        "pool-wide pause buys nothing."
    )
    return section


def _run_peer(outcome: _PeerRun, template: list[str], flags: Sequence[str], name: str) -> None:
    try:
        with SandboxServer(*flags) as server:
            command = [part.replace("{url}", server.url) for part in template]
            out = next((Path(p) for p in command if "peers-importer" in p), None)
            if out is not None:
                shutil.rmtree(out, ignore_errors=True)
            measured = run_measured(command, env={"STACKONE_API_KEY": "bench"}, name=name)
            outcome.measured = measured
            outcome.stats = server.stats()
            outcome.stored = server.stored_emails()
            if out is not None:
                outcome.summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
                outcome.seconds = float(outcome.summary["duration_seconds"])
            else:
                outcome.seconds = float(measured.json()["seconds"])
    except Exception as error:  # reported by the caller, in the main thread
        outcome.error = f"{type(error).__name__}: {error}"
