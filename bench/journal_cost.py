"""What the journal costs: rows/s of the same import with it, without it, and with the ledger.

Starts ``python -m importer.sandbox`` on 127.0.0.1 with the rate limit and faults off, then
imports the same clean file through the Python API (``ImportOptions(journal=False)`` for the
run without) in alternating order, resetting the sandbox before each run. Prints the median
rows/s and the importer's CPU per row of each variant; both processes share the machine.

    .venv/bin/python bench/journal_cost.py --rows 5000 --concurrency 16 --repeats 3
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.data import candidates_csv
from importer import ImportOptions, run_import

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {
    "no journal": {"journal": False},
    "journal": {},
    "journal + ledger": {"ledger": True},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    source = candidates_csv(args.rows)
    server = subprocess.Popen(
        [sys.executable, "-m", "importer.sandbox", "--port", "0", "--rate", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    work = Path(tempfile.mkdtemp(prefix="journal-cost-"))
    try:
        assert server.stderr is not None
        match = re.search(r"http://127\.0\.0\.1:\d+", server.stderr.readline())
        if match is None:
            print("the sandbox did not start", file=sys.stderr)
            return 1
        url = match.group(0)
        measured: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
        for repeat in range(args.repeats):
            order = list(VARIANTS) if repeat % 2 == 0 else list(reversed(VARIANTS))
            for name in order:
                out = work / f"{repeat}-{name.replace(' ', '_')}"
                measured[name].append(
                    import_once(source, out, url, args.concurrency, **VARIANTS[name])
                )
        print(f"{args.rows} rows, concurrency {args.concurrency}, medians of {args.repeats}:")
        base = statistics.median(rate for rate, _ in measured["no journal"])
        for name, runs in measured.items():
            rate = statistics.median(r for r, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            each = ", ".join(f"{r:,.0f}" for r, _ in runs)
            print(
                f"  {name:<18} {rate:7,.0f} rows/s ({rate / base - 1:+.1%})"
                f"  importer CPU {cpu * 1e6:5.0f} µs/row  [runs: {each}]"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def import_once(
    source: Path,
    out: Path,
    url: str,
    concurrency: int,
    *,
    journal: bool = True,
    ledger: bool = False,
) -> tuple[float, float]:
    """One import into a freshly reset sandbox: (rows/s, importer CPU seconds per row)."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/_sandbox/reset", method="POST")).close()
    options = ImportOptions(
        mapping=ROOT / "mappings" / "default.yaml",
        out_dir=out,
        base_url=url,
        api_key="bench",
        account_id="bench",
        concurrency=concurrency,
        rate=10_000_000.0,
        handle_signals=False,
        journal=journal,
        ledger=ledger,
        state=out.parent / f"{out.name}.ledger.sqlite",
    )
    cpu = time.process_time()
    summary = run_import(source, options)
    cpu = time.process_time() - cpu
    if summary.counts.created != summary.counts.rows:
        raise SystemExit(f"not every row was created: {summary.to_dict()['by_status']}")
    return summary.rows_per_second, cpu / summary.counts.rows


if __name__ == "__main__":
    sys.exit(main())
