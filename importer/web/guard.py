"""The page's trust boundary: which requests the server answers, and from where.

Any page in any browser on this machine can send requests to 127.0.0.1, and cookies are shared
by every port of a host, so the token alone is not enough. A request is answered when:

- its ``Host`` names the address the server listens on (or one configured): a page whose
  domain was made to resolve to 127.0.0.1 (DNS rebinding) is refused;
- it proves the token: the ``?token=`` of the printed link (which sets the cookie and
  redirects), the ``X-Importer-Token`` header (scripts), or the cookie. The cookie's name and
  value are derived from the token and the port, so a cookie that reaches another server on
  this host is no key to this one, and no key at all without the token;
- with the cookie, the browser says it comes from this page: ``Sec-Fetch-Site`` is
  ``same-origin`` (or ``none``: typed or bookmarked), and a request that changes anything also
  carries the ``X-Importer-Request`` header and, when the browser sends one, a same-origin
  ``Origin``. A page of another origin cannot add that header without a CORS preflight, which
  this server never grants, so ``fetch(..., {mode: "no-cors", credentials: "include"})`` from
  another local port is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from importer.loopback import allowed_hosts

TOKEN_HEADER = "X-Importer-Token"
REQUEST_HEADER = "X-Importer-Request"
"""Sent by the page's own script on every API call; a foreign page cannot send it."""
_SAFE_METHODS = {"GET", "HEAD"}
_FROM_THIS_PAGE = {"same-origin", "none"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cookie_of(token: str, port: int) -> tuple[str, str]:
    """The access cookie's name and value for the server on ``port``."""
    value = hmac.new(token.encode(), f"importer-web:{port}".encode(), hashlib.sha256).hexdigest()
    return f"importer_{port}_{value[:8]}", value


def same(offered: str, expected: str) -> bool:
    """Constant-time comparison that takes any text a client sends, bytes that are not UTF-8
    included (aiohttp hands those over as surrogates)."""
    return hmac.compare_digest(
        offered.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


class Guard:
    """The middleware that applies the rules above, for a server once it listens."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.hosts: frozenset[str] = frozenset()
        self.cookie = ("", "")

    def listening(self, host: str, port: int, extra: Iterable[str]) -> None:
        self.hosts = allowed_hosts(host, port, extra)
        self.cookie = cookie_of(self.token, port)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.host.lower() not in self.hosts:
            return _refuse(
                request,
                421,
                "this server answers only at the address `importer serve` printed; open that",
            )
        offered = request.query.get("token")
        if offered is not None and same(offered, self.token):
            if request.method == "GET" and request.path == "/":
                # Keep the token out of the address bar, the history and bookmarks.
                response = web.HTTPFound("/")
                name, value = self.cookie
                response.set_cookie(name, value, httponly=True, samesite="Strict", path="/")
                raise response
            return await handler(request)
        header = request.headers.get(TOKEN_HEADER)
        if header is not None and same(header, self.token):
            return await handler(request)
        name, value = self.cookie
        cookie = request.cookies.get(name)
        if cookie is not None and same(cookie, value):
            problem = self._foreign(request)
            if problem is None:
                return await handler(request)
            return _refuse(request, 403, problem)
        return _refuse(
            request,
            401,
            "this page needs its access token: open the address that `importer serve` printed "
            "(it ends in ?token=...)",
        )

    def _foreign(self, request: web.Request) -> str | None:
        """Why a cookie-authenticated request does not come from this page, or None."""
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in _FROM_THIS_PAGE:
            return "requests from other pages are refused: use the page `importer serve` printed"
        if request.method in _SAFE_METHODS:
            return None
        if REQUEST_HEADER not in request.headers:
            return "changes are accepted from the importer's own page only"
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower().removeprefix("http://") not in self.hosts:
            return "requests from other pages are refused: use the page `importer serve` printed"
        return None


def _refuse(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status)
    return web.Response(status=status, text=f"{status}: {message}\n")
