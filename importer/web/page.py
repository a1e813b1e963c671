"""The page itself: its HTML, script and style, and the settings it starts from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from importer.errors import TITLES, WARNING_TITLES
from importer.suggest import TARGETS
from importer.web.replies import static_text
from importer.web.workspace import format_size

if TYPE_CHECKING:
    from importer.web.server import WebServer

_STATIC = {
    "app.js": "text/javascript",
    "app.css": "text/css",
}


class Page:
    """``/``, ``/static/{name}`` and ``/api/config``."""

    def __init__(self, server: WebServer) -> None:
        self.server = server

    async def index(self, request: web.Request) -> web.Response:
        return web.Response(text=static_text("index.html"), content_type="text/html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kind = _STATIC.get(name)
        if kind is None:
            raise web.HTTPNotFound()
        return web.Response(text=static_text(name), content_type=kind)

    async def config(self, request: web.Request) -> web.Response:
        config = self.server.config
        return web.json_response(
            {
                "max_upload_bytes": config.max_upload_bytes,
                "max_upload": format_size(config.max_upload_bytes),
                "keep_minutes": round(config.keep_seconds / 60),
                "mappings": list(self.server.mappings),
                "targets": [{"key": t.key, "label": t.label} for t in TARGETS],
                "stackone": config.api_key is not None,
                "codes": {
                    code.value: title for code, title in (*TITLES.items(), *WARNING_TITLES.items())
                },
                "account_id": config.account_id or "",
            }
        )
