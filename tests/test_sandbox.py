"""The sandbox server over real HTTP on 127.0.0.1: contract, auth, faults, limits, stats."""

import asyncio
import json
import math
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from importer.clock import Clock, ScaledClock
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread

CANDIDATES = "/unified/ats/candidates"
ADA = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


class ManualClock:
    """Time stands still until a test moves it; sleeps are recorded and return at once."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_800_000_000.25 + self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


def basic(key: str, password: str = "") -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(key, password)}


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(main())


@asynccontextmanager
async def sandbox_client(
    config: SandboxConfig | None = None, clock: Clock | None = None, key: str = "key"
) -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession]]:
    async with (
        Sandbox(config or SandboxConfig(), clock=clock or ManualClock()) as sandbox,
        aiohttp.ClientSession(
            sandbox.url, headers=basic(key) | {"x-account-id": "acct"}
        ) as session,
    ):
        yield sandbox, session


async def post(
    session: aiohttp.ClientSession, body: Any = ADA, **kwargs: Any
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    async with session.post(CANDIDATES, json=body, **kwargs) as response:
        return response.status, await response.json(), response.headers


# the contract


def test_create_answers_201_with_a_create_result() -> None:
    async def main() -> None:
        async with sandbox_client() as (_, session):
            status, body, _ = await post(session)
        assert status == 201
        assert body["statusCode"] == 201
        assert body["message"] == "Record created successfully."
        assert body["timestamp"] == "2027-01-15T08:00:00.250Z"
        assert uuid.UUID(body["data"]["id"]).version == 4
        assert body["data"]["remote_id"] == "cand_000001"

    run(main)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (ADA | {"nickname": "Ada"}, "nickname: unknown field"),
        (ADA | {"company": 42}, "company: 42 is not of type string"),
        (ADA | {"phone_numbers": [{"type": "cell"}]}, "phone_numbers[0].type: 'cell' is not one"),
        (ADA | {"hired_at": "15/01/2021"}, "hired_at: '15/01/2021' is not a valid date-time"),
    ],
)
def test_contract_violations_answer_422_naming_the_field(body: Any, message: str) -> None:
    async def main() -> None:
        async with sandbox_client() as (sandbox, session):
            status, answer, _ = await post(session, body)
            assert sandbox.stats()["candidates"] == 0
        assert status == 422
        assert answer["statusCode"] == 422
        assert answer["message"].startswith(message)

    run(main)


def test_a_body_that_is_not_json_answers_400() -> None:
    async def main() -> None:
        async with sandbox_client() as (_, session):
            headers = {"Content-Type": "application/json"}
            async with session.post(CANDIDATES, data=b"{name: Ada", headers=headers) as response:
                assert response.status == 400
                assert (await response.json())["message"].startswith("Body is not valid JSON")
            async with session.post(CANDIDATES, data=b'{"name": "Ada"}') as response:
                assert response.status == 400
                assert "Content-Type: application/json" in (await response.json())["message"]

    run(main)


def test_a_nameless_candidate_is_a_provider_400_with_provider_errors() -> None:
    async def main() -> None:
        async with sandbox_client() as (_, session):
            status, body, _ = await post(session, {"first_name": "Ada", "email": "a@x.com"})
        assert status == 400
        assert "first_name and last_name" in body["message"]
        [error] = body["provider_errors"]
        assert error["status"] == 400
        assert error["url"].startswith("https://")
        assert "name" in error["raw"]["error"]
        assert error["headers"] == {"content-type": "application/json"}

    run(main)


# auth and account


def test_requests_without_basic_auth_answer_401() -> None:
    async def main() -> None:
        async with sandbox_client() as (sandbox, session):
            headers = {"x-account-id": "acct"}
            async with aiohttp.ClientSession(sandbox.url, headers=headers) as anonymous:
                async with anonymous.post(CANDIDATES, json=ADA) as response:
                    assert response.status == 401
                    assert "HTTP Basic" in (await response.json())["message"]
                bearer = {"Authorization": "Bearer key"}
                async with anonymous.get(CANDIDATES, headers=bearer) as response:
                    assert response.status == 401
            status, _, _ = await post(session, headers=basic("key", "secret"))
            assert status == 401

    run(main)


def test_only_the_configured_api_key_is_accepted() -> None:
    async def main() -> None:
        config = SandboxConfig(api_key="right")
        async with sandbox_client(config, key="wrong") as (_, session):
            status, body, _ = await post(session)
            assert (status, body["message"]) == (401, "Unauthorized: invalid API key")
            status, _, _ = await post(session, headers=basic("right"))
            assert status == 201

    run(main)


def test_a_missing_account_id_answers_400() -> None:
    async def main() -> None:
        async with (
            sandbox_client() as (sandbox, _),
            aiohttp.ClientSession(sandbox.url, headers=basic("key")) as session,
            session.post(CANDIDATES, json=ADA) as response,
        ):
            assert response.status == 400
            assert "x-account-id" in (await response.json())["message"]

    run(main)


def test_configured_accounts_answer_412_or_501() -> None:
    async def main() -> None:
        config = SandboxConfig(fail_accounts={"disabled": 412, "unsupported": 501})
        async with sandbox_client(config) as (_, session):
            for account, expected in [("disabled", 412), ("unsupported", 501), ("other", 201)]:
                status, body, _ = await post(session, headers={"x-account-id": account})
                assert (status, body["statusCode"]) == (expected, expected)
            async with session.get(CANDIDATES, headers={"x-account-id": "disabled"}) as response:
                assert response.status == 412

    run(main)


# faults


def test_injected_408_carries_retry_after_and_stores_nothing() -> None:
    async def main() -> None:
        async with sandbox_client(SandboxConfig(p408=1.0, retry_after_408=3)) as (sb, session):
            status, body, headers = await post(session)
            assert (status, body["statusCode"], headers["Retry-After"]) == (408, 408, "3")
            assert sb.stats()["candidates"] == 0

    run(main)


@pytest.mark.parametrize(("switch", "status"), [("p500", 500), ("p502", 502)])
def test_injected_5xx_answers_with_an_error_body(switch: str, status: int) -> None:
    async def main() -> None:
        async with sandbox_client(SandboxConfig(**{switch: 1.0})) as (sandbox, session):
            answer, body, _ = await post(session)
            assert sandbox.stats()["candidates"] == 0
        assert (answer, body["statusCode"]) == (status, status)
        assert body["message"]
        assert body["timestamp"]

    run(main)


def test_a_dropped_connection_still_stores_the_candidate() -> None:
    async def main() -> None:
        async with sandbox_client(SandboxConfig(p_drop=1.0)) as (sandbox, session):
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await post(session)
            stats = sandbox.stats()
            assert (stats["candidates"], stats["dropped"], stats["requests_by_status"]) == (
                1,
                1,
                {},
            )
            sandbox.configure(p_drop=0.0)
            params = {"filter[email]": ADA["email"]}
            async with session.get(CANDIDATES, params=params) as response:
                assert [c["first_name"] for c in (await response.json())["data"]] == ["Ada"]

    run(main)


def test_duplicates_are_created_and_counted_unless_conflict_is_on() -> None:
    async def main() -> None:
        async with sandbox_client() as (sandbox, session):
            assert (await post(session))[0] == 201
            assert (await post(session, ADA | {"email": "ADA@example.com"}))[0] == 201
            stats = sandbox.stats()
            assert (stats["candidates"], stats["duplicate_emails"]) == (2, 1)
            assert stats["duplicate_email_list"] == ["ada@example.com"]
            sandbox.configure(conflict_on_duplicate=True)
            status, body, _ = await post(session, ADA | {"email": "Ada@Example.com"})
            assert (status, body["provider_errors"][0]["status"]) == (409, 409)
            assert "already exists" in body["message"]
            other_account = {"x-account-id": "elsewhere"}
            assert (await post(session, headers=other_account))[0] == 201

    run(main)


def test_heartbeat_streams_newlines_then_the_real_outcome() -> None:
    async def main() -> None:
        config = SandboxConfig(latency_mean=1.0, heartbeat_interval=0.2)
        async with sandbox_client(config, ScaledClock(10)) as (sandbox, session):
            headers = {"Prefer": "heartbeat"}
            async with session.post(CANDIDATES, json=ADA, headers=headers) as response:
                assert response.status == 200
                assert response.headers["Preference-Applied"] == "heartbeat"
                text = await response.text()
            assert text.startswith("\n\n")
            assert json.loads(text)["statusCode"] == 201
            sandbox.configure(p500=1.0)
            async with session.post(CANDIDATES, json=ADA, headers=headers) as response:
                assert response.status == 200
                assert json.loads(await response.text())["statusCode"] == 500
            assert sandbox.stats()["requests_by_status"] == {"201": 1, "500": 1}

    run(main)


def test_heartbeat_then_a_drop_cuts_the_stream_after_storing() -> None:
    async def main() -> None:
        config = SandboxConfig(latency_mean=1.0, heartbeat_interval=0.2, p_drop=1.0)
        async with sandbox_client(config, ScaledClock(10)) as (sandbox, session):
            headers = {"Prefer": "heartbeat"}
            async with session.post(CANDIDATES, json=ADA, headers=headers) as response:
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()
            stats = sandbox.stats()
            assert (stats["candidates"], stats["dropped"]) == (1, 1)

    run(main)


def test_heartbeat_does_not_hide_gateway_errors() -> None:
    async def main() -> None:
        async with sandbox_client(SandboxConfig(api_key="right")) as (_, session):
            status, _, headers = await post(session, headers={"Prefer": "heartbeat"})
            assert status == 401
            assert "Preference-Applied" not in headers

    run(main)


def test_latency_is_slept_on_the_clock_within_the_jitter() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(
            latency_mean=0.2, latency_jitter=0.5, seed=1, rate_limit_per_minute=0
        )
        async with sandbox_client(config, clock) as (_, session):
            for _ in range(20):
                await post(session)
        assert len(clock.slept) == 20
        assert all(0.1 <= s <= 0.3 for s in clock.slept)
        assert len(set(clock.slept)) == 20

    run(main)


def test_the_same_seed_replays_the_same_faults_and_ids() -> None:
    async def outcomes(seed: int) -> list[tuple[int, str | None]]:
        config = SandboxConfig(p408=0.1, p500=0.3, p502=0.2, seed=seed)
        async with sandbox_client(config) as (sandbox, session):
            first = [await post(session) for _ in range(20)]
            sandbox.reset()
            again = [await post(session) for _ in range(20)]
        assert [(s, b.get("data")) for s, b, _ in first] == [
            (s, b.get("data")) for s, b, _ in again
        ]
        return [(status, body.get("data", {}).get("id")) for status, body, _ in first]

    async def main() -> None:
        seven = await outcomes(7)
        assert seven == await outcomes(7)
        assert seven != await outcomes(8)
        assert {status for status, _ in seven} >= {201, 500}

    run(main)


# rate limit and Retry-After


def test_rate_limit_answers_429_with_retry_after_seconds() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(rate_limit_per_minute=6, burst=2)
        async with sandbox_client(config, clock) as (sandbox, session):
            assert [(await post(session))[0] for _ in range(2)] == [201, 201]
            clock.t = 1.0
            status, body, headers = await post(session)
            assert (status, body["statusCode"]) == (429, 429)
            assert headers["Retry-After"] == "9"  # 0.1 token/s: 0.9 token is 9 s away
            clock.t = 10.5
            assert (await post(session))[0] == 201
            async with session.get(CANDIDATES) as response:
                assert response.status == 429
            assert (await post(session, headers=basic("another key")))[0] == 201
            assert sandbox.stats()["retry_after_violations"] == 0

    run(main)


def test_retry_after_can_be_an_http_date() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(rate_limit_per_minute=60, burst=1, retry_after_http_date=True)
        async with sandbox_client(config, clock) as (sandbox, session):
            await post(session)
            status, _, headers = await post(session)
            assert status == 429
            # the second the window ends in, its fraction dropped as servers commonly do
            retry_at = parsedate_to_datetime(headers["Retry-After"]).timestamp()
            assert retry_at == math.floor(clock.wall() + 1)
            # coming back at that instant is early: the window ends within the second it names
            clock.t += retry_at - clock.wall()
            assert (await post(session))[0] == 429
            assert sandbox.stats()["retry_after_violations"] == 1
            # at the end of that second it is not
            clock.t += 1.0
            assert (await post(session))[0] == 201
            assert sandbox.stats()["retry_after_violations"] == 1

    run(main)


def test_requests_inside_an_announced_window_count_as_violations() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(rate_limit_per_minute=6, burst=1, retry_after_grace=0.5)
        async with sandbox_client(config, clock) as (sandbox, session):
            assert (await post(session))[0] == 201
            status, _, headers = await post(session)  # t=0: window [0, 10) announced
            assert (status, headers["Retry-After"]) == (429, "10")
            clock.t = 0.4  # already in flight when the 429 went out: within the grace
            assert (await post(session))[0] == 429  # announces [0.4, 10.4)
            clock.t = 1.0  # another key has its own bucket and windows
            assert (await post(session, headers=basic("another key")))[0] == 201
            assert sandbox.stats()["retry_after_violations"] == 0
            clock.t = 5.0
            assert (await post(session))[0] == 429
            assert sandbox.stats()["retry_after_violations"] == 1
            clock.t = 10.4  # every window has closed and a token has come back
            assert (await post(session))[0] == 201
            assert sandbox.stats()["retry_after_violations"] == 1

    run(main)


def test_the_limiter_kind_changes_how_requests_are_counted() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(rate_limit_per_minute=120, limiter="fixed")  # 2 per 1 s window
        async with sandbox_client(config, clock) as (sandbox, session):
            clock.t = 0.9
            assert [(await post(session))[0] for _ in range(3)] == [201, 201, 429]
            clock.t = 1.0  # a new window: a token bucket would still be nearly empty
            assert [(await post(session))[0] for _ in range(3)] == [201, 201, 429]
            sandbox.configure(limiter="sliding")  # counting starts afresh
            assert [(await post(session))[0] for _ in range(3)] == [201, 201, 429]
            clock.t = 1.5
            status, _, headers = await post(session)
            assert (status, headers["Retry-After"]) == (429, "1")  # 0.5 s, in whole seconds

    run(main)


def test_a_provider_over_its_limit_answers_408_late_for_that_account_only() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(
            rate_limit_per_minute=0,
            provider_rate_per_minute=60,
            provider_delay=7,
            retry_after_408=3,
        )
        async with sandbox_client(config, clock) as (sandbox, session):
            assert (await post(session))[0] == 201
            status, body, headers = await post(session)
            assert (status, body["statusCode"], headers["Retry-After"]) == (408, 408, "3")
            assert "60 per minute for this account" in body["message"]
            assert clock.slept == [7]  # StackOne's retries ran out before it answered
            other = {"x-account-id": "other"}
            assert (await post(session, headers=other))[0] == 201  # its own provider limit
            assert sandbox.stats()["candidates"] == 2
            assert sandbox.stats()["retry_after_violations"] == 0
            clock.t = 1.0  # the provider has room again, but the account's window is open
            assert (await post(session))[0] == 201
            assert sandbox.stats()["retry_after_violations"] == 1

    run(main)


def test_a_provider_limit_can_be_one_accounts_only() -> None:
    async def main() -> None:
        clock = ManualClock()
        config = SandboxConfig(
            rate_limit_per_minute=0,
            provider_rate_per_minute=60,
            provider_delay=0,
            provider_accounts=frozenset({"slow"}),
        )
        async with sandbox_client(config, clock) as (_, session):
            slow, fast = {"x-account-id": "slow"}, {"x-account-id": "fast"}
            assert [(await post(session, headers=slow))[0] for _ in range(2)] == [201, 408]
            assert [(await post(session, headers=fast))[0] for _ in range(5)] == [201] * 5

    run(main)


def test_rate_limit_zero_is_off() -> None:
    async def main() -> None:
        async with sandbox_client(SandboxConfig(rate_limit_per_minute=0)) as (sandbox, session):
            statuses = await asyncio.gather(*(post(session) for _ in range(40)))
            assert {status for status, _, _ in statuses} == {201}
            assert sandbox.stats()["candidates"] == 40

    run(main)


# listing, storage and stats


def test_list_filters_by_email_case_insensitively_and_pages_with_next() -> None:
    async def main() -> None:
        async with sandbox_client() as (_, session):
            created = []
            for i, email in enumerate(["same@x.com", "other@x.com", "SAME@x.com", "Same@X.com"]):
                _, body, _ = await post(session, ADA | {"email": email, "first_name": f"A{i}"})
                created.append(body["data"])
            await post(session, headers={"x-account-id": "elsewhere"})
            pages: list[list[dict[str, Any]]] = []
            params = {"filter[email]": "sAmE@x.COM", "page_size": "2"}
            while True:
                async with session.get(CANDIDATES, params=params) as response:
                    answer = await response.json()
                pages.append(answer["data"])
                if answer["next"] is None:
                    break
                params["next"] = answer["next"]
            async with session.get(CANDIDATES) as response:
                everything = (await response.json())["data"]
        assert [[c["first_name"] for c in page] for page in pages] == [["A0", "A2"], ["A3"]]
        first = pages[0][0]
        assert (first["id"], first["remote_id"]) == (created[0]["id"], created[0]["remote_id"])
        assert first["emails"] == [{"type": "personal", "value": "same@x.com"}]
        assert first["name"] == "A0 Lovelace"
        assert len(everything) == 4

    run(main)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?email=a@x.com", "Unsupported query parameters ['email']"),
        ("?page_size=0", "page_size must be 1 to 1000"),
        ("?next=abc", "next: 'abc' is not a cursor"),
    ],
)
def test_list_rejects_queries_it_does_not_understand(query: str, message: str) -> None:
    async def main() -> None:
        async with sandbox_client() as (_, session), session.get(CANDIDATES + query) as response:
            assert response.status == 400
            assert (await response.json())["message"].startswith(message)

    run(main)


def test_stats_count_requests_concurrency_and_reset_clears_them() -> None:
    async def main() -> None:
        config = SandboxConfig(latency_mean=2.0)
        async with sandbox_client(config, ScaledClock(10)) as (sandbox, session):
            await asyncio.gather(*(post(session) for _ in range(8)))
            await post(session, {"name": 1})
            async with session.get(CANDIDATES) as response:
                assert response.status == 200
            async with session.get("/_sandbox/stats") as response:
                stats = await response.json()
            assert stats == sandbox.stats()
            assert stats["requests_total"] == 10
            assert (stats["posts"], stats["gets"]) == (9, 1)
            assert stats["requests_by_status"] == {"200": 1, "201": 8, "422": 1}
            assert stats["max_in_flight"] == 8
            assert (stats["candidates"], stats["duplicate_emails"]) == (8, 1)
            async with session.post("/_sandbox/reset") as response:
                cleared = await response.json()
            assert (cleared["requests_total"], cleared["candidates"]) == (0, 0)
            assert (await post(session))[1]["data"]["remote_id"] == "cand_000001"

    run(main)


def test_a_db_file_keeps_candidates_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"

    async def main() -> None:
        async with sandbox_client(SandboxConfig(db_path=db)) as (_, session):
            await post(session, ADA | {"email": "Ada@Example.com"})
            await post(session, {"name": "Grace Hopper"})
        with sqlite3.connect(db) as inspect:
            rows = inspect.execute("SELECT remote_id, account_id, email, body FROM candidates")
            stored = [(r, a, e, json.loads(b)) for r, a, e, b in rows]
        assert stored == [
            ("cand_000001", "acct", "ada@example.com", ADA | {"email": "Ada@Example.com"}),
            ("cand_000002", "acct", None, {"name": "Grace Hopper"}),
        ]
        async with sandbox_client(SandboxConfig(db_path=db)) as (sandbox, session):
            assert (await post(session))[1]["data"]["remote_id"] == "cand_000003"
            assert sandbox.stats()["candidates"] == 3

    run(main)


# running it


def test_a_sandbox_thread_serves_synchronous_clients() -> None:
    with start_sandbox_thread(SandboxConfig(seed=3)) as sandbox:
        url = sandbox.url + CANDIDATES
        headers = {"x-account-id": "acct"}
        answer = requests.post(url, json=ADA, auth=("key", ""), headers=headers, timeout=5)
        assert answer.status_code == 201
        sandbox.configure(p500=1.0)
        answer = requests.post(url, json=ADA, auth=("key", ""), headers=headers, timeout=5)
        assert answer.status_code == 500
        assert sandbox.stats()["requests_by_status"] == {"201": 1, "500": 1}
        sandbox.reset()
        assert sandbox.stats()["requests_total"] == 0


def test_a_sandbox_thread_reports_a_port_in_use() -> None:
    with start_sandbox_thread() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with (
            pytest.raises(OSError, match="address already in use"),
            start_sandbox_thread(port=port),
        ):
            pass
