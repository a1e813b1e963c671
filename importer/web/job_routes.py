"""The routes of a run: follow it, import a checked file, stop, resume, download its files."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from aiohttp import web

from importer.sandbox import SANDBOX_ACCOUNT_ID
from importer.web.jobs import Destination, Job, JobRegistry
from importer.web.replies import download_stem, json_error, not_found, read_json

if TYPE_CHECKING:
    from importer.web.server import WebServer

MAX_LIVE_JOBS = 4
"""Checks and imports that may run at once (each is a process of its own)."""
_ACCOUNT_ID = re.compile(r"[\x21-\x7e]{1,200}")


def job_of(server: WebServer, request: web.Request) -> Job:
    job = server.jobs.get(request.match_info["id"])
    if job is None:
        raise not_found(
            "this run is no longer on the server (its files are deleted "
            f"{round(server.config.keep_seconds / 60)} minutes after its last use): start again "
            "from the upload"
        )
    return job


def busy(jobs: JobRegistry) -> web.Response | None:
    """The answer when no other check or import may start now; None when one may."""
    if jobs.live < MAX_LIVE_JOBS:
        return None
    return json_error(
        429,
        f"{MAX_LIVE_JOBS} checks or imports are already running: wait for one to finish, or "
        "stop one, and try again",
    )


class JobRoutes:
    """``/api/jobs/{id}``, its ``import``, ``stop``, ``resume`` and ``files/{name}``."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        # The page's sandbox starts empty with the server: the ledger must not take the
        # candidates of an earlier server's sandbox for its own.
        self._sandbox_target = f"sandbox {secrets.token_hex(8)}"

    async def get_job(self, request: web.Request) -> web.Response:
        return web.json_response(job_of(self.server, request).to_dict())

    async def import_(self, request: web.Request) -> web.Response:
        check = job_of(self.server, request)
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
                self.server.sandbox.url,
                self.server.sandbox.api_key,
                SANDBOX_ACCOUNT_ID,
                self._sandbox_target,
            )
        elif target == "stackone":
            account = body.get("account_id")
            if self.server.config.api_key is None:
                return json_error(
                    400,
                    "this server has no StackOne API key: stop it and start it again with "
                    "STACKONE_API_KEY set in its environment, or import into the sandbox",
                )
            if not isinstance(account, str) or not _ACCOUNT_ID.fullmatch(account.strip()):
                return json_error(
                    400, "enter the StackOne account id (x-account-id) to import into"
                )
            base_url = self.server.config.base_url
            destination = Destination(
                "stackone",
                base_url,
                self.server.config.api_key,
                account.strip(),
                base_url.rstrip("/"),
            )
        else:
            return json_error(400, 'target must be "sandbox" or "stackone"')
        if (full := busy(self.server.jobs)) is not None:
            return full
        mapping = (check.folder / "mapping.yaml").read_text(encoding="utf-8")
        job = await self.server.jobs.start(
            "import",
            check.upload,
            check.sheet,
            mapping,
            check.mapping_label,
            check.mapping_request,
            header_row=check.header_row,
            # what this check showed: another check of the sheet may have changed the upload's
            edits=check.edits,
            target=destination,
            check=check,
        )
        return web.json_response(job.to_dict())

    async def stop(self, request: web.Request) -> web.Response:
        job = job_of(self.server, request)
        self.server.jobs.stop(job)
        return web.json_response(job.to_dict())

    async def resume(self, request: web.Request) -> web.Response:
        job = job_of(self.server, request)
        if not self.server.jobs.resumable(job):
            return json_error(409, "only an import that stopped early or failed can be resumed")
        api_key = (
            self.server.sandbox.api_key if job.target == "sandbox" else self.server.config.api_key
        )
        if api_key is None:
            return json_error(400, "this server has no StackOne API key any more")
        if (full := busy(self.server.jobs)) is not None:
            return full
        await self.server.jobs.resume(job, api_key)
        return web.json_response(job.to_dict())

    async def file(self, request: web.Request) -> web.FileResponse:
        job = job_of(self.server, request)
        name = request.match_info["name"]
        path = job.file(name)
        if path is None:
            raise not_found(f"{name} is not a file of this run")
        download = name if name == "mapping.yaml" else f"{download_stem(job.upload.name)}-{name}"
        return web.FileResponse(
            path, headers={"Content-Disposition": f'attachment; filename="{download}"'}
        )
