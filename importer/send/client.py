"""The HTTP boundary: StackOne requests over one aiohttp session, and the one answer classifier."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson
from multidict import CIMultiDict, CIMultiDictProxy

from importer import __version__
from importer.clock import Clock, SystemClock
from importer.errors import (
    AmbiguousApiError,
    ApiError,
    Code,
    FatalApiError,
    RejectedApiError,
    RetriableApiError,
)
from importer.send.retry import parse_retry_after

CANDIDATES_PATH = "/unified/ats/candidates"

# No total timeout: a heartbeat request may legitimately run for minutes. sock_read applies per
# chunk, so heartbeat newlines keep a slow create alive, while a silent server is cut off after
# 90 s, comfortably past StackOne's own 60 s request lifetime (after which it answers 408).
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=90.0)

# A cursor that comes back forever must not hang the duplicate guard.
_MAX_LOOKUP_PAGES = 50
_MAX_WORDS = 500

_FATAL_HINTS = {
    401: "the API key was refused; check STACKONE_API_KEY",
    403: (
        "the API key may not create candidates; check the key's scopes "
        "(Full Access is needed) and that no proxy strips the User-Agent"
    ),
    404: "the linked account was not found; check --account-id or STACKONE_ACCOUNT_ID",
    412: "the linked account's integration is disabled or expired; re-enable it in StackOne",
    501: "this ATS does not support creating candidates through StackOne",
}


@dataclass(frozen=True, slots=True)
class Created:
    """A candidate in the ATS: just created (201) or found by the duplicate guard (200)."""

    status: int
    id: str | None
    remote_id: str | None


class NotSentError(ApiError):
    """The request never reached the server (refused, DNS, connect timeout): safe to resend.

    Not a RetriableApiError: there is no HTTP status and no Retry-After, only backoff.
    ``kind`` names the failure for the summary's request counts.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class NoAnswerError(AmbiguousApiError):
    """The request was sent but no complete answer came back (disconnect, read timeout, reset).

    ``kind`` names the failure for the summary's request counts.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message, status=None)
        self.kind = kind


def classify_response(
    status: int, headers: Mapping[str, str], body: bytes, *, now_wall: float
) -> Created:
    """Turn one HTTP answer into a ``Created`` or raise the ``ApiError`` that says what to do.

    201 (or any 2xx) → Created. 408/429 → RetriableApiError with the Retry-After in seconds.
    409 → RejectedApiError(already-exists); 400, 422 and other 4xx → RejectedApiError(api-rejected)
    carrying StackOne's message and the provider's own words. 401/403/404/412/501 →
    FatalApiError naming the fix. 5xx → AmbiguousApiError. With ``Preference-Applied:
    heartbeat`` the status line was sent before the work finished, so the body's ``statusCode``
    decides.

    Why POST retries are narrow: creates are not idempotent. 429 and 408 mean the request was
    not processed, so they are safe to resend. A 5xx, a read timeout or a dropped connection may
    have created the candidate, so it is never resent blindly: the sender's duplicate guard
    looks the e-mail up first.
    """
    payload = _json_object(body)
    if "heartbeat" in _header(headers, "Preference-Applied").lower():
        body_status = _status_of(payload)
        if body_status is not None:
            status = body_status
        elif 200 <= status < 300:
            raise AmbiguousApiError(
                f"HTTP {status} heartbeat answer ended without a result: the candidate may exist",
                status,
            )

    if 200 <= status < 300:
        data = payload.get("data") if payload is not None else None
        if isinstance(data, dict):
            return Created(
                status, _text_or_none(data.get("id")), _text_or_none(data.get("remote_id"))
            )
        return Created(status, None, None)

    words = _api_words(payload, body)
    said = f"HTTP {status}: {words}" if words else f"HTTP {status}"
    if status in (408, 429):
        retry_after = _header(headers, "Retry-After") or _body_header(payload, "retry-after")
        raise RetriableApiError(
            f"throttled ({said})", status, parse_retry_after(retry_after or None, now_wall)
        )
    if status in _FATAL_HINTS:
        raise FatalApiError(f"{_FATAL_HINTS[status]} ({said})", status)
    if status == 409:
        raise RejectedApiError(
            f"the candidate already exists in the ATS ({said})", status, Code.ALREADY_EXISTS
        )
    if 400 <= status < 500:
        raise RejectedApiError(f"the ATS refused the row ({said})", status, Code.API_REJECTED)
    if status >= 500:
        raise AmbiguousApiError(f"server error, the candidate may exist ({said})", status)
    raise FatalApiError(
        f"unexpected answer ({said}); check --base-url points at the StackOne API", status
    )


class ApiClient:
    """StackOne's candidate endpoints over one aiohttp session; use ``async with``.

    Every request carries Basic auth (the API key as user, empty password), ``x-account-id``
    and a ``User-Agent``. Transport failures become ``NotSentError`` (nothing reached the server:
    safe to resend) or ``NoAnswerError`` (sent, answer lost: the create may have happened).
    The API key never appears in a message or a repr, even when an answer quotes it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        account_id: str,
        *,
        heartbeat: bool = False,
        timeout: aiohttp.ClientTimeout | None = None,
        user_agent: str = f"importer/{__version__}",
        limit: int = 100,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self.heartbeat = heartbeat
        self._candidates_url = self.base_url + CANDIDATES_PATH
        credentials = base64.b64encode(f"{api_key}:".encode()).decode("ascii")
        authorization = f"Basic {credentials}"
        self._secrets = (api_key, credentials)
        # Built once as aiohttp's own header type, which it would otherwise convert every request.
        self._get_headers = CIMultiDict(
            {
                "Authorization": authorization,
                "x-account-id": account_id,
                "User-Agent": user_agent,
                "Accept": "application/json",
            }
        )
        self._post_headers = self._get_headers.copy()
        self._post_headers["Content-Type"] = "application/json"
        if heartbeat:
            self._post_headers["Prefer"] = "heartbeat"
        self._timeout = timeout if timeout is not None else DEFAULT_TIMEOUT
        self._limit = limit
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, account_id={self.account_id!r})"

    def for_account(self, account_id: str) -> ApiClient:
        """This client (its session and key) for another linked account, for routed rows."""
        view = copy.copy(self)
        view.account_id = account_id
        view._get_headers = self._get_headers.copy()
        view._get_headers["x-account-id"] = account_id
        view._post_headers = self._post_headers.copy()
        view._post_headers["x-account-id"] = account_id
        return view

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._limit), timeout=self._timeout
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create_candidate(self, body: bytes) -> Created:
        """POST one already-serialised ``AtsCreateCandidateRequestDto``."""
        status, headers, answer = await self._exchange(
            "POST", self._candidates_url, headers=self._post_headers, data=body
        )
        return self._classify(status, headers, answer)

    async def find_candidate_by_email(self, email: str) -> Created | None:
        """The first candidate whose ``email`` or ``emails[].value`` is ``email`` (any case)."""
        wanted = email.strip().casefold()
        params = {"filter[email]": email.strip()}
        seen_cursors: set[str] = set()
        for _ in range(_MAX_LOOKUP_PAGES):
            status, headers, answer = await self._exchange(
                "GET", self._candidates_url, headers=self._get_headers, params=params
            )
            if not 200 <= status < 300:
                self._classify(status, headers, answer)
            page = _json_object(answer)
            if page is None or not isinstance(page.get("data", []), list):
                raise AmbiguousApiError(
                    f"HTTP {status}: the candidate search answered something that is not a "
                    "candidate list",
                    status,
                )
            for candidate in page.get("data", []):
                if isinstance(candidate, Mapping) and wanted in _emails_of(candidate):
                    return Created(
                        status,
                        _text_or_none(candidate.get("id")),
                        _text_or_none(candidate.get("remote_id")),
                    )
            cursor = page.get("next")
            if not isinstance(cursor, str) or not cursor or cursor in seen_cursors:
                return None
            seen_cursors.add(cursor)
            params = {"filter[email]": email.strip(), "next": cursor}
        return None

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        if self._session is None:
            raise RuntimeError("use ApiClient as `async with ApiClient(...) as client:`")
        host = self.base_url
        # Every aiohttp error is re-raised `from None`: response errors carry the request
        # headers, Authorization included, in their repr.
        try:
            async with self._session.request(
                method, url, headers=headers, data=data, params=params, allow_redirects=False
            ) as response:
                answer = await response.read()
                return response.status, response.headers, answer
        except aiohttp.ClientSSLError as error:
            raise FatalApiError(f"TLS failed for {host}: {error}") from None
        except aiohttp.ClientConnectorDNSError as error:
            raise NotSentError(f"could not resolve {host}: {error}", "dns") from None
        except aiohttp.ClientConnectorError as error:
            raise NotSentError(f"could not connect to {host}: {error}", "refused") from None
        except aiohttp.ConnectionTimeoutError:
            raise NotSentError(f"could not connect to {host} in time", "connect-timeout") from None
        except aiohttp.ServerDisconnectedError:
            raise NoAnswerError(
                f"{host} closed the connection before answering; the candidate may exist",
                "disconnected",
            ) from None
        except TimeoutError:
            raise NoAnswerError(
                f"no answer from {host} in {self._timeout.sock_read} s; the candidate may exist",
                "timeout",
            ) from None
        except aiohttp.InvalidURL:
            raise FatalApiError(f"invalid API URL {url!r}; check --base-url") from None
        except aiohttp.ClientPayloadError:
            raise NoAnswerError(
                f"the answer from {host} was cut off; the candidate may exist", "truncated"
            ) from None
        except aiohttp.ClientError as error:
            raise NoAnswerError(
                f"connection to {host} failed ({type(error).__name__}); the candidate may exist",
                "connection",
            ) from None

    def _classify(self, status: int, headers: Mapping[str, str], answer: bytes) -> Created:
        try:
            return classify_response(status, headers, answer, now_wall=self._clock.wall())
        except ApiError as error:
            # A server (or a proxy) that echoes the request must not leak the key into
            # rejects.csv. Only the message is scrubbed, never the answer itself: a short key
            # such as "any" also occurs inside e-mails and ids, which must stay as they came.
            error.message = self._scrub(error.message)
            error.args = (error.message,)
            raise

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    # aiohttp's headers ignore case already; only a plain mapping needs the scan.
    if value is None and not isinstance(headers, CIMultiDictProxy | CIMultiDict):
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value if isinstance(value, str) else ""


def _body_header(payload: Mapping[str, Any] | None, name: str) -> str:
    # After a heartbeat the real headers were already sent; UnifiedError.data.headers may hold them.
    data = payload.get("data") if payload is not None else None
    headers = data.get("headers") if isinstance(data, Mapping) else None
    if not isinstance(headers, Mapping):
        return ""
    value = _header({str(k): v for k, v in headers.items() if isinstance(v, str)}, name)
    return value


def _status_of(payload: Mapping[str, Any] | None) -> int | None:
    value = payload.get("statusCode") if payload is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value == int(value) and 100 <= value <= 599 else None


def _text_or_none(value: object) -> str | None:
    if type(value) is str:
        return value
    if value is None or isinstance(value, bool):
        return None
    return str(value) if isinstance(value, str | int) else None


def _emails_of(candidate: Mapping[str, Any]) -> set[str]:
    found = set()
    if isinstance(candidate.get("email"), str):
        found.add(candidate["email"].strip().casefold())
    for entry in candidate.get("emails") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("value"), str):
            found.add(entry["value"].strip().casefold())
    return found


def _api_words(payload: Mapping[str, Any] | None, body: bytes) -> str:
    """StackOne's message, then the provider's own words: what a recruiter needs to fix the row."""
    if payload is None:
        text = " ".join(body.decode("utf-8", "replace").split())
        return _clip(f"non-JSON answer: {text}") if text else ""
    parts: list[str] = []
    message = payload.get("message")
    if isinstance(message, str) and message.strip():
        parts.append(message.strip())
    data = payload.get("data")
    if isinstance(data, Mapping):
        parts.extend(_texts(data.get("message")))
    provider: list[str] = []
    for error in payload.get("provider_errors") or ():
        if isinstance(error, Mapping):
            provider.extend(_texts(error.get("raw")))
    provider = [p for p in dict.fromkeys(provider) if p not in parts]
    words = "; ".join(dict.fromkeys(parts))
    if provider:
        words = f"{words}; provider says: {'; '.join(provider)}" if words else "; ".join(provider)
    return _clip(words)


# Keys providers use for human text, and for the field a message is about.
_TEXT_KEYS = (
    "message",
    "msg",
    "error",
    "error_description",
    "detail",
    "details",
    "description",
    "reason",
    "title",
    "errors",
)
_FIELD_KEYS = ("field", "path", "param", "parameter", "attribute", "pointer", "loc", "key")


def _texts(raw: object, depth: int = 0) -> list[str]:
    """The human-readable strings in a provider's raw error, ``field: message`` where named."""
    if depth > 5:
        return []
    if isinstance(raw, str):
        return [raw.strip()] if raw.strip() else []
    if isinstance(raw, list):
        return [text for item in raw for text in _texts(item, depth + 1)]
    if not isinstance(raw, Mapping):
        return []
    texts = [text for key in _TEXT_KEYS for text in _texts(raw.get(key), depth + 1)]
    if not texts:
        # Unknown shape: a field-name → messages map ({"email": ["is invalid"]}) reads well enough.
        texts = [
            f"{key}: {text}"
            for key, value in raw.items()
            if isinstance(value, str | list) and key not in _FIELD_KEYS
            for text in _texts(value, depth + 1)
        ]
    field = next((raw[key] for key in _FIELD_KEYS if isinstance(raw.get(key), str | list)), None)
    if isinstance(field, list):
        field = ".".join(str(part) for part in field)
    if field and texts:
        texts[0] = f"{field}: {texts[0]}"
    return texts


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_WORDS else text[: _MAX_WORDS - 1] + "…"
