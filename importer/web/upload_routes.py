"""The routes of an upload: receive the file, read a sheet, the mapping step, start its check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from importer.read.sample import Sample, SampleError, read_sample
from importer.suggest import SAMPLE_ROWS, SHEETS_SEARCHED
from importer.web.choices import ChoiceError, Chosen, choose
from importer.web.job_routes import busy
from importer.web.replies import bad_request, json_error, not_found, read_json
from importer.web.workspace import (
    SheetInfo,
    Upload,
    UploadError,
    View,
    display_name,
    edited_cells,
    too_large,
    view_of,
)

if TYPE_CHECKING:
    from importer.web.server import WebServer

MAX_HEADER_ROW = 1000
_READERS = 2
"""Uploads read at once, each by a process of its own that may take sample.MEMORY_LIMIT: a
burst of uploads waits its turn instead of taking the machine's memory."""
# Room for the multipart envelope around a file of exactly the limit.
_MULTIPART_SLACK = 64 * 1024


class UploadRoutes:
    """``/api/uploads``, ``/api/uploads/{id}``, its ``mapping`` and its ``check``."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self._readers = asyncio.Semaphore(_READERS)

    async def upload(self, request: web.Request) -> web.Response:
        limit = self.server.workspace.max_upload_bytes
        if request.content_length is not None and request.content_length > limit + _MULTIPART_SLACK:
            return json_error(413, too_large(limit))
        try:
            reader = await request.multipart()
        except (AssertionError, ValueError, KeyError):
            return json_error(400, 'send the file as multipart/form-data, in the field "file"')
        part = await reader.next()
        while part is not None and not (isinstance(part, BodyPartReader) and part.name == "file"):
            part = await reader.next()
        if not isinstance(part, BodyPartReader):
            return json_error(400, 'send the file as multipart/form-data, in the field "file"')
        file_part = part

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await file_part.read_chunk(64 * 1024):
                yield chunk

        try:
            upload = await self.server.workspace.save(
                display_name(part.filename), chunks(), in_use=self.server.jobs.running_uploads()
            )
        except UploadError as error:
            return json_error(error.status, str(error))
        try:
            view = await self._view(upload, upload.default_sheet, None)
        except UploadError as error:
            self.server.workspace.forget(upload)
            return json_error(error.status, str(error))
        passed: list[str] = []
        if not await asyncio.to_thread(self._readable, upload, view):
            # A summary or a cover sheet first: look for the sheet that holds the candidates.
            passed.append(view.sheet or "")
            visible = [sheet for sheet in upload.sheets if sheet.visible]
            for sheet in visible[:SHEETS_SEARCHED]:
                if sheet.name == view.sheet:
                    continue
                with suppress(UploadError):
                    other = await self._view(upload, sheet.name, None)
                    if await asyncio.to_thread(self._readable, upload, other):
                        view = upload.found_candidates(other, passed)
                        break
                passed.append(sheet.name)
            else:
                passed = []  # no sheet names a candidate: the first is shown, none passed
        answer = self._upload_json(upload, view)
        answer["passed_sheets"] = passed
        return web.json_response(answer)

    def _readable(self, upload: Upload, view: View) -> bool:
        """Whether the suggested mapping can read the sheet: a column gives a name (CPU only,
        up to a second for thousands of columns: run it in a thread)."""
        chosen, _ = choose({"columns": {}}, upload, view, self.server.mappings)
        return chosen.error is None

    async def get_upload(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        try:
            view = await self._view(
                upload, request.query.get("sheet"), _header_row(request.query.get("header_row"))
            )
        except UploadError as error:
            return json_error(error.status, str(error))
        return web.json_response(self._upload_json(upload, view))

    async def mapping(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        chosen, _, _ = await self._chosen(request, upload)
        return web.json_response(
            {"label": chosen.label, "yaml": chosen.yaml, "used": chosen.used, "error": chosen.error}
        )

    async def check(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        chosen, checked, view = await self._chosen(request, upload)
        if chosen.error is not None:
            return json_error(400, chosen.error)
        if (full := busy(self.server.jobs)) is not None:
            return full
        job = await self.server.jobs.start(
            "check",
            upload,
            view.sheet,
            chosen.yaml,
            chosen.label,
            checked,
            header_row=view.header_row,
            edits=upload.edits_of(view.sheet),
        )
        return web.json_response(job.to_dict())

    async def _view(self, upload: Upload, sheet: str | None, header_row: int | None) -> View:
        """The sheet read from ``header_row`` (None: the row the headers are found on)."""
        name = upload.sheet(sheet)
        if sheet is not None and name != sheet:
            raise UploadError(f'"{upload.name}" has no sheet named "{sheet}"')
        view = upload.views.get((name, header_row))
        if view is None:
            sample = await self._sample(upload, name, header_row)
            if upload.kind == "xlsx":
                upload.sheets = [SheetInfo(*listed) for listed in sample.sheets]
            view = await asyncio.to_thread(
                view_of, upload, sample.sheet, sample.header_row, sample.headers, sample.rows
            )
            upload.views[(view.sheet, header_row)] = view
            # the row found is also the row the page names from now on
            upload.views.setdefault((view.sheet, view.header_row), view)
        return view

    async def _sample(self, upload: Upload, sheet: str | None, header_row: int | None) -> Sample:
        """The upload read by a process of its own: never here, on the event loop."""
        async with self._readers:
            try:
                return await read_sample(
                    upload.path, sheet, self.server.config.limits, SAMPLE_ROWS, header_row
                )
            except SampleError as error:
                status = 413 if error.costly else 400
                raise UploadError(upload.public(str(error)), status) from None

    async def _chosen(
        self, request: web.Request, upload: Upload
    ) -> tuple[Chosen, dict[str, Any], View]:
        body = await read_json(request)
        sheet = body.get("sheet")
        if sheet is not None and not isinstance(sheet, str):
            raise bad_request("sheet must be a sheet name")
        try:
            view = await self._view(upload, sheet, _header_row(body.get("header_row")))
            chosen, checked = choose(body.get("mapping"), upload, view, self.server.mappings)
        except (UploadError, ChoiceError) as error:
            raise bad_request(str(error)) from None
        return chosen, checked, view

    def _upload_of(self, request: web.Request) -> Upload:
        upload = self.server.workspace.get(request.match_info["id"])
        if upload is None:
            minutes = round(self.server.config.keep_seconds / 60)
            raise not_found(
                "this upload is no longer on the server (files are deleted after "
                f"{minutes} minutes unused): upload the file again"
            )
        return upload

    def _upload_json(self, upload: Upload, view: View) -> dict[str, Any]:
        suggestion = view.suggestion
        layout = None
        if suggestion.layout is not None:
            shipped = suggestion.layout.layout.mapping
            layout = {
                "name": suggestion.layout.layout.name,
                "mapping": shipped if shipped in self.server.mappings else None,
                "text": suggestion.layout.describe(),
            }
        return {
            "id": upload.id,
            "name": upload.name,
            "kind": upload.kind,
            "size": upload.size,
            "sheets": [{"name": s.name, "visible": s.visible} for s in upload.sheets],
            "sheet": view.sheet,
            "header_row": view.header_row,
            "header_found": upload.views.get((view.sheet, None)) is view,
            "edited_cells": edited_cells(upload.edits_of(view.sheet)),
            "headers": view.headers,
            "columns": [
                {
                    "position": c.position,
                    "header": c.header,
                    "examples": view.examples[c.position],
                    "target": None if c.target is None else c.target.key,
                    "note": view.notes.get(c.position, c.note),
                    "mappable": c.mappable,
                }
                for c in suggestion.columns
            ],
            "layout": layout,
        }


def _header_row(value: object) -> int | None:
    """The header row the page asks for: None (find it), or a row number."""
    if value is None or value == "":
        return None
    try:
        row = int(str(value))
    except ValueError:
        raise bad_request("header_row must be a row number") from None
    if not 1 <= row <= MAX_HEADER_ROW:
        raise bad_request(f"the header row must be between 1 and {MAX_HEADER_ROW}")
    return row
