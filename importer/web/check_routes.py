"""The routes of a finished check's rows: a page of them, a cell corrected, the corrected file."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from aiohttp import web

from importer.errors import ConfigError
from importer.web.checkrows import SHOW, CheckRows, EditRefused
from importer.web.corrected import CORRECTED_FORMATS, write_corrected
from importer.web.job_routes import job_of
from importer.web.jobs import Job
from importer.web.replies import download_stem, json_error, not_found, read_json
from importer.web.workspace import edited_cells, put_edit

if TYPE_CHECKING:
    from importer.web.server import WebServer


class CheckRoutes:
    """``/api/jobs/{id}/rows``, ``/cells`` and ``/corrected.{csv|xlsx}``."""

    def __init__(self, server: WebServer) -> None:
        self.server = server

    def _checked_of(self, request: web.Request) -> tuple[Job, CheckRows]:
        job = job_of(self.server, request)
        if job.checked is None:
            raise web.HTTPConflict(
                text=json.dumps({"error": "these are a finished check's rows: wait for it to end"}),
                content_type="application/json",
            )
        return job, job.checked

    async def rows(self, request: web.Request) -> web.Response:
        _, checked = self._checked_of(request)
        show = request.query.get("show", "all")
        if show not in SHOW:
            return json_error(400, f"show must be one of: {', '.join(SHOW)}")
        try:
            page = int(request.query.get("page", "1"))
        except ValueError:
            return json_error(400, "page must be a number")
        return web.json_response(checked.page(show, page))

    async def edit(self, request: web.Request) -> web.Response:
        job, checked = self._checked_of(request)
        body = await read_json(request)
        row, column, value = body.get("row"), body.get("column"), body.get("value")
        if not (isinstance(row, int) and isinstance(column, int) and isinstance(value, str)):
            return json_error(
                400,
                'send {"row": NUMBER, "column": POSITION, "value": TEXT}',
                code="not-a-cell-edit",
            )
        try:
            changed, original = checked.edit(row, column, value)
        except EditRefused as error:
            return json_error(400, str(error), code=error.code)
        put_edit(job.edits, row, column, original, value)
        job.upload.edit(job.sheet, row, column, original, value)
        return web.json_response(
            {
                "rows": checked.rows(changed),
                "checked": checked.summary(),
                "edited_cells": edited_cells(job.edits),
            }
        )

    async def corrected(self, request: web.Request) -> web.Response:
        job = job_of(self.server, request)
        kind = request.match_info["format"]
        if kind not in CORRECTED_FORMATS:
            raise not_found("the corrected file is a .csv or an .xlsx")
        upload = job.upload
        try:
            data = await asyncio.to_thread(write_corrected, upload.path, job.sheet, job.edits, kind)
        except ConfigError as error:
            message = str(error).replace(str(upload.path), f'"{upload.name}"')
            return json_error(400, message, code="corrected-file-not-written")
        stem = download_stem(upload.name)
        return web.Response(
            body=data,
            content_type=CORRECTED_FORMATS[kind],
            headers={"Content-Disposition": f'attachment; filename="{stem}-corrected.{kind}"'},
        )
