"""The aiohttp server behind the page: access token, JSON API, static files, life cycle.

Every request needs the access token: the link printed at start carries it once
(``/?token=...``), which sets a cookie for this port and redirects to the bare page; scripts
may send it as an ``X-Importer-Token`` header instead. ``guard`` says what else a request
needs (the right Host; from the page, same-origin headers). The API::

    GET  /api/config                       limits, shipped mappings, targets, import options
    POST /api/uploads                      multipart field "file" → the upload and its columns
    GET  /api/uploads/{id}?sheet=NAME      the same for another sheet of a workbook
    POST /api/uploads/{id}/mapping         {sheet, mapping} → the YAML, columns read, problem
    POST /api/uploads/{id}/check           {sheet, mapping} → a check job (the dry run)
    POST /api/jobs/{id}/import             {target, account_id} → an import of a checked file
    GET  /api/jobs/{id}                    state, progress, summary, a check's counts
    GET  /api/jobs/{id}/rows?show=S&page=N a page of a check's rows (all, problems, edited)
    POST /api/jobs/{id}/cells              {row, column, value} → the row checked again
    GET  /api/jobs/{id}/corrected.{csv|xlsx}  the checked sheet with the corrected cells
    POST /api/jobs/{id}/stop               stop as on Ctrl-C
    POST /api/jobs/{id}/resume             finish a stopped or failed import (its journal's resume)
    GET  /api/jobs/{id}/files/{name}       results.csv, rejects.csv, summary.json, mapping.yaml
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from importer.background import running_in_thread
from importer.errors import TITLES, WARNING_TITLES, ConfigError
from importer.mapping.shipped import mappings_in, shipped_mappings
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.read.sample import Sample, SampleError, read_sample
from importer.record.ledger import WEB_LEDGER_FILE, default_data_dir
from importer.sandbox import SANDBOX_ACCOUNT_ID, Sandbox, SandboxConfig
from importer.send.client import DEFAULT_BASE_URL
from importer.suggest import SAMPLE_ROWS, TARGETS
from importer.web.checkrows import SHOW, CheckRows
from importer.web.choices import ChoiceError, Chosen, choose
from importer.web.corrected import CORRECTED_FORMATS, write_corrected
from importer.web.guard import Guard
from importer.web.jobs import Destination, Job, JobRegistry
from importer.web.replies import (
    add_security_headers,
    bad_request,
    json_error,
    not_found,
    read_json,
    static_text,
)
from importer.web.workspace import (
    SheetInfo,
    Upload,
    UploadError,
    View,
    Workspace,
    display_name,
    format_size,
    too_large,
    view_of,
)

MB = 1024 * 1024
MAX_LIVE_JOBS = 4
"""Checks and imports that may run at once (each is a process of its own)."""
MAX_CELL = 32767
"""The longest text a corrected cell may hold: Excel's own limit for a cell."""
MAX_HEADER_ROW = 1000
_READERS = 2
"""Uploads read at once, each by a process of its own that may take sample.MEMORY_LIMIT: a
burst of uploads waits its turn instead of taking the machine's memory."""
_STATIC = {
    "app.js": "text/javascript",
    "app.css": "text/css",
}
_ACCOUNT_ID = re.compile(r"[\x21-\x7e]{1,200}")
# Room for the multipart envelope around a file of exactly the limit.
_MULTIPART_SLACK = 64 * 1024


@dataclass(frozen=True)
class WebConfig:
    """How ``importer serve`` runs; the CLI flags and environment map onto these."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = field(default=None, repr=False)
    """The access token; None makes a fresh random one."""
    max_upload_bytes: int = 50 * MB
    max_uploads: int = 20
    """Uploads kept at once; past it the least recently used one no run is reading goes."""
    max_storage_bytes: int = 500 * MB
    """Bytes of uploads kept at once, likewise."""
    mappings_dir: Path | None = None
    """The folder of mappings the page offers; None: the mappings shipped with the package."""
    keep_seconds: float = 3600.0
    """How long uploads and finished jobs stay after their last use."""
    api_key: str | None = field(default=None, repr=False)
    """StackOne API key for imports (from the server's environment, never from the page)."""
    base_url: str = DEFAULT_BASE_URL
    account_id: str | None = None
    """The account the page proposes (the user can change it)."""
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    ledger: Path | None = None
    """The ledger of the imports made through the page (None: web-ledger.sqlite in the user's
    data folder), apart from the command line's."""
    limits: WorkbookLimits = DEFAULT_LIMITS
    """How much an uploaded workbook may unpack to (the same flags as the CLI's)."""
    clock: Callable[[], float] = time.monotonic
    allowed_hosts: tuple[str, ...] = ()
    """Host names besides the address listened on that the page may be opened at."""


class WebServer:
    """The page's server; ``async with WebServer(config) as server`` inside a running loop."""

    def __init__(self, config: WebConfig | None = None) -> None:
        self.config = config or WebConfig()
        self.token = self.config.token or secrets.token_urlsafe(24)
        folder = self.config.mappings_dir
        self.mappings = shipped_mappings() if folder is None else mappings_in(folder)
        self._runner: web.AppRunner | None = None
        self._sandbox: Sandbox | None = None
        self._janitor: asyncio.Task[None] | None = None
        self._workspace: Workspace | None = None
        self._jobs: JobRegistry | None = None
        self._guard = Guard(self.token)
        # The page's sandbox starts empty with the server: the ledger must not take the
        # candidates of an earlier server's sandbox for its own.
        self._sandbox_target = f"sandbox {secrets.token_hex(8)}"
        self._readers = asyncio.Semaphore(_READERS)

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the server is not running")
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    @property
    def login_url(self) -> str:
        """The address to open: it carries the token once and sets the cookie."""
        return f"{self.url}/?token={self.token}"

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            raise RuntimeError("the server is not running")
        return self._workspace

    @property
    def jobs(self) -> JobRegistry:
        if self._jobs is None:
            raise RuntimeError("the server is not running")
        return self._jobs

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            raise RuntimeError("the server is not running")
        return self._sandbox

    async def start(self) -> None:
        config = self.config
        self._workspace = Workspace(
            config.max_upload_bytes,
            max_uploads=config.max_uploads,
            max_storage_bytes=config.max_storage_bytes,
            clock=config.clock,
        )
        self._jobs = JobRegistry(
            self._workspace,
            clock=config.clock,
            ledger=config.ledger or default_data_dir() / WEB_LEDGER_FILE,
            limits=config.limits,
        )
        self._workspace.on_forget = self._jobs.forget_upload
        try:
            # A key only this server knows: other programs on the machine cannot read the
            # candidates a recruiter tried out, nor add their own.
            sandbox_config = config.sandbox
            if sandbox_config.api_key is None:
                sandbox_config = replace(sandbox_config, api_key=secrets.token_urlsafe(24))
            self._sandbox = Sandbox(sandbox_config)
            await self._sandbox.start()
            self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False)
            await self._runner.setup()
            await web.TCPSite(self._runner, config.host, config.port).start()
        except BaseException:
            await self.stop()
            raise
        self._guard.listening(config.host, self._runner.addresses[0][1], config.allowed_hosts)
        self._janitor = asyncio.create_task(self._sweep_forever())

    async def stop(self) -> None:
        """Stop the live jobs (their reports are written), the server, the sandbox; delete
        the private folder."""
        if self._janitor is not None:
            self._janitor.cancel()
            with suppress(asyncio.CancelledError):
                await self._janitor
            self._janitor = None
        if self._jobs is not None:
            await self._jobs.close()
            self._jobs = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._sandbox is not None:
            await self._sandbox.stop()
            self._sandbox = None
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    async def __aenter__(self) -> WebServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def sweep(self) -> None:
        """Delete what has not been used for ``keep_seconds`` (the janitor does it each minute)."""
        older_than = self.config.clock() - self.config.keep_seconds
        self.jobs.sweep(older_than)
        self.workspace.sweep(older_than, self.jobs.busy_uploads())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.config.keep_seconds / 4))
            self.sweep()

    # -- the application ---------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard.middleware], client_max_size=MB)
        app.on_response_prepare.append(add_security_headers)
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/static/{name}", self._static),
                web.get("/api/config", self._get_config),
                web.post("/api/uploads", self._upload),
                web.get("/api/uploads/{id}", self._get_upload),
                web.post("/api/uploads/{id}/mapping", self._mapping),
                web.post("/api/uploads/{id}/check", self._check),
                web.get("/api/jobs/{id}", self._get_job),
                web.get("/api/jobs/{id}/rows", self._rows),
                web.post("/api/jobs/{id}/cells", self._edit),
                web.get("/api/jobs/{id}/corrected.{format}", self._corrected),
                web.post("/api/jobs/{id}/import", self._import),
                web.post("/api/jobs/{id}/stop", self._stop),
                web.post("/api/jobs/{id}/resume", self._resume),
                web.get("/api/jobs/{id}/files/{name}", self._file),
            ]
        )
        return app

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text=static_text("index.html"), content_type="text/html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        kind = _STATIC.get(name)
        if kind is None:
            raise web.HTTPNotFound()
        return web.Response(text=static_text(name), content_type=kind)

    async def _get_config(self, request: web.Request) -> web.Response:
        config = self.config
        return web.json_response(
            {
                "max_upload_bytes": config.max_upload_bytes,
                "max_upload": format_size(config.max_upload_bytes),
                "keep_minutes": round(config.keep_seconds / 60),
                "mappings": list(self.mappings),
                "targets": [{"key": t.key, "label": t.label} for t in TARGETS],
                "stackone": config.api_key is not None,
                "codes": {
                    code.value: title for code, title in (*TITLES.items(), *WARNING_TITLES.items())
                },
                "account_id": config.account_id or "",
            }
        )

    # -- uploads and the mapping step --------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        limit = self.workspace.max_upload_bytes
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
            upload = await self.workspace.save(
                display_name(part.filename), chunks(), in_use=self.jobs.running_uploads()
            )
        except UploadError as error:
            return json_error(error.status, str(error))
        try:
            view = await self._view(upload, upload.default_sheet, None)
        except UploadError as error:
            self.workspace.forget(upload)
            return json_error(error.status, str(error))
        passed = []
        if not await asyncio.to_thread(self._readable, upload, view):
            # A summary or a cover sheet first: look for the sheet that holds the candidates.
            for sheet in upload.sheets:
                if not sheet.visible or sheet.name == view.sheet:
                    continue
                with suppress(UploadError):
                    other = await self._view(upload, sheet.name, None)
                    if await asyncio.to_thread(self._readable, upload, other):
                        passed.append(view.sheet)
                        upload.candidates_sheet = other.sheet
                        view = other
                        break
        answer = self._upload_json(upload, view)
        answer["passed_sheets"] = passed
        return web.json_response(answer)

    def _readable(self, upload: Upload, view: View) -> bool:
        """Whether the suggested mapping can read the sheet: a column gives a name (CPU only,
        up to a second for thousands of columns: run it in a thread)."""
        chosen, _ = choose({"columns": {}}, upload, view, self.mappings)
        return chosen.error is None

    async def _get_upload(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        try:
            view = await self._view(
                upload, request.query.get("sheet"), _header_row(request.query.get("header_row"))
            )
        except UploadError as error:
            return json_error(error.status, str(error))
        return web.json_response(self._upload_json(upload, view))

    async def _mapping(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        chosen, _, _ = await self._chosen(request, upload)
        return web.json_response(
            {"label": chosen.label, "yaml": chosen.yaml, "used": chosen.used, "error": chosen.error}
        )

    async def _check(self, request: web.Request) -> web.Response:
        upload = self._upload_of(request)
        chosen, checked, view = await self._chosen(request, upload)
        if chosen.error is not None:
            return json_error(400, chosen.error)
        if self.jobs.live >= MAX_LIVE_JOBS:
            return _busy()
        job = await self.jobs.start(
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
                    upload.path, sheet, self.config.limits, SAMPLE_ROWS, header_row
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
            chosen, checked = choose(body.get("mapping"), upload, view, self.mappings)
        except (UploadError, ChoiceError) as error:
            raise bad_request(str(error)) from None
        return chosen, checked, view

    def _upload_of(self, request: web.Request) -> Upload:
        upload = self.workspace.get(request.match_info["id"])
        if upload is None:
            raise not_found(
                "this upload is no longer on the server (files are deleted after "
                f"{round(self.config.keep_seconds / 60)} minutes unused): upload the file again"
            )
        return upload

    def _upload_json(self, upload: Upload, view: View) -> dict[str, Any]:
        suggestion = view.suggestion
        layout = None
        if suggestion.layout is not None:
            shipped = suggestion.layout.layout.mapping
            layout = {
                "name": suggestion.layout.layout.name,
                "mapping": shipped if shipped in self.mappings else None,
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
            "edited_cells": upload.edited_cells(view.sheet),
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

    # -- jobs -------------------------------------------------------------------------------

    def _job_of(self, request: web.Request) -> Job:
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            raise not_found(
                "this run is no longer on the server (its files are deleted "
                f"{round(self.config.keep_seconds / 60)} minutes after it ends): start again "
                "from the upload"
            )
        return job

    async def _get_job(self, request: web.Request) -> web.Response:
        return web.json_response(self._job_of(request).to_dict())

    async def _import(self, request: web.Request) -> web.Response:
        check = self._job_of(request)
        body = await read_json(request)
        if check.kind != "check" or check.state != "done":
            return json_error(409, "import a file once its check has finished")
        summary = check.summary or {}
        if summary.get("stopped_early") or check.checked is None:
            return json_error(409, "the check was stopped before the end: check the file again")
        if not check.checked.counts()["ready"]:
            return json_error(
                409, "no row is ready to send: correct the cells with problems, or the file"
            )
        target = body.get("target")
        if target == "sandbox":
            destination = Destination(
                "sandbox",
                self.sandbox.url,
                self.sandbox.api_key,
                SANDBOX_ACCOUNT_ID,
                self._sandbox_target,
            )
        elif target == "stackone":
            account = body.get("account_id")
            if self.config.api_key is None:
                return json_error(
                    400,
                    "this server has no StackOne API key: stop it and start it again with "
                    "STACKONE_API_KEY set in its environment, or import into the sandbox",
                )
            if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account.strip()):
                return json_error(
                    400, "enter the StackOne account id (x-account-id) to import into"
                )
            base_url = self.config.base_url
            destination = Destination(
                "stackone", base_url, self.config.api_key, account.strip(), base_url.rstrip("/")
            )
        else:
            return json_error(400, 'target must be "sandbox" or "stackone"')
        if self.jobs.live >= MAX_LIVE_JOBS:
            return _busy()
        mapping = (check.folder / "mapping.yaml").read_text(encoding="utf-8")
        job = await self.jobs.start(
            "import",
            check.upload,
            check.sheet,
            mapping,
            check.mapping_label,
            check.mapping_request,
            header_row=check.header_row,
            edits=check.upload.edits_of(check.sheet),
            target=destination,
            check=check,
        )
        return web.json_response(job.to_dict())

    def _checked_of(self, request: web.Request) -> tuple[Job, CheckRows]:
        job = self._job_of(request)
        if job.checked is None:
            raise web.HTTPConflict(
                text=json.dumps({"error": "these are a finished check's rows: wait for it to end"}),
                content_type="application/json",
            )
        return job, job.checked

    async def _rows(self, request: web.Request) -> web.Response:
        _, checked = self._checked_of(request)
        show = request.query.get("show", "all")
        if show not in SHOW:
            return json_error(400, f"show must be one of: {', '.join(SHOW)}")
        try:
            page = int(request.query.get("page", "1"))
        except ValueError:
            return json_error(400, "page must be a number")
        return web.json_response(checked.page(show, page))

    async def _edit(self, request: web.Request) -> web.Response:
        job, checked = self._checked_of(request)
        body = await read_json(request)
        row, column, value = body.get("row"), body.get("column"), body.get("value")
        if not (isinstance(row, int) and isinstance(column, int) and isinstance(value, str)):
            return json_error(400, 'send {"row": NUMBER, "column": POSITION, "value": TEXT}')
        if len(value) > MAX_CELL:
            return json_error(400, f"a cell holds at most {MAX_CELL:,} characters")
        try:
            changed, original = checked.edit(row, column, value)
        except KeyError as error:
            return json_error(400, str(error.args[0]))
        job.upload.edit(job.sheet, row, column, original, value)
        return web.json_response(
            {
                "rows": checked.rows(changed),
                "checked": checked.summary(),
                "edited_cells": job.upload.edited_cells(job.sheet),
            }
        )

    async def _corrected(self, request: web.Request) -> web.Response:
        job = self._job_of(request)
        kind = request.match_info["format"]
        if kind not in CORRECTED_FORMATS:
            raise not_found("the corrected file is a .csv or an .xlsx")
        upload = job.upload
        try:
            data = await asyncio.to_thread(
                write_corrected, upload.path, job.sheet, upload.edits_of(job.sheet), kind
            )
        except ConfigError as error:
            return json_error(400, str(error).replace(str(upload.path), f'"{upload.name}"'))
        stem = _stem(upload.name)
        return web.Response(
            body=data,
            content_type=CORRECTED_FORMATS[kind],
            headers={"Content-Disposition": f'attachment; filename="{stem}-corrected.{kind}"'},
        )

    async def _stop(self, request: web.Request) -> web.Response:
        job = self._job_of(request)
        self.jobs.stop(job)
        return web.json_response(job.to_dict())

    async def _resume(self, request: web.Request) -> web.Response:
        job = self._job_of(request)
        if not self.jobs.resumable(job):
            return json_error(409, "only an import that stopped early or failed can be resumed")
        api_key = self.sandbox.api_key if job.target == "sandbox" else self.config.api_key
        if api_key is None:
            return json_error(400, "this server has no StackOne API key any more")
        if self.jobs.live >= MAX_LIVE_JOBS:
            return _busy()
        await self.jobs.resume(job, api_key)
        return web.json_response(job.to_dict())

    async def _file(self, request: web.Request) -> web.FileResponse:
        job = self._job_of(request)
        name = request.match_info["name"]
        path = job.file(name)
        if path is None:
            raise not_found(f"{name} is not a file of this run")
        download = name if name == "mapping.yaml" else f"{_stem(job.upload.name)}-{name}"
        return web.FileResponse(
            path, headers={"Content-Disposition": f'attachment; filename="{download}"'}
        )


def _stem(name: str) -> str:
    """The upload's name without its extension, fit for a download's file name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem).strip("-") or "import"


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


def _busy() -> web.Response:
    return json_error(
        429,
        f"{MAX_LIVE_JOBS} checks or imports are already running: wait for one to finish, or "
        "stop one, and try again",
    )


@contextmanager
def start_server_thread(config: WebConfig | None = None) -> Iterator[WebServer]:
    """Run a WebServer in a daemon thread for the ``with`` block (tests, notebooks)."""
    with running_in_thread(WebServer(config), "importer-web") as server:
        yield server
