"""Peer (b): asyncio + aiohttp with a semaphore and per-request tenacity retries; no shared pacer.

python -m bench.peers.asyncio_loop FILE.csv --base-url URL --api-key KEY --account-id ID
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import time

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from bench.peers.rows import candidate_body


class Retryable(Exception):
    def __init__(self, status: int, retry_after: str | None) -> None:
        super().__init__(f"HTTP {status}")
        self.retry_after = retry_after


backoff = wait_exponential(multiplier=0.5, max=30)


def wait_retry_after(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, Retryable) and error.retry_after and error.retry_after.isdigit():
        return float(error.retry_after)
    return backoff(state)


async def create(session: aiohttp.ClientSession, url: str, body: dict[str, object]) -> int:
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((Retryable, aiohttp.ClientConnectionError)),
        wait=wait_retry_after,
        stop=stop_after_attempt(8),
        reraise=True,
    ):
        with attempt:
            async with session.post(url, json=body) as response:
                await response.read()
                if response.status in (408, 429) or response.status >= 500:
                    raise Retryable(response.status, response.headers.get("Retry-After"))
                return response.status
    raise AssertionError("unreachable: tenacity re-raises the last error")


async def run(args: argparse.Namespace, rows: list[dict[str, str]]) -> dict[str, float]:
    url = f"{args.base_url}/unified/ats/candidates"
    semaphore = asyncio.Semaphore(args.concurrency)
    headers = {
        "Authorization": aiohttp.encode_basic_auth(args.api_key),
        "x-account-id": args.account_id,
    }
    counts = {"created": 0, "failed": 0}

    async def one(session: aiohttp.ClientSession, row: dict[str, str]) -> None:
        async with semaphore:
            try:
                status = await create(session, url, candidate_body(row))
            except (Retryable, aiohttp.ClientError):
                counts["failed"] += 1
                return
            counts["created" if status == 201 else "failed"] += 1

    started = time.perf_counter()
    async with aiohttp.ClientSession(headers=headers) as session:
        await asyncio.gather(*(one(session, row) for row in rows))
    return {**counts, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--account-id", required=True)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with open(args.csv, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    print(json.dumps(asyncio.run(run(args, rows))))


if __name__ == "__main__":
    main()
