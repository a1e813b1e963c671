"""Start-up time and requests/s of the standalone sandbox under a plain aiohttp client loop.

Starts ``python -m importer.sandbox`` on 127.0.0.1 (rate limit and faults off unless
``--server-args`` says otherwise), drives ``POST /unified/ats/candidates`` from ``--concurrency``
workers reusing one pre-built JSON body, and stops the server. Both processes share the
machine, so the client's and the server's CPU are printed beside the rate.

    .venv/bin/python bench/sandbox_throughput.py --concurrency 32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import orjson

BODY = orjson.dumps(
    {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone_numbers": [{"type": "mobile", "phone": "+447700112233"}],
        "company": "Analytical Engines",
        "title": "Programmer",
        "hired_at": "2021-01-01T01:01:01.000Z",
        "country": "GB",
    }
)
HEADERS = {
    "Authorization": aiohttp.encode_basic_auth("bench"),
    "x-account-id": "bench",
    "Content-Type": "application/json",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--server-args", default="--rate 0", help="extra sandbox flags")
    args = parser.parse_args()

    command = [sys.executable, "-m", "importer.sandbox", "--port", "0"]
    command += shlex.split(args.server_args)
    started = time.perf_counter()
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
        listening = time.perf_counter() - started
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        if match is None:
            print(f"the sandbox did not start: {banner}{server.stderr.read()}", file=sys.stderr)
            return 1
        url = match.group(0)
        first_answer = asyncio.run(wait_for_answer(url)) - started
        print(f"start-up: banner after {listening:.3f} s, first 201 after {first_answer:.3f} s")
        asyncio.run(load(url, server.pid, args.concurrency, args.warmup, args.seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    return 0


async def wait_for_answer(url: str) -> float:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/unified/ats/candidates", data=BODY, headers=HEADERS) as response,
    ):
        if response.status != 201:
            raise SystemExit(f"first request answered {response.status}: {await response.text()}")
    return time.perf_counter()


async def load(url: str, pid: int, concurrency: int, warmup: float, seconds: float) -> None:
    statuses: Counter[int] = Counter()
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds
    target = f"{url}/unified/ats/candidates"

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < stop_at:
            async with session.post(target, data=BODY, headers=HEADERS) as response:
                await response.read()
                if measuring:
                    statuses[response.status] += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        wall, client_cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_of(pid)
        await asyncio.gather(*workers)
        wall = time.perf_counter() - wall
        client_cpu = time.process_time() - client_cpu
        server_cpu = cpu_of(pid) - server_cpu
    total = sum(statuses.values())
    print(
        f"concurrency {concurrency}: {total} requests in {wall:.1f} s = {total / wall:,.0f} req/s;"
        f" statuses {dict(statuses)}; CPU client {client_cpu / wall:.0%},"
        f" server {server_cpu / wall:.0%} (of one core; {os.cpu_count()} cores)"
    )


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
