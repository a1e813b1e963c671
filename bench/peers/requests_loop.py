"""Peer (a): a sequential loop with requests and tenacity, honouring Retry-After per request.

python -m bench.peers.requests_loop FILE.csv --base-url URL --api-key KEY --account-id ID
"""

from __future__ import annotations

import argparse
import csv
import json
import time

import requests
from tenacity import (
    RetryCallState,
    retry,
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


@retry(
    retry=retry_if_exception_type((Retryable, requests.ConnectionError)),
    wait=wait_retry_after,
    stop=stop_after_attempt(8),
    reraise=True,
)
def create(session: requests.Session, url: str, body: dict[str, object]) -> int:
    response = session.post(url, json=body, timeout=60)
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise Retryable(response.status_code, response.headers.get("Retry-After"))
    return response.status_code


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--account-id", required=True)
    args = parser.parse_args()

    url = f"{args.base_url}/unified/ats/candidates"
    created = failed = 0
    started = time.perf_counter()
    with requests.Session() as session, open(args.csv, newline="", encoding="utf-8") as f:
        session.auth = (args.api_key, "")
        session.headers["x-account-id"] = args.account_id
        for row in csv.DictReader(f):
            try:
                status = create(session, url, candidate_body(row))
            except (Retryable, requests.RequestException):
                failed += 1
                continue
            if status == 201:
                created += 1
            else:
                failed += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"created": created, "failed": failed, "seconds": seconds}))


if __name__ == "__main__":
    main()
