"""The page's HTTP replies: JSON errors, the JSON body of a request, static files, download
names, and the security headers every answer carries."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

from aiohttp import web

SECURITY_HEADERS = {
    # Scripts and styles come from this server only: even a cell that slipped past escaping
    # could not run. Nothing is framed, and the token never leaves in a Referer.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


def json_error(status: int, message: str, *, code: str | None = None) -> web.Response:
    """``code``: a stable kebab-case name of the refusal, for scripts (the page shows the
    message)."""
    body = {"error": message} if code is None else {"error": message, "code": code}
    return web.json_response(body, status=status)


def bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=_json_text(message), content_type="application/json")


def not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=_json_text(message), content_type="application/json")


def _json_text(message: str) -> str:
    return json.dumps({"error": message})


async def read_json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise bad_request("send a JSON object") from None
    if not isinstance(body, dict):
        raise bad_request("send a JSON object")
    return body


def static_text(name: str) -> str:
    return (importlib.resources.files("importer.web") / "static" / name).read_text(encoding="utf-8")


def download_stem(name: str) -> str:
    """The upload's name without its extension, fit for a download's file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-") or "import"
