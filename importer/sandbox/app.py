"""The sandbox's HTTP face: StackOne's candidate endpoints and the ``/_sandbox`` routes.

A unified request passes the gateway first (auth, rate limit, account, the body or query),
answered at once with its real status; then the provider work (latency, faults, the
provider's own rules, storage). With ``Prefer: heartbeat`` the provider work is streamed: 200
and ``Preference-Applied`` first, a newline every ``heartbeat_interval`` while it runs, then
the JSON whose ``statusCode`` is the real outcome (so a 408's Retry-After header is lost).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import math
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from typing import Any

import orjson
from aiohttp import web

from importer.clock import Clock
from importer.sandbox import contract
from importer.sandbox.config import ACCOUNT_FAILURES, SandboxConfig
from importer.sandbox.faults import Fault, draw_fault, draw_latency
from importer.sandbox.limits import Limiter, RetryAfterWindows, TokenBucket, make_limiter
from importer.sandbox.stats import Stats
from importer.sandbox.store import CandidateStore

CANDIDATES = "/unified/ats/candidates"
STATS = "/_sandbox/stats"
RESET = "/_sandbox/reset"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000
_QUERY_PARAMS = ("filter[email]", "page_size", "next")
_AUTH_HINT = "use HTTP Basic auth with the API key as the username and an empty password"
# Settings a limiter is built from: changing one starts the counting afresh.
_LIMIT_SETTINGS = frozenset(
    {"rate_limit_per_minute", "burst", "limiter", "provider_rate_per_minute"}
)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer before it is written; ``body=None`` means drop the connection instead."""

    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict)


DROP = Reply(0, None)
# The provider's part of a request, started only once the answer's shape is decided.
Work = Callable[[], Awaitable[Reply]]


class SandboxApp:
    """The state behind the routes; one per server, used only from the server's event loop."""

    def __init__(self, config: SandboxConfig, clock: Clock, store: CandidateStore) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.rng = random.Random(config.seed)
        self.stats = Stats()
        self.limiter, self.provider_limiter = _limiters(config)
        self.windows = RetryAfterWindows()
        # The provider's 408 windows, per account: its limit is the account's, not the key's.
        self.provider_windows = RetryAfterWindows()
        # Decoded Basic credentials by header value: clients send the same header every time.
        self._keys: dict[str, str | None] = {}
        self.hosts: frozenset[str] = frozenset()
        """The Host values answered once listening on loopback (empty: any)."""

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self._check_host])
        app.router.add_post(CANDIDATES, self.create_candidate)
        app.router.add_get(CANDIDATES, self.list_candidates)
        app.router.add_get(STATS, self.show_stats)
        app.router.add_post(RESET, self.reset_all)
        return app

    def configure(self, **changes: Any) -> None:
        if "db_path" in changes:
            raise ValueError("db_path cannot change while the sandbox runs")
        self.config = dataclasses.replace(self.config, **changes)
        if _LIMIT_SETTINGS.intersection(changes):
            self.limiter, self.provider_limiter = _limiters(self.config)
        if "seed" in changes:
            self.rng.seed(self.config.seed)

    def reset(self) -> None:
        """Forget candidates, counters, buckets and windows; replay the seed from the start."""
        self.store.clear()
        self.stats = Stats(in_flight=self.stats.in_flight)
        self.limiter, self.provider_limiter = _limiters(self.config)
        self.windows.reset()
        self.provider_windows.reset()
        self.rng.seed(self.config.seed)

    # routes

    async def create_candidate(self, request: web.Request) -> web.StreamResponse:
        self.stats.arrived("POST")
        try:
            account = self._admit(request)
            if isinstance(account, Reply):
                return self._respond(request, account)
            parsed = await self._read_body(request)
            if isinstance(parsed, Reply):
                return self._respond(request, parsed)
            body, raw = parsed
            return await self._answer(request, partial(self._create, account, body, raw))
        finally:
            self.stats.left()

    async def list_candidates(self, request: web.Request) -> web.StreamResponse:
        self.stats.arrived("GET")
        try:
            account = self._admit(request)
            if isinstance(account, Reply):
                return self._respond(request, account)
            query = self._read_query(request)
            if isinstance(query, Reply):
                return self._respond(request, query)
            email, after, size = query
            return await self._answer(request, partial(self._list, account, email, after, size))
        finally:
            self.stats.left()

    async def show_stats(self, request: web.Request) -> web.StreamResponse:
        # the stats name candidates' e-mails: a sandbox with a key shows them to its key only
        refused = self._private(request)
        if refused is not None:
            return refused
        return _json_response(200, self.stats.snapshot(self.store))

    async def reset_all(self, request: web.Request) -> web.StreamResponse:
        refused = self._private(request)
        if refused is not None:
            return refused
        self.reset()
        return _json_response(200, self.stats.snapshot(self.store))

    def _private(self, request: web.Request) -> web.StreamResponse | None:
        if self.config.api_key is None:
            return None
        key = self._api_key(request.headers.get("Authorization"))
        return self._respond(request, key) if isinstance(key, Reply) else None

    @web.middleware
    async def _check_host(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self.hosts and request.host.lower() not in self.hosts:
            return _json_response(
                421, {"statusCode": 421, "message": f"Misdirected request: not {request.host}"}
            )
        return await handler(request)

    # the gateway: answered at once, never streamed

    def _admit(self, request: web.Request) -> str | Reply:
        """The caller's account id, or the gateway's refusal."""
        key = self._api_key(request.headers.get("Authorization"))
        if isinstance(key, Reply):
            return key
        config = self.config
        now = self.clock.now()
        if self.windows.violates(key, now, config.retry_after_grace):
            self.stats.retry_after_violations += 1
        if self.limiter is not None:
            wait = self.limiter.take(key, now)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                header, until = self._retry_after(seconds)
                self.windows.announce(key, now, until)
                message = f"Too many requests: over {config.rate_limit_per_minute:g} per minute"
                return self._error(429, f"{message}; retry after {seconds} s", header)
        account = request.headers.get("x-account-id")
        if not account:
            return self._error(400, "Missing x-account-id header: name the linked account")
        failure = config.fail_accounts.get(account)
        if failure is not None:
            return self._error(failure, f"Account {account}: {ACCOUNT_FAILURES[failure]}")
        if self.provider_windows.violates(account, now, config.retry_after_grace):
            self.stats.retry_after_violations += 1
        return account

    def _api_key(self, authorization: str | None) -> str | Reply:
        if authorization is None:
            return self._error(401, f"Unauthorized: no Authorization header; {_AUTH_HINT}")
        if authorization in self._keys:
            key = self._keys[authorization]
        else:
            key = _parse_basic(authorization)
            if len(self._keys) >= 1000:
                self._keys.clear()
            self._keys[authorization] = key
        if key is None:
            return self._error(401, f"Unauthorized: malformed Authorization header; {_AUTH_HINT}")
        if self.config.api_key is not None and key != self.config.api_key:
            return self._error(401, "Unauthorized: invalid API key")
        return key

    async def _read_body(self, request: web.Request) -> tuple[dict[str, Any], str] | Reply:
        if request.content_type != "application/json":
            return self._error(400, "Body must be JSON, sent with Content-Type: application/json")
        raw = await request.read()
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return self._error(400, f"Body is not valid JSON: {exc}")
        problems = contract.validate_request(body)
        if problems:
            return self._error(422, contract.problems_message(problems))
        return body, raw.decode("utf-8")

    def _read_query(self, request: web.Request) -> tuple[str | None, int, int] | Reply:
        query = request.query
        unknown = sorted(set(query) - set(_QUERY_PARAMS))
        if unknown:
            supported = ", ".join(_QUERY_PARAMS)
            return self._error(400, f"Unsupported query parameters {unknown}; use {supported}")
        size_text = query.get("page_size", str(DEFAULT_PAGE_SIZE))
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
            return self._error(400, f"page_size must be 1 to {MAX_PAGE_SIZE}, got {size_text!r}")
        cursor = query.get("next", "0")
        if not cursor.isdigit():
            return self._error(400, f"next: {cursor!r} is not a cursor this server issued")
        return query.get("filter[email]"), int(cursor), int(size_text)

    # the provider: may be slow, may fail, may be streamed

    async def _create(self, account: str, body: dict[str, Any], raw: str) -> Reply:
        config = self.config
        fault = draw_fault(self.rng, config)
        latency = draw_latency(self.rng, config)
        if self.provider_limiter is not None and (
            not config.provider_accounts or account in config.provider_accounts
        ):
            wait = self.provider_limiter.take(account, self.clock.now())
            if wait > 0:
                return await self._provider_throttled(account, wait)
        if latency > 0:
            await self.clock.sleep(latency)
        if fault is Fault.TIMEOUT:
            # No window is remembered: an injected 408 is one request's bad luck, so other
            # requests from the key are not asked to wait.
            header, _ = self._retry_after(config.retry_after_408)
            message = "Request timed out: the provider kept throttling within the 60 s budget"
            return self._error(408, message, header)
        if fault is Fault.SERVER_ERROR:
            return self._error(500, "Internal server error")
        if fault is Fault.BAD_GATEWAY:
            errors = [contract.provider_error(503, "Service temporarily unavailable")]
            return self._error(502, "Bad gateway: the provider failed", provider_errors=errors)
        if not contract.has_name(body):
            why = "name, or first_name and last_name, is required"
            errors = [contract.provider_error(400, f"Candidate: {why}")]
            return self._error(
                400, f"The provider rejected the request: {why}", provider_errors=errors
            )
        email = body.get("email") or None
        if config.conflict_on_duplicate and email and self.store.has_email(account, email):
            why = f"a candidate with email {email} already exists"
            errors = [contract.provider_error(409, f"Candidate: {why}")]
            return self._error(409, f"Conflict: {why}", provider_errors=errors)
        candidate_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        wall = self.clock.wall()
        remote_id = self.store.add(
            candidate_id=candidate_id,
            account_id=account,
            email=email,
            created_at=contract.timestamp(wall),
            body=raw,
        )
        if fault is Fault.DROP:
            return DROP
        return Reply(201, contract.create_result(candidate_id, remote_id, wall))

    async def _provider_throttled(self, account: str, wait: float) -> Reply:
        """The provider is over its limit for ``account``: StackOne retries it, then gives up.

        Unlike an injected 408, this window is the account's: every request for it that arrives
        before the window closes finds the provider still saturated.
        """
        config = self.config
        await self.clock.sleep(config.provider_delay)
        seconds = max(config.retry_after_408, math.ceil(wait))
        header, until = self._retry_after(seconds)
        self.provider_windows.announce(account, self.clock.now(), until)
        message = (
            "Request timed out: the provider kept throttling within the 60 s budget"
            f" (over its limit of {config.provider_rate_per_minute:g} per minute for this account)"
        )
        return self._error(408, message, header)

    async def _list(self, account: str, email: str | None, after: int, size: int) -> Reply:
        latency = draw_latency(self.rng, self.config)
        if latency > 0:
            await self.clock.sleep(latency)
        rows, next_after = self.store.page(account, email, after, size)
        data = [contract.candidate_view(r.id, r.remote_id, r.created_at, r.body) for r in rows]
        return Reply(200, {"next": None if next_after is None else str(next_after), "data": data})

    # writing answers

    async def _answer(self, request: web.Request, work: Work) -> web.StreamResponse:
        if _prefers_heartbeat(request.headers.get("Prefer")):
            return await self._stream(request, work)
        return self._respond(request, await work())

    def _respond(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        if reply.body is None:
            return self._drop(request)
        self.stats.by_status[reply.status] += 1
        return _json_response(reply.status, reply.body, reply.headers)

    async def _stream(self, request: web.Request, work: Work) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200,
            headers={"Content-Type": "application/json", "Preference-Applied": "heartbeat"},
        )
        await response.prepare(request)
        beating = asyncio.create_task(self._beat(response))
        try:
            reply = await work()
        finally:
            beating.cancel()
            await asyncio.wait({beating})
        if reply.body is None:
            return self._drop(request)
        self.stats.by_status[reply.status] += 1
        try:
            await response.write(orjson.dumps(reply.body))
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client gave up; the outcome is counted all the same
        return response

    async def _beat(self, response: web.StreamResponse) -> None:
        try:
            while True:
                await self.clock.sleep(self.config.heartbeat_interval)
                await response.write(b"\n")
        except ConnectionResetError:
            return

    def _drop(self, request: web.Request) -> web.StreamResponse:
        # The candidate is stored; the client only sees the connection go away.
        self.stats.dropped += 1
        if request.transport is not None:
            request.transport.close()
        return web.Response()

    def _retry_after(self, seconds: int) -> tuple[dict[str, str], float]:
        """The ``Retry-After`` header for ``seconds`` and the clock time its window ends."""
        now = self.clock.now()
        if not self.config.retry_after_http_date:
            return {"Retry-After": str(seconds)}, now + seconds
        # An HTTP-date has whole seconds. Servers commonly drop the fraction (Python's
        # formatdate, Go's http.TimeFormat, JavaScript's toUTCString all do), naming a second
        # that may begin before the window ends, so the sandbox does too: a client that comes
        # back at the instant named, rather than at the end of that second, is counted a violation.
        return {"Retry-After": formatdate(self.clock.wall() + seconds, usegmt=True)}, now + seconds

    def _error(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        provider_errors: list[dict[str, Any]] | None = None,
    ) -> Reply:
        extra = {} if provider_errors is None else {"provider_errors": provider_errors}
        body = contract.error_body(status, message, self.clock.wall(), **extra)
        return Reply(status, body, headers or {})


def _limiters(config: SandboxConfig) -> tuple[Limiter | None, Limiter | None]:
    """The gateway's limiter (per API key) and the provider's (per account); None when off."""
    gateway = None
    if config.rate_limit_per_minute > 0:
        gateway = make_limiter(config.limiter, config.rate_limit_per_minute, config.burst_size)
    provider = None
    if config.provider_rate_per_minute > 0:
        provider = TokenBucket(config.provider_rate_per_minute, config.provider_burst_size)
    return gateway, provider


def _parse_basic(authorization: str) -> str | None:
    scheme, _, encoded = authorization.partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, colon, password = decoded.partition(":")
    if scheme.lower() != "basic" or not colon or not key or password:
        return None
    return key


def _prefers_heartbeat(prefer: str | None) -> bool:
    if prefer is None:
        return False
    tokens = (part.split(";")[0].strip().lower() for part in prefer.split(","))
    return "heartbeat" in tokens


def _json_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), headers=headers, content_type="application/json"
    )
