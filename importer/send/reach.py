"""Whether the API can be reached at all, so that a dead address stops the run, not each row.

A connection that never opened (refused, DNS, connect timeout) is safe to retry, and each row
retries it with backoff. But when no request gets through at all, every row would wait out its
whole retry budget in turn: a mistyped ``--base-url`` or a network that is down would look like
a slow run for hours. So the run keeps one clock: from the first failure to connect, as long as
no answer of any kind comes back, it gives up after ``budget`` seconds (a shorter one before
the API has ever answered this run) by raising ``UnreachableError``, which stops the run.
"""

from __future__ import annotations

import math

from importer.clock import Clock
from importer.errors import FatalApiError

FIRST_CONTACT_BUDGET = 10.0
"""Seconds of failing to connect, before any answer, after which the run stops."""
OUTAGE_BUDGET = 120.0
"""Seconds of failing to connect once the API has answered, after which the run stops."""


class UnreachableError(FatalApiError):
    """No request reached the API for longer than the budget: the run stops, rows unsent."""


class Reachability:
    def __init__(
        self,
        clock: Clock,
        first_contact: float = FIRST_CONTACT_BUDGET,
        outage: float = OUTAGE_BUDGET,
    ) -> None:
        self._clock = clock
        self._first_contact = first_contact
        self._outage = outage
        self._answered = False
        self._failing_since: float | None = None

    def answered(self) -> None:
        """Any answer from the server, whatever its status."""
        self._answered = True
        self._failing_since = None

    def time_left(self) -> float:
        """Seconds until failing to connect stops the run (infinite while nothing fails): a
        row waiting to try again tries by then, so that the run stops on time, not a backoff
        later."""
        if self._failing_since is None:
            return math.inf
        budget = self._outage if self._answered else self._first_contact
        return max(0.0, self._failing_since + budget - self._clock.now())

    def not_connected(self, reason: str) -> None:
        """A request that could not connect; raises ``UnreachableError`` past the budget."""
        now = self._clock.now()
        if self._failing_since is None:
            self._failing_since = now
        budget = self._outage if self._answered else self._first_contact
        failing = now - self._failing_since
        if failing >= budget:
            since = "since it last answered" if self._answered else "since the run started"
            raise UnreachableError(
                f"the API cannot be reached ({reason}); no request got through for "
                f"{failing:.0f} s {since}: check the address and the network"
            )
