"""Sandbox settings: every realism switch, defaulting to a well-behaved StackOne."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from importer.sandbox.limits import LIMITERS

# The credentials an importer uses with a sandbox that accepts any key (``api_key=None``).
SANDBOX_API_KEY = "sandbox"
SANDBOX_ACCOUNT_ID = "sandbox"

ACCOUNT_FAILURES = {412: "linked account belongs to a disabled integration", 501: "not implemented"}


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the sandbox behaves; change a running sandbox with ``Sandbox.configure(**changes)``.

    Probabilities are per POST and drawn from one ``random.Random(seed)`` per server.
    ``rate_limit_per_minute=0`` turns the rate limit off; ``limiter`` is how it counts (a key of
    ``LIMITERS``); ``burst`` defaults to one second's worth of requests.
    ``provider_rate_per_minute`` is the provider's own limit per account (0: none): a create over
    it is answered 408 after ``provider_delay`` seconds, the time StackOne spends retrying the
    provider before it gives up; ``provider_accounts`` limits it to those accounts (empty: every
    account), so that one customer's provider can be slow while the others' are not.
    ``db_path=None`` keeps the candidates in memory.
    """

    api_key: str | None = None
    rate_limit_per_minute: float = 1000.0
    burst: float | None = None
    limiter: str = "bucket"
    retry_after_http_date: bool = False
    latency_mean: float = 0.0
    latency_jitter: float = 0.0
    p408: float = 0.0
    retry_after_408: int = 1
    provider_rate_per_minute: float = 0.0
    provider_delay: float = 5.0
    provider_accounts: frozenset[str] = frozenset()
    p500: float = 0.0
    p502: float = 0.0
    p_drop: float = 0.0
    conflict_on_duplicate: bool = False
    fail_accounts: Mapping[str, int] = field(default_factory=dict)
    heartbeat_interval: float = 1.0
    retry_after_grace: float = 0.5
    seed: int | None = None
    db_path: str | Path | None = None

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be between 0 and 1, got {value}"
            for name, value in self._probabilities().items()
            if not 0.0 <= value <= 1.0
        ]
        if sum(self._probabilities().values()) > 1.0:
            problems.append("p408 + p500 + p502 + p_drop must not exceed 1")
        if not 0.0 <= self.latency_jitter <= 1.0:
            problems.append(
                f"latency_jitter is a fraction between 0 and 1, got {self.latency_jitter}"
            )
        if self.limiter not in LIMITERS:
            problems.append(f"limiter must be one of {', '.join(LIMITERS)}, got {self.limiter!r}")
        for name in (
            "rate_limit_per_minute",
            "latency_mean",
            "retry_after_grace",
            "provider_rate_per_minute",
            "provider_delay",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must not be negative, got {getattr(self, name)}")
        if self.burst is not None and self.burst < 1:
            problems.append(f"burst must be at least 1, got {self.burst}")
        if self.retry_after_408 < 1:
            problems.append(
                f"retry_after_408 must be at least 1 second, got {self.retry_after_408}"
            )
        if self.heartbeat_interval <= 0:
            problems.append(f"heartbeat_interval must be positive, got {self.heartbeat_interval}")
        if self.api_key == "":
            problems.append("api_key must not be empty (None accepts any key)")
        problems += [
            f"fail_accounts[{account!r}] must be 412 or 501, got {status}"
            for account, status in self.fail_accounts.items()
            if status not in ACCOUNT_FAILURES
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def _probabilities(self) -> dict[str, float]:
        return {"p408": self.p408, "p500": self.p500, "p502": self.p502, "p_drop": self.p_drop}

    @property
    def burst_size(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.rate_limit_per_minute / 60)

    @property
    def provider_burst_size(self) -> float:
        return max(1.0, self.provider_rate_per_minute / 60)
