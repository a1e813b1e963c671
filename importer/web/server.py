"""The aiohttp server behind the page: its life cycle, the access guard and the route table.

Every request needs the access token: the link printed at start carries it once
(``/?token=...``), which sets a cookie for this port and redirects to the bare page; scripts
may send it as an ``X-Importer-Token`` header instead. ``guard`` says what else a request
needs (the right Host; from the page, same-origin headers). The handlers live by role:
``page`` (the page itself and its settings), ``upload_routes`` (an upload, its sheets, the
mapping step, starting a check), ``check_routes`` (a check's rows, edited cells, the corrected
file) and ``job_routes`` (following, importing, stopping, resuming, a run's files). The API::

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
    GET  /api/jobs/{id}/files/{name}       a run's reports and mapping (the names in jobs.FILES)
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType

from aiohttp import web

from importer.background import running_in_thread
from importer.mapping.shipped import mappings_in, shipped_mappings
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.record.ledger import WEB_LEDGER_FILE, default_data_dir
from importer.sandbox import Sandbox, SandboxConfig
from importer.send import DEFAULT_BASE_URL
from importer.web.check_routes import CheckRoutes
from importer.web.guard import Guard
from importer.web.job_routes import JobRoutes
from importer.web.jobs import JobRegistry
from importer.web.page import Page
from importer.web.replies import add_security_headers
from importer.web.upload_routes import UploadRoutes
from importer.web.workspace import Workspace

MB = 1024 * 1024


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
        self._page = Page(self)
        self._upload_routes = UploadRoutes(self)
        self._check_routes = CheckRoutes(self)
        self._job_routes = JobRoutes(self)

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
        page, uploads, checked, jobs = (
            self._page,
            self._upload_routes,
            self._check_routes,
            self._job_routes,
        )
        app = web.Application(middlewares=[self._guard.middleware], client_max_size=MB)
        app.on_response_prepare.append(add_security_headers)
        app.add_routes(
            [
                web.get("/", page.index),
                web.get("/static/{name}", page.static),
                web.get("/api/config", page.config),
                web.post("/api/uploads", uploads.upload),
                web.get("/api/uploads/{id}", uploads.get_upload),
                web.post("/api/uploads/{id}/mapping", uploads.mapping),
                web.post("/api/uploads/{id}/check", uploads.check),
                web.get("/api/jobs/{id}", jobs.get_job),
                web.get("/api/jobs/{id}/rows", checked.rows),
                web.post("/api/jobs/{id}/cells", checked.edit),
                web.get("/api/jobs/{id}/corrected.{format}", checked.corrected),
                web.post("/api/jobs/{id}/import", jobs.import_),
                web.post("/api/jobs/{id}/stop", jobs.stop),
                web.post("/api/jobs/{id}/resume", jobs.resume),
                web.get("/api/jobs/{id}/files/{name}", jobs.file),
            ]
        )
        return app


@contextmanager
def start_server_thread(config: WebConfig | None = None) -> Iterator[WebServer]:
    """Run a WebServer in a daemon thread for the ``with`` block (tests, notebooks)."""
    with running_in_thread(WebServer(config), "importer-web") as server:
        yield server
