"""A pacer shared through Redis by every process that uses one API key (``--pacer redis://``).

StackOne's limit is per key, so N processes pacing alone send N times it. Here the state lives
in one Redis hash per key (and one per account of it), changed only by Lua scripts, which Redis
runs atomically, on Redis's own clock, so that machines whose clocks differ agree:

- spacing is GCRA by reservation: each ``acquire`` takes the next slot, ``tat``, and moves it
  on by one interval, then sleeps until its slot. There is no lease: a process killed while
  holding slots leaves at most those few slots unused, and nobody waits for it.
- a 429 (on the key) or a 408 (on an account) sets ``paused`` to the end of the Retry-After
  window; a process that wakes for a slot the window now covers takes a new slot after it.
- ``adaptive`` (``--rate auto``): the key's ``rate`` is shared too; a 429 for a request sent
  after the last cut cuts it, and it recovers while requests flow, up to the ceiling.

Hash keys are ``importer:pacer:`` + a SHA-256 digest of the API key (and of the account id),
never the key itself. Every hash expires an hour after its last use.

Redis that cannot be reached before the run sends is a ``ConfigError`` (nothing sent); once
sending, ``acquire`` raises ``PacerLostError``: the run stops taking rows rather than pace
alone and overrun the key's limit for everyone else.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from importer.clock import Clock
from importer.errors import ConfigError
from importer.send.pacer import DEFAULT_START_RATE_PER_MINUTE, HEADROOM, PacerStats
from importer.send.pacing import PacerLostError

# Keys disappear this long after a key was last used: a pause or a learned rate is stale then.
_TTL_SECONDS = 3600
# Redis time is kept as seconds since this instant: Lua numbers are doubles, and tostring()
# keeps 14 digits, so small numbers keep microseconds.
_EPOCH = 1_700_000_000
# A 429 for a request sent after the last cut lowers the shared rate by this factor; the rate
# then grows back by this fraction of itself per second while requests flow.
_CUT = 0.8
_GROWTH_PER_SECOND = 0.02
_MIN_RATE_PER_SECOND = 1.0 / 60.0
_MAX_RATE_PER_SECOND = 10_000.0
_CONNECT_TIMEOUT = 5.0

# Redis's clock, the one every process agrees on, in seconds since _EPOCH.
_NOW = f"""
local t = redis.call('TIME')
local now = (tonumber(t[1]) - {_EPOCH}) + tonumber(t[2]) / 1000000
"""

# Returns {wait, now, slot} as strings (Lua numbers would be truncated to integers).
# ARGV: ceiling (requests/s, 0: none), held slot (-1: none), adaptive (1/0), start rate,
# growth per second, ttl, max rate.
_RESERVE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'rate', 'grown_at')
local tat = tonumber(s[1]) or 0
local paused = tonumber(s[2]) or 0
local held = tonumber(ARGV[2])
if held >= 0 and paused <= held then
  return {tostring(math.max(0, held - now)), tostring(now), tostring(held)}
end
local rate = tonumber(ARGV[1])
if ARGV[3] == '1' then
  local shared = tonumber(s[3]) or tonumber(ARGV[4])
  local grown_at = tonumber(s[4]) or now
  shared = shared * (1 + tonumber(ARGV[5]) * math.max(0, now - grown_at))
  if rate > 0 then shared = math.min(shared, rate) end
  rate = math.min(shared, tonumber(ARGV[7]))
  redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'grown_at', tostring(now))
end
local slot = math.max(now, paused)
if rate > 0 then
  slot = math.max(slot, tat)
  redis.call('HSET', KEYS[1], 'tat', tostring(slot + 1 / rate))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return {tostring(slot - now), tostring(now), tostring(slot)}
"""
)

# ARGV: seconds, ttl. Returns {now, paused} after extending the window (never shortening it).
_PAUSE = (
    _NOW
    + """
local paused = math.max(tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0,
                        now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'paused', tostring(paused))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return {tostring(now), tostring(paused)}
"""
)

# ARGV: sent_at (Redis time), cut factor, start rate, min rate, ttl. Returns the rate, or ''
# when the request was sent before the last cut (it says nothing about the new rate).
_CUT_RATE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'rate', 'cut_at')
if tonumber(ARGV[1]) < (tonumber(s[2]) or -1) then return '' end
local rate = math.max((tonumber(s[1]) or tonumber(ARGV[3])) * tonumber(ARGV[2]),
                      tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'cut_at', tostring(now),
           'grown_at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return tostring(rate)
"""
)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class _Connection:
    """One Redis client and its scripts, shared by the pacers of one event loop and URL."""

    def __init__(self, url: str) -> None:
        if urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
            raise ConfigError(
                f"--pacer {redacted(url)}: give a Redis URL such as redis://localhost:6379/0"
            )
        self.url = url
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=_CONNECT_TIMEOUT,
            socket_timeout=_CONNECT_TIMEOUT,
            decode_responses=True,
        )
        self.reserve = self.client.register_script(_RESERVE)
        self.pause = self.client.register_script(_PAUSE)
        self.cut = self.client.register_script(_CUT_RATE)

    async def check(self) -> None:
        """Reach Redis before anything is sent; a failure is a configuration error."""
        try:
            await self.client.ping()
        except (RedisError, OSError) as error:
            raise ConfigError(
                f"cannot reach the shared pacer at {redacted(self.url)} ({error}): start Redis "
                "there, or run without --pacer (each process then paces alone)"
            ) from None

    async def aclose(self) -> None:
        await self.client.aclose()

    async def call(self, what: Awaitable[Any]) -> Any:
        try:
            return await what
        except (RedisError, OSError) as error:
            raise PacerLostError(
                f"the shared pacer at {redacted(self.url)} stopped answering ({error})"
            ) from None


class SharedPacer:
    """The pacing of one API key (or of one account of it) kept in Redis; see the module doc.

    ``rate_per_minute`` is this process's ceiling (None: no spacing, unless ``adaptive``);
    processes told different rates each charge the shared schedule their own interval.
    """

    def __init__(
        self,
        connection: _Connection,
        name: str,
        rate_per_minute: float | None,
        clock: Clock,
        *,
        adaptive: bool = False,
    ) -> None:
        self._connection = connection
        self._name = name
        # a told rate is a ceiling: paced as far under it as the local pacer is
        told = 0.0 if rate_per_minute is None else rate_per_minute / 60.0
        self._ceiling = told * (1 - HEADROOM)
        # --rate auto starts where the local pacer does: StackOne's published limit
        self._start = (
            (self._ceiling or DEFAULT_START_RATE_PER_MINUTE / 60.0) if adaptive else self._ceiling
        )
        self._clock = clock
        self.adaptive = adaptive
        self.stats = PacerStats()
        # Redis time minus this process's clock, from the last answer: to date a 429's request.
        self._offset: float | None = None
        # Pauses this process announced, honoured here before Redis has them.
        self._paused_until = -math.inf
        self._writes: set[asyncio.Task[Any]] = set()
        self._lost: PacerLostError | None = None

    @property
    def key(self) -> str:
        return self._name

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self) -> None:
        started = self._clock.now()
        held = -1.0
        while True:
            self._raise_if_lost()
            local_pause = self._paused_until - self._clock.now()
            if local_pause > 0:
                await self._clock.sleep(local_pause)
                held = -1.0
            answer = await self._connection.call(
                self._connection.reserve(
                    keys=[self._name],
                    args=[
                        self._ceiling,
                        held,
                        1 if self.adaptive else 0,
                        self._start,
                        _GROWTH_PER_SECOND,
                        _TTL_SECONDS,
                        _MAX_RATE_PER_SECOND,
                    ],
                )
            )
            wait, now, slot = (float(value) for value in answer)
            self._offset = now - self._clock.now()
            if wait <= 0:
                break
            await self._clock.sleep(wait)
            held = slot
        self.stats.granted += 1
        self.stats.waited_seconds += self._clock.now() - started

    def pause_for(self, seconds: float) -> None:
        """Every process on this key (or account) waits until now + ``seconds``."""
        seconds = max(0.0, seconds)
        until = self._clock.now() + seconds
        if until <= self._paused_until:
            return
        self.stats.pauses += 1
        self.stats.paused_seconds += until - max(self._paused_until, self._clock.now())
        self._paused_until = until
        self._write(self._connection.pause(keys=[self._name], args=[seconds, _TTL_SECONDS]))

    def throttled(self, sent_at: float) -> None:
        """A request granted at ``sent_at`` (this process's clock) got a 429 or a 408."""
        self.stats.throttles += 1
        if not self.adaptive or self._offset is None:
            return
        self.stats.rate_cuts += 1
        args = [sent_at + self._offset, _CUT, self._start, _MIN_RATE_PER_SECOND, _TTL_SECONDS]
        self._write(self._connection.cut(keys=[self._name], args=args))

    async def rate_per_minute(self) -> float | None:
        """The shared rate now (the ceiling unless adaptive); None when unlimited."""
        if self.adaptive:
            rate = await self._connection.call(self._connection.client.hget(self._name, "rate"))
            return round(float(rate or self._start) * 60.0, 6)
        return round(self._ceiling * 60.0, 6) if self._ceiling else None

    async def flush(self) -> None:
        """Wait for the pauses and cuts this process announced to reach Redis."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        self._raise_if_lost()

    def _write(self, what: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(self._connection.call(what))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and isinstance(task.exception(), PacerLostError):
            error = task.exception()
            assert isinstance(error, PacerLostError)
            self._lost = error

    def _raise_if_lost(self) -> None:
        if self._lost is not None:
            raise self._lost


async def shared_pacers(
    url: str,
    api_key: str,
    rate_per_minute: float | None,
    clock: Clock,
    *,
    adaptive: bool = False,
) -> SharedPacers:
    """The key's shared pacer and its accounts' ones, on one connection; Redis is reached first."""
    connection = _Connection(url)
    try:
        await connection.check()
    except ConfigError:
        await connection.aclose()
        raise
    return SharedPacers(connection, api_key, rate_per_minute, clock, adaptive=adaptive)


class SharedPacers:
    """The pacer of one key and those of its accounts: a 408's pause (and slowdown) is theirs."""

    def __init__(
        self,
        connection: _Connection,
        api_key: str,
        rate_per_minute: float | None,
        clock: Clock,
        *,
        adaptive: bool,
    ) -> None:
        self._connection = connection
        self._name = f"importer:pacer:{digest(api_key)}"
        self._clock = clock
        self._adaptive = adaptive
        self.key = SharedPacer(connection, self._name, rate_per_minute, clock, adaptive=adaptive)
        self._accounts: dict[str, SharedPacer] = {}

    def account(self, account_id: str) -> SharedPacer:
        pacer = self._accounts.get(account_id)
        if pacer is None:
            name = f"{self._name}:account:{digest(account_id)}"
            pacer = SharedPacer(self._connection, name, None, self._clock, adaptive=self._adaptive)
            self._accounts[account_id] = pacer
        return pacer

    async def aclose(self) -> None:
        """Let the pauses and cuts announced reach Redis, then close the connection."""
        for pacer in (self.key, *self._accounts.values()):
            with suppress(PacerLostError):
                await pacer.flush()
        await self._connection.aclose()
