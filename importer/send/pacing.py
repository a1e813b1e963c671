"""What the sender needs from a pacer: the local ``Pacer`` or the ``SharedPacer`` in Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from importer.clock import Clock
from importer.errors import ImporterError
from importer.send.pacer import PacerStats, pacer_for
from importer.send.rate_control import ACCOUNT_START_RATE_PER_MINUTE


class Pacing(Protocol):
    """Spacing and pause windows for one API key, or for one account of it.

    ``pause_for`` and ``throttled`` take effect at once for this process's next ``acquire``;
    a pacer shared between processes tells the others as soon as it can.
    """

    stats: PacerStats

    @property
    def paused_until(self) -> float:
        """When the last pause this process knows of ends, on the caller's clock."""
        ...

    async def acquire(self) -> float:
        """Wait for this request's slot and claim it; when it was granted, on the caller's
        clock, which ``throttled`` is told if the request is refused."""
        ...

    def pause_for(self, seconds: float) -> None: ...

    def throttled(self, sent_at: float) -> None: ...


class PacerLostError(ImporterError):
    """The shared pacer stopped answering mid-run: no request may leave without it."""


@dataclass(frozen=True)
class Pacers:
    """The key's pacer and the maker of each account's (the same one for the same account)."""

    key: Pacing
    account: Callable[[str], Pacing]
    close: Callable[[], Awaitable[None]] | None = None

    async def aclose(self) -> None:
        if self.close is not None:
            await self.close()


async def open_pacers(
    url: str | None, api_key: str, rate_per_minute: float | None, clock: Clock
) -> Pacers:
    """This process's pacers for ``api_key``, or the ones shared through Redis at ``url``.

    ``rate_per_minute=None`` is ``--rate auto``: no known limit, so the key's pacer probes
    upwards and backs off on 429s, and an account's on 408s. Redis is reached before this
    returns: a ``ConfigError`` when it cannot be, before anything is sent. ``aclose`` them
    when the run ends.
    """
    adaptive = rate_per_minute is None
    if url is None:

        def local(account_id: str) -> Pacing:
            start = ACCOUNT_START_RATE_PER_MINUTE if adaptive else None
            return pacer_for(api_key, start, clock, adaptive=adaptive, account_id=account_id)

        return Pacers(pacer_for(api_key, rate_per_minute, clock, adaptive=adaptive), local)
    from importer.send.shared_pacer import shared_pacers

    shared = await shared_pacers(url, api_key, rate_per_minute, clock, adaptive=adaptive)
    return Pacers(shared.key, shared.account, shared.aclose)
