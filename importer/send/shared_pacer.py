"""A pacer shared through Redis by every process that uses one API key (``--pacer redis://``).

StackOne's limit is per key, so N processes pacing alone send N times it. Here the state lives
in one Redis hash per key (and one per account of it), changed only by Lua scripts, which Redis
runs atomically, on Redis's own clock, so that machines whose clocks differ agree:

- spacing is GCRA by reservation: each ``acquire`` takes the next slot, ``tat``, and moves it
  on by one interval, then sleeps until its slot. There is no lease: a process killed while
  holding slots leaves at most those few slots unused, and nobody waits for it.
- a 429 (on the key) or a 408 (on an account) sets ``paused`` to the end of the Retry-After
  window; a process that wakes for a slot the window now covers takes a new slot after it.
- how fast: the same controller as the local pacer's (``importer.send.rate_control``), its
  small state kept in the hash. A process reads it, applies the event (a 429, or a stretch of
  waiting for slots, which lets the rate grow) and writes it back only if nobody wrote it
  meanwhile (a version number, checked in Lua), else reads again. So a told rate is cut by a
  429 for every process, and ``--rate auto`` learns one rate for all of them; for ``auto`` the
  grants and refusals of the last seconds are kept in two sorted sets beside the hash, since
  the controller counts what got through.

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
import os
from collections.abc import Awaitable
from contextlib import suppress
from itertools import count
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from importer.clock import Clock
from importer.errors import ConfigError
from importer.send import rate_control
from importer.send.pacer import HEADROOM, PacerStats
from importer.send.pacing import PacerLostError
from importer.send.rate_control import (
    ACCOUNT_START_RATE_PER_MINUTE,
    HISTORY_SECONDS,
    History,
    RateConfig,
    RateState,
)

# Keys disappear this long after a key was last used: a pause or a learned rate is stale then.
_TTL_SECONDS = 3600
# Redis time is kept as seconds since this instant: Lua numbers are doubles, and tostring()
# keeps 14 digits, so small numbers keep microseconds.
_EPOCH = 1_700_000_000
_CONNECT_TIMEOUT = 5.0
# A process waiting for slots reports that stretch (the rate may grow) at most this often.
_GROWTH_REPORT_SECONDS = 0.1
# Tries of a read-change-write of the rate state before giving up on that one event.
_COMMIT_TRIES = 8

# Redis's clock, the one every process agrees on, in seconds since _EPOCH.
_NOW = f"""
local t = redis.call('TIME')
local now = (tonumber(t[1]) - {_EPOCH}) + tonumber(t[2]) / 1000000
"""

# Returns {wait, now, slot, paused} as strings (Lua numbers would be truncated to integers).
# The rate is the hash's (written by the controller; 0: none) or, before any, ARGV[1], and at
# most this process's ceiling. KEYS: the hash, the grants' sorted set. ARGV: start rate
# (0: none), held slot (-1: none), ttl, ceiling (0: none), this grant's member in the sorted set
# ('': not recorded), seconds of grants kept.
_RESERVE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'tat', 'paused', 'rate')
local tat = tonumber(s[1]) or 0
local paused = tonumber(s[2]) or 0
local held = tonumber(ARGV[2])
if held >= 0 and paused <= held then
  return {tostring(math.max(0, held - now)), tostring(now), tostring(held), tostring(paused)}
end
local rate = tonumber(s[3]) or tonumber(ARGV[1])
local ceiling = tonumber(ARGV[4])
if ceiling > 0 and (rate <= 0 or rate > ceiling) then rate = ceiling end
local slot = math.max(now, paused)
if rate > 0 then
  slot = math.max(slot, tat)
  redis.call('HSET', KEYS[1], 'tat', tostring(slot + 1 / rate))
end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[2], slot, ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {tostring(slot - now), tostring(now), tostring(slot), tostring(paused)}
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

# Writes the controller's state if the hash's version is still ARGV[1] ('' : none yet); returns
# 1, or 0 when another process wrote first. KEYS: the hash, the refusals' sorted set. ARGV:
# version, ttl, a refusal's member ('': none) and score, seconds of refusals kept, then field
# and value pairs.
_COMMIT = """
if (redis.call('HGET', KEYS[1], 'version') or '') ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[5]))
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
end
if #ARGV > 5 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
  redis.call('HINCRBY', KEYS[1], 'version', 1)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


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
        self.commit = self.client.register_script(_COMMIT)

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
        self._sent_key = f"{name}:sent"
        self._refused_key = f"{name}:refused"
        self._config = RateConfig.told(rate_per_minute, adaptive=adaptive, headroom=HEADROOM)
        self._clock = clock
        self.adaptive = adaptive
        self.stats = PacerStats()
        # Redis time minus this process's clock, from the last answer: to date a 429's request.
        self._offset: float | None = None
        # Pauses this process announced, honoured here before Redis has them.
        self._paused_until = -math.inf
        self._writes: set[asyncio.Task[Any]] = set()
        self._lost: BaseException | None = None
        # This process's grants in the sorted set: a token of its own and a counter.
        self._token = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._grants = count()
        # Redis time since which this process has been waiting for slots, and when it last said.
        self._binding_since: float | None = None
        self._reported_at = -math.inf

    @property
    def key(self) -> str:
        return self._name

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self) -> float:
        started = self._clock.now()
        held = -1.0
        member = f"{self._token}:{next(self._grants)}" if self.adaptive else ""
        binding = False
        while True:
            self._raise_if_lost()
            local_pause = self._paused_until - self._clock.now()
            if local_pause > 0:
                await self._clock.sleep(local_pause)
                held = -1.0
            answer = await self._connection.call(
                self._connection.reserve(
                    keys=[self._name, self._sent_key],
                    args=[
                        _finite(self._config.start),
                        held,
                        _TTL_SECONDS,
                        _finite(self._config.ceiling),
                        member,
                        HISTORY_SECONDS,
                    ],
                )
            )
            wait, now, slot, paused = (float(value) for value in answer)
            self._offset = now - self._clock.now()
            if wait <= 0:
                break
            # Waiting for a slot the schedule set (not for a pause) means the rate holds us back.
            binding = binding or slot > paused
            await self._clock.sleep(wait)
            held = slot
        self.stats.granted += 1
        granted = self._clock.now()
        self.stats.waited_seconds += granted - started
        self._report_waiting(binding, now)
        return granted

    def pause_for(self, seconds: float) -> None:
        """Every process on this key (or account) waits until now + ``seconds``."""
        seconds = max(0.0, seconds)
        until = self._clock.now() + seconds
        if until <= self._paused_until:
            return
        self.stats.pauses += 1
        self.stats.paused_seconds += until - max(self._paused_until, self._clock.now())
        self._paused_until = until
        self._binding_since = None
        self._write(self._connection.pause(keys=[self._name], args=[seconds, _TTL_SECONDS]))

    def throttled(self, sent_at: float) -> None:
        """A request granted at ``sent_at`` (this process's clock) got a 429 or a 408."""
        self.stats.throttles += 1
        if self._offset is None or math.isinf(self._config.start):
            return
        offset = self._offset
        self._write(self._refused(sent_at + offset, self._paused_until + offset))

    async def rate_per_minute(self) -> float | None:
        """The shared rate now; None when unlimited."""
        found = await self._connection.call(self._connection.client.hget(self._name, "rate"))
        rate = float(found) if found is not None else _finite(self._config.start)
        rate = min(rate if rate > 0 else math.inf, self._config.ceiling)
        return None if math.isinf(rate) else round(rate * 60.0, 6)

    async def flush(self) -> None:
        """Wait for the pauses, cuts and growth this process announced to reach Redis."""
        while self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        self._raise_if_lost()

    def _report_waiting(self, binding: bool, now: float) -> None:
        """Tell the controller how long this process has waited for slots: the rate may grow."""
        if not binding:
            self._binding_since = None
            return
        if self._binding_since is None:
            self._binding_since = now
            return
        if now - self._reported_at < _GROWTH_REPORT_SECONDS:
            return
        self._reported_at = now
        since = self._binding_since
        self._write(
            self._change(
                lambda state, at: rate_control.advance(
                    self._config, state, at, binding=True, since=since
                )
            )
        )

    async def _refused(self, sent_at: float, resume_at: float) -> None:
        def cut(state: RateState, now: float, history: History) -> RateState | None:
            history.refuse(sent_at, now)
            return rate_control.refused(
                self._config, state, history, sent_at, now, resume_at=resume_at
            )

        before = await self._change(cut, refusal=sent_at)
        if before is not None:
            self.stats.rate_cuts += 1

    async def _change(self, event: Any, *, refusal: float | None = None) -> RateState | None:
        """Apply ``event`` to the shared state until no other process wrote in between.

        ``event(state, now)`` (or ``event(state, now, history)`` for a refusal) returns the new
        state or None for no change. Returns the state before, when the event lowered the rate.
        """
        connection = self._connection
        member = "" if refusal is None else f"{self._token}:r{next(self._grants)}"
        for _ in range(_COMMIT_TRIES):
            pipe = connection.client.pipeline(transaction=False)
            pipe.time()
            pipe.hgetall(self._name)
            if refusal is not None:
                pipe.zrangebyscore(self._sent_key, "-inf", "+inf", withscores=True)
                pipe.zrangebyscore(self._refused_key, "-inf", "+inf", withscores=True)
            answers = await connection.call(pipe.execute())
            seconds, micro = answers[0]
            now = seconds - _EPOCH + micro / 1e6
            found: dict[str, str] = answers[1]
            kept = {name[2:]: value for name, value in found.items() if name.startswith("c:")}
            state = RateState.from_fields(kept) or rate_control.initial(self._config)
            if refusal is None:
                changed = event(state, now)
            else:
                history = History(
                    (score for _, score in answers[2]), (score for _, score in answers[3])
                )
                changed = event(state, now, history)
            pairs: list[str] = []
            if changed is not None and changed != state:
                kept = {f"c:{name}": value for name, value in changed.to_fields().items()}
                for name, value in {**kept, "rate": repr(_finite(changed.rate))}.items():
                    pairs += [name, value]
            args: list[str | float] = [found.get("version", ""), _TTL_SECONDS, member]
            args += [refusal or 0.0, HISTORY_SECONDS, *pairs]
            written = await connection.call(
                connection.commit(keys=[self._name, self._refused_key], args=args)
            )
            if written:
                cut = changed is not None and changed.rate < state.rate
                return state if cut else None
        return None

    def _write(self, what: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(self._connection.call(what))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[Any]) -> None:
        self._writes.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Redis lost (PacerLostError), or a fault here: either way the next acquire says so
            # rather than pace on without the pauses and cuts this process announced.
            self._lost = self._lost or task.exception()

    def _raise_if_lost(self) -> None:
        if self._lost is not None:
            raise self._lost


def _finite(rate: float) -> float:
    """A rate for the Lua scripts, which read 0 as none."""
    return 0.0 if math.isinf(rate) else rate


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
            start = ACCOUNT_START_RATE_PER_MINUTE if self._adaptive else None
            pacer = SharedPacer(self._connection, name, start, self._clock, adaptive=self._adaptive)
            self._accounts[account_id] = pacer
        return pacer

    async def aclose(self) -> None:
        """Let the pauses and cuts announced reach Redis, then close the connection."""
        for pacer in (self.key, *self._accounts.values()):
            with suppress(PacerLostError):
                await pacer.flush()
        await self._connection.aclose()
