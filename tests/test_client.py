from __future__ import annotations

import asyncio
import base64
import re
import socket
from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.client_reqrep import ConnectionKey
from yarl import URL

from importer import __version__
from importer.errors import (
    AmbiguousApiError,
    ApiError,
    Code,
    FatalApiError,
    RejectedApiError,
    RetriableApiError,
)
from importer.send.client import ApiClient, Created, NoAnswerError, NotSentError, classify_response
from tests.fakes import WALL_START, FakeApi

BASE = "http://127.0.0.1:9"
POST_URL = f"{BASE}/unified/ats/candidates"
GET_URL = re.compile(r"^http://127\.0\.0\.1:9/unified/ats/candidates\?.*$")
KEY = "sk_live_SECRET123"
ACCOUNT = "acc_42"
HEARTBEAT = {"Preference-Applied": "heartbeat"}


def _json(**fields: Any) -> bytes:
    return orjson.dumps({"timestamp": "2026-01-01T00:00:00.000Z", **fields})


def _classify(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Created:
    return classify_response(status, headers or {}, body, now_wall=WALL_START)


PROVIDER_422 = _json(
    statusCode=422,
    message="Unprocessable Entity",
    provider_errors=[
        {
            "status": 422,
            "url": "https://ats.example/v1/candidates",
            "raw": {"errors": [{"field": "email", "message": "has already been taken"}]},
        },
        {"status": 422, "raw": {"message": "Phone number must be E.164"}},
    ],
)


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "words"),
    [
        pytest.param(
            201,
            {},
            _json(statusCode=201, message="Record created", data={"id": "c1", "remote_id": "r1"}),
            Created(201, "c1", "r1"),
            None,
            id="201-created",
        ),
        pytest.param(
            200,
            {},
            _json(statusCode=200, message="ok", data={"id": "c2", "remote_id": 77}),
            Created(200, "c2", "77"),
            None,
            id="200-create-result",
        ),
        pytest.param(201, {}, b"<html>ok</html>", Created(201, None, None), None, id="201-junk"),
        pytest.param(
            422,
            {},
            PROVIDER_422,
            (RejectedApiError, Code.API_REJECTED),
            ["Unprocessable Entity", "email: has already been taken", "Phone number must be E.164"],
            id="422-provider-words",
        ),
        pytest.param(
            400,
            {},
            _json(
                statusCode=400,
                message="Bad Request",
                data={"statusCode": 400, "message": "first_name or name is required"},
                provider_errors=[{"status": 400, "raw": "candidate.name can't be blank"}],
            ),
            (RejectedApiError, Code.API_REJECTED),
            ["Bad Request", "first_name or name is required", "candidate.name can't be blank"],
            id="400-data-message-and-raw-string",
        ),
        pytest.param(
            400,
            {},
            _json(statusCode=400, message="Bad", provider_errors=[{"raw": {"email": ["invalid"]}}]),
            (RejectedApiError, Code.API_REJECTED),
            ["email: invalid"],
            id="400-field-map-raw",
        ),
        pytest.param(
            413,
            {},
            b"Payload Too Large",
            (RejectedApiError, Code.API_REJECTED),
            ["HTTP 413", "Payload Too Large"],
            id="413-other-4xx-non-json",
        ),
        pytest.param(
            409,
            {},
            _json(statusCode=409, message="Candidate already exists"),
            (RejectedApiError, Code.ALREADY_EXISTS),
            ["already exists"],
            id="409-already-exists",
        ),
        pytest.param(
            429,
            {"Retry-After": "60"},
            _json(statusCode=429, message="Too many requests"),
            (RetriableApiError, 60.0),
            ["Too many requests"],
            id="429-seconds",
        ),
        pytest.param(
            429,
            {"retry-after": "Thu, 01 Jan 2026 00:00:30 GMT"},
            b"",
            (RetriableApiError, 31.1),  # to the end of the named second, plus a margin
            ["429"],
            id="429-http-date-lowercase-header",
        ),
        pytest.param(
            408,
            {"Retry-After": "soon"},
            _json(statusCode=408, message="Request timed out"),
            (RetriableApiError, None),
            ["Request timed out"],
            id="408-junk-retry-after",
        ),
        pytest.param(
            401,
            {},
            _json(statusCode=401, message="Unauthorized"),
            FatalApiError,
            ["STACKONE_API_KEY", "Unauthorized"],
            id="401",
        ),
        pytest.param(403, {}, b"", FatalApiError, ["scopes", "HTTP 403"], id="403"),
        pytest.param(404, {}, b"", FatalApiError, ["--account-id"], id="404-bad-account"),
        pytest.param(412, {}, b"", FatalApiError, ["integration"], id="412"),
        pytest.param(501, {}, b"", FatalApiError, ["does not support"], id="501"),
        pytest.param(302, {}, b"", FatalApiError, ["--base-url"], id="302-unexpected"),
        pytest.param(
            500,
            {},
            _json(statusCode=500, message="Internal server error"),
            AmbiguousApiError,
            ["may exist", "Internal server error"],
            id="500",
        ),
        pytest.param(
            502, {}, b"<html>Bad Gateway</html>", AmbiguousApiError, ["Bad Gateway"], id="502-html"
        ),
        pytest.param(503, {}, b"\xff\xfe\x00junk", AmbiguousApiError, ["HTTP 503"], id="503-bytes"),
        pytest.param(504, {}, b"", AmbiguousApiError, ["HTTP 504"], id="504-empty"),
        pytest.param(
            200,
            HEARTBEAT,
            b"\n\n\n" + _json(statusCode=409, message="Conflict"),
            (RejectedApiError, Code.ALREADY_EXISTS),
            ["HTTP 409"],
            id="heartbeat-200-body-409",
        ),
        pytest.param(
            200,
            HEARTBEAT,
            b"\n\n" + _json(statusCode=201, message="ok", data={"id": "c3", "remote_id": "r3"}),
            Created(201, "c3", "r3"),
            None,
            id="heartbeat-200-body-201",
        ),
        pytest.param(
            200,
            HEARTBEAT,
            b"\n\n\n" + PROVIDER_422,
            (RejectedApiError, Code.API_REJECTED),
            ["has already been taken"],
            id="heartbeat-200-body-422",
        ),
        pytest.param(
            200,
            HEARTBEAT,
            b"\n\n"
            + _json(statusCode=408, message="timed out", data={"headers": {"Retry-After": "5"}}),
            (RetriableApiError, 5.0),
            ["timed out"],
            id="heartbeat-200-body-408-retry-after-in-body",
        ),
        pytest.param(
            200,
            HEARTBEAT,
            b"\n\n\n\n",
            AmbiguousApiError,
            ["heartbeat", "may exist"],
            id="heartbeat-cut-off",
        ),
        pytest.param(
            201,
            {},
            b"\n\n" + _json(statusCode=409, message="Conflict"),
            Created(201, None, None),
            None,
            id="no-heartbeat-http-status-wins",
        ),
    ],
)
def test_classify_response(
    status: int,
    headers: dict[str, str],
    body: bytes,
    expected: Any,
    words: list[str] | None,
) -> None:
    if isinstance(expected, Created):
        assert _classify(status, body, headers) == expected
        return
    error_type, detail = expected if isinstance(expected, tuple) else (expected, None)
    with pytest.raises(error_type) as caught:
        _classify(status, body, headers)
    error = caught.value
    assert isinstance(error, ApiError)
    if isinstance(error, RejectedApiError):
        assert error.code is detail
    if isinstance(error, RetriableApiError):
        assert error.retry_after == pytest.approx(detail)
    for word in words or []:
        assert word in error.message
    assert "Traceback" not in error.message


def test_classify_clips_a_huge_provider_body() -> None:
    body = _json(statusCode=422, message="bad", provider_errors=[{"raw": "x" * 10_000}])
    with pytest.raises(RejectedApiError) as caught:
        _classify(422, body)
    assert len(caught.value.message) < 600


# -- ApiClient over aioresponses ------------------------------------------------------------------


def _client(**options: Any) -> ApiClient:
    return ApiClient(BASE, KEY, ACCOUNT, **options)


def _calls(mock: FakeApi, method: str) -> list[tuple[URL, dict[str, Any]]]:
    return [
        (url, call.kwargs)
        for (m, url), calls in mock.requests.items()
        if m == method
        for call in calls
    ]


def test_create_sends_auth_account_agent_and_the_body_bytes_unchanged() -> None:
    body = b'{"first_name":"Ada","last_name":"Lovelace","email":"ada@example.com"}'

    async def main() -> Created:
        async with _client() as client:
            return await client.create_candidate(body)

    with FakeApi() as mock:
        mock.post(
            POST_URL,
            status=201,
            payload={"statusCode": 201, "data": {"id": "c1", "remote_id": "r"}},
        )
        created = asyncio.run(main())
        [(url, sent)] = _calls(mock, "POST")

    assert created == Created(201, "c1", "r")
    assert str(url) == POST_URL
    assert sent["data"] is body
    headers = sent["headers"]
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert headers["x-account-id"] == ACCOUNT
    assert headers["User-Agent"] == f"importer/{__version__}"
    assert headers["Content-Type"] == "application/json"
    assert "Prefer" not in headers
    assert sent["allow_redirects"] is False


def test_heartbeat_sends_prefer_and_reads_the_body_past_newlines() -> None:
    async def main() -> Created:
        async with _client(heartbeat=True) as client:
            return await client.create_candidate(b"{}")

    with FakeApi() as mock:
        mock.post(
            POST_URL,
            status=200,
            headers=HEARTBEAT,
            body=b"\n\n\n\n" + _json(statusCode=201, message="ok", data={"id": "c9"}),
        )
        created = asyncio.run(main())
        [(_, sent)] = _calls(mock, "POST")

    assert sent["headers"]["Prefer"] == "heartbeat"
    assert created == Created(201, "c9", None)


def test_find_by_email_filters_and_matches_emails_case_insensitively() -> None:
    async def main() -> Created | None:
        async with _client() as client:
            return await client.find_candidate_by_email(" Ada@Example.com ")

    page = {
        "next": None,
        "data": [
            {"id": "x", "email": "someone@else.com"},
            {
                "id": "c7",
                "remote_id": "r7",
                "emails": [{"type": "work", "value": "ADA@example.COM"}],
            },
        ],
    }
    with FakeApi() as mock:
        mock.get(GET_URL, status=200, payload=page)
        found = asyncio.run(main())
        [(url, sent)] = _calls(mock, "GET")

    assert found == Created(200, "c7", "r7")
    assert url.query["filter[email]"] == "Ada@Example.com"
    assert sent["headers"]["x-account-id"] == ACCOUNT
    assert sent["headers"]["Authorization"].startswith("Basic ")


def test_find_by_email_follows_next_cursors() -> None:
    async def main() -> Created | None:
        async with _client() as client:
            return await client.find_candidate_by_email("ada@example.com")

    with FakeApi() as mock:
        mock.get(GET_URL, status=200, payload={"next": "p2", "data": [{"id": "a", "email": "b@c"}]})
        mock.get(GET_URL, status=200, payload={"next": "p3", "data": []})
        mock.get(GET_URL, status=200, payload={"data": [{"id": "c8", "email": "ada@example.com"}]})
        found = asyncio.run(main())
        cursors = [url.query.get("next") for url, _ in _calls(mock, "GET")]

    assert found == Created(200, "c8", None)
    assert sorted(cursors, key=str) == sorted([None, "p2", "p3"], key=str)


def test_find_by_email_not_found_and_a_repeating_cursor_ends() -> None:
    async def main() -> Created | None:
        async with _client() as client:
            return await client.find_candidate_by_email("ada@example.com")

    with FakeApi() as mock:
        mock.get(GET_URL, status=200, payload={"next": "same", "data": []}, repeat=True)
        assert asyncio.run(main()) is None
        assert len(_calls(mock, "GET")) == 2


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (429, b"", RetriableApiError),
        (503, b"", AmbiguousApiError),
        (200, b"<html>", AmbiguousApiError),
        (400, _json(statusCode=400, message="filter not supported"), RejectedApiError),
        (401, b"", FatalApiError),
    ],
)
def test_find_by_email_classifies_failures(
    status: int, body: bytes, error_type: type[ApiError]
) -> None:
    async def main() -> Created | None:
        async with _client() as client:
            return await client.find_candidate_by_email("ada@example.com")

    with FakeApi() as mock:
        mock.get(GET_URL, status=status, body=body, headers={"Retry-After": "3"})
        with pytest.raises(error_type):
            asyncio.run(main())


def _refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


@pytest.mark.parametrize(
    ("exception", "error_type", "kind"),
    [
        (_refused(), NotSentError, "refused"),
        (aiohttp.ConnectionTimeoutError("connect"), NotSentError, "connect-timeout"),
        (aiohttp.ServerDisconnectedError(), NoAnswerError, "disconnected"),
        (aiohttp.SocketTimeoutError("read"), NoAnswerError, "timeout"),
        (TimeoutError(), NoAnswerError, "timeout"),
        (aiohttp.ClientPayloadError("cut"), NoAnswerError, "truncated"),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), NoAnswerError, "connection"),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_arrived(
    exception: Exception, error_type: type[ApiError], kind: str
) -> None:
    async def main() -> Created:
        async with _client() as client:
            return await client.create_candidate(b"{}")

    with FakeApi() as mock:
        mock.post(POST_URL, exception=exception)
        with pytest.raises(error_type) as caught:
            asyncio.run(main())

    error = caught.value
    assert isinstance(error, NotSentError | NoAnswerError)
    assert error.kind == kind
    assert error.status is None
    assert error.__cause__ is None
    assert error.__suppress_context__
    # A disconnect may have created the candidate: it must never pass for "safe to resend".
    assert isinstance(error, AmbiguousApiError) == (error_type is NoAnswerError)
    assert not isinstance(error, RetriableApiError)


def test_the_api_key_never_shows_in_errors_or_repr() -> None:
    echoed = _json(
        statusCode=400,
        message=f"bad header Authorization: Basic {base64.b64encode(f'{KEY}:'.encode()).decode()}",
        provider_errors=[{"raw": {"message": f"key {KEY} is not valid here"}}],
    )

    async def main() -> None:
        async with _client() as client:
            assert KEY not in repr(client)
            with pytest.raises(RejectedApiError) as caught:
                await client.create_candidate(b"{}")
            assert KEY not in caught.value.message
            assert base64.b64encode(KEY.encode()).decode()[:12] not in caught.value.message
            assert "***" in caught.value.message

    with FakeApi() as mock:
        mock.post(POST_URL, status=400, body=echoed)
        asyncio.run(main())


def test_using_the_client_outside_async_with_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(_client().create_candidate(b"{}"))


# -- real sockets on 127.0.0.1: aiohttp's own exceptions, not our fakes of them --------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_connection_refused_on_a_real_socket_is_safe_to_resend() -> None:
    async def main() -> None:
        async with ApiClient(f"http://127.0.0.1:{_closed_port()}", KEY, ACCOUNT) as client:
            with pytest.raises(NotSentError) as caught:
                await client.create_candidate(b"{}")
            assert caught.value.kind == "refused"
            assert KEY not in caught.value.message

    asyncio.run(main())


def test_a_server_that_hangs_up_after_reading_the_request_is_ambiguous() -> None:
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()
        await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with ApiClient(f"http://127.0.0.1:{port}", KEY, ACCOUNT) as client:
                with pytest.raises(NoAnswerError) as caught:
                    await client.create_candidate(b'{"first_name":"Ada"}')
        finally:
            server.close()
            await server.wait_closed()
        assert caught.value.kind == "disconnected"
        assert isinstance(caught.value, AmbiguousApiError)

    asyncio.run(main())
    assert received
    assert received[0].startswith(b"POST /unified/ats/candidates HTTP/1.1")
