"""What the sandbox observed: request counts, concurrency and clients that ignored Retry-After."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from importer.sandbox.store import CandidateStore

DUPLICATE_LIST_CAP = 100


@dataclass(slots=True)
class Stats:
    """Counters for the unified endpoints; ``/_sandbox/*`` calls are not counted."""

    requests_total: int = 0
    posts: int = 0
    gets: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    retry_after_violations: int = 0
    dropped: int = 0
    by_status: Counter[int] = field(default_factory=Counter)

    def arrived(self, method: str) -> None:
        self.requests_total += 1
        if method == "POST":
            self.posts += 1
        else:
            self.gets += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def left(self) -> None:
        self.in_flight -= 1

    def snapshot(self, store: CandidateStore) -> dict[str, Any]:
        duplicates = store.duplicate_emails()
        return {
            "requests_total": self.requests_total,
            "requests_by_status": {str(s): n for s, n in sorted(self.by_status.items())},
            "posts": self.posts,
            "gets": self.gets,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "retry_after_violations": self.retry_after_violations,
            "candidates": store.count(),
            "duplicate_emails": len(duplicates),
            "duplicate_email_list": duplicates[:DUPLICATE_LIST_CAP],
            "dropped": self.dropped,
        }
