"""Run the benchmarks behind the README's table of goals and write bench/RESULTS.md.

    .venv/bin/python -m bench                    every scenario (about 30 minutes)
    .venv/bin/python -m bench pacing dry-run     some of them (written to bench/work/RESULTS.md)
    .venv/bin/python -m bench pacing-all         the pacing scenarios, about 20 minutes
                                                 (written to bench/RESULTS-pacing.md)
    .venv/bin/python bench/run.py --runs 1       the same, one run each

Scenarios: pacing, headroom, faults, provider (the pacing ones; ``pacing-all`` runs the four),
latency, overhead, dry-run, peers, several-processes (which starts a redis-server of its own on
a free port of 127.0.0.1), one-account-throttled. Inputs are generated into bench/work/
(git-ignored) on first use and reused; the sandbox runs on 127.0.0.1 in its own process.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.scenarios import Section

BENCH = Path(__file__).resolve().parent
# A name for the pacing scenarios together, which are wall-clock bound and run on their own.
PACING_ALL = "pacing-all"
# Runs per scenario: fewer of the slow ones (a million-row dry run takes about a minute; the
# peers wait out every 408 and take minutes; pacing runs against four limiters).
RUNS = {
    "pacing": 2,
    "headroom": 1,
    "faults": 2,
    "provider": 2,
    "latency": 3,
    "overhead": 3,
    "dry-run": 2,
    "peers": 1,
    "several-processes": 1,
    "one-account-throttled": 1,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help=", ".join([*RUNS, PACING_ALL])
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="runs of every scenario (default: 3; pacing, faults, provider, dry-run 2; "
        "headroom, peers 1)",
    )
    parser.add_argument(
        "--out", type=Path, help="where to write the results (default: bench/RESULTS.md)"
    )
    args = parser.parse_args(argv)
    from bench.pacing import PACING_SCENARIOS

    names = [
        chosen
        for name in args.scenarios
        for chosen in (PACING_SCENARIOS if name == PACING_ALL else [name])
    ]
    unknown = [name for name in names if name not in RUNS]
    if unknown:
        choices = ", ".join([*RUNS, PACING_ALL])
        parser.error(f"unknown scenario {', '.join(unknown)}: choose from {choices}")
    chosen = names or list(RUNS)
    every = chosen == list(RUNS)
    if every:
        default_out = BENCH / "RESULTS.md"
    elif tuple(chosen) == tuple(PACING_SCENARIOS):
        default_out = BENCH / "RESULTS-pacing.md"
    else:
        default_out = BENCH / "work" / "RESULTS.md"
    out = args.out or default_out

    from bench import pacing, scenarios
    from bench.harness import Measured, machine
    from bench.results import render

    where = machine()
    started = time.perf_counter()
    sections = []
    dry: Section | None = None
    for name in chosen:
        runs = args.runs or RUNS[name]
        print(f"bench: {name} ({runs} run{'s' if runs > 1 else ''})...", file=sys.stderr)
        began = time.perf_counter()
        if name in PACING_SCENARIOS:
            section = getattr(pacing, name)(runs)
        elif name == "latency":
            section = scenarios.latency(runs)
        elif name == "overhead":
            section = scenarios.overhead(runs)
        elif name == "several-processes":
            section = _several_processes(runs)
        elif name == "one-account-throttled":
            from bench.several import one_account_throttled

            section = one_account_throttled(runs)
        elif name == "dry-run":
            section = dry = scenarios.dry_run(runs)
            if "peers" not in chosen:
                scenarios.add_naive(dry, [scenarios.naive_dry_run("dry-naive")], None)
        else:
            # The peers spend their minutes waiting out Retry-After: the naive dry run, which
            # needs one core for as long, runs meanwhile so that the whole stays near 10 minutes.
            naive: list[Measured] = []
            beside = threading.Thread(
                target=lambda found: found.append(scenarios.naive_dry_run("dry-naive")),
                args=(naive,),
            )
            if dry is not None:
                beside.start()
            section = scenarios.peers(runs)
            if dry is not None:
                beside.join()
                if not naive:
                    raise RuntimeError("the naive dry run failed: see bench/work/dry-naive.*")
                scenarios.add_naive(dry, naive, "scenario 5")
        section.seconds = time.perf_counter() - began
        sections.append(section)
        for goal in section.goals:
            verdict = "met" if goal.met else "NOT MET"
            print(f"  {verdict}: {goal.text}: {goal.figure}", file=sys.stderr)
        print(f"  ({section.seconds:.0f} s)", file=sys.stderr)
    command = "python -m bench" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    minutes = (time.perf_counter() - started) / 60
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(sections, where, command, minutes), encoding="utf-8")
    print(f"bench: wrote {out} ({minutes:.1f} min)", file=sys.stderr)
    return 0


def _several_processes(runs: int) -> Section:
    import tempfile

    from bench.several import several_processes
    from tests.servers import redis_server

    with tempfile.TemporaryDirectory() as folder, redis_server(Path(folder)) as url:
        return several_processes(runs, url)


if __name__ == "__main__":
    # Run as a file (python bench/run.py): make the repository root importable as `bench`.
    sys.path.insert(0, str(BENCH.parent))
    sys.exit(main())
