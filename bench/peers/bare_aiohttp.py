"""The floor for client overhead: aiohttp posting pre-built JSON bodies, and nothing else.

python -m bench.peers.bare_aiohttp BODIES.jsonl --base-url URL --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

import aiohttp


async def run(args: argparse.Namespace, bodies: list[bytes]) -> dict[str, object]:
    url = f"{args.base_url}/unified/ats/candidates"
    headers = {
        "Authorization": aiohttp.encode_basic_auth(args.api_key),
        "x-account-id": args.account_id,
        "Content-Type": "application/json",
    }
    statuses: Counter[int] = Counter()
    pending = iter(bodies)

    async def worker(session: aiohttp.ClientSession) -> None:
        for body in pending:  # one shared iterator: every body is posted once
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
    seconds = time.perf_counter() - started
    return {"rows": len(bodies), "seconds": seconds, "statuses": dict(statuses)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bodies")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default="bench")
    parser.add_argument("--account-id", default="bench")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with open(args.bodies, "rb") as f:
        bodies = f.read().splitlines()
    print(json.dumps(asyncio.run(run(args, bodies))))


if __name__ == "__main__":
    main()
