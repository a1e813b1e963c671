"""The job registry: checks and imports running as worker processes, followed, stopped, expired.

A job's state lives here, on the server, so the page can be reloaded (or opened in another tab)
at any time and pick the run up by its id. Stop sends the worker SIGINT, which the pipeline
treats as Ctrl-C: no new rows, the requests in flight finish, the reports are written.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from importer.errors import ConfigError
from importer.mapping import load_mapping
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.web.checkrows import ROWS_FILE, CheckRows
from importer.web.workspace import ID_PATTERN, CellEdits, Upload, Workspace, new_id

FILES = {
    "results.csv": ("out", "results.csv"),
    "rejects.csv": ("out", "rejects.csv"),
    "rejects.xlsx": ("out", "rejects.xlsx"),
    "remaining.csv": ("out", "remaining.csv"),
    "summary.json": ("out", "summary.json"),
    "mapping.yaml": ("mapping.yaml",),
}
"""What the page may download from a job: a fixed name → a fixed place in the job's folder."""
_LINE_LIMIT = 1 << 20
# How long a stopping worker may take before it is killed: the pipeline's own grace for
# requests in flight (30 s) plus time to write the reports.
STOP_TIMEOUT = 40.0


@dataclass
class Job:
    id: str
    kind: str
    """Either "check" (the pipeline's dry run, and every row as checked) or "import"."""
    upload: Upload
    sheet: str | None
    mapping_label: str
    mapping_request: dict[str, Any]
    folder: Path
    header_row: int = 1
    target: str | None = None
    account_id: str | None = None
    check_id: str | None = None
    edits: CellEdits = field(default_factory=dict, repr=False)
    """The corrected cells the run reads in place of the file's. A check's grow as cells are
    corrected on its page, and its import sends them, not the upload's latest: Import is clicked
    on the page showing them, while another check of the sheet (a second tab, Back then Check
    again) may have changed the upload's since. Sending what the user saw beats refusing it."""
    rows_total: int | None = None
    """Rows in the file, known exactly once a check has read it all."""
    state: str = "running"
    """running → (stopping →) done, or failed when nothing could run (the error says why)."""
    progress: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    checked: CheckRows | None = field(default=None, repr=False)
    """A finished check's rows, paged by the page and re-checked when a cell is corrected."""
    error: str | None = None
    last_used: float | None = None
    """When the run ended or was last asked about since; None while it runs."""
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        return self.state in ("running", "stopping")

    def file(self, name: str) -> Path | None:
        """The path of a downloadable file, or None: unknown name, or not written."""
        parts = FILES.get(name)
        if parts is None or self.live or self.state == "failed":
            return None
        path = self.folder.joinpath(*parts)
        return path if path.is_file() else None

    def to_dict(self) -> dict[str, Any]:
        progress = dict(self.progress) if self.progress else None
        if progress is not None and self.rows_total is not None:
            progress["rows_total"] = self.rows_total
            rate = progress.get("rate") or 0
            left = max(0, self.rows_total - progress["rows_done"])
            progress["eta"] = round(left / rate, 1) if rate else None
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "upload": self.upload.id,
            "file": self.upload.name,
            "sheet": self.sheet,
            "mapping": self.mapping_label,
            "mapping_request": self.mapping_request,
            "target": self.target,
            "account_id": self.account_id,
            "check": self.check_id,
            "rows_total": self.rows_total,
            "progress": progress,
            "summary": self.summary,
            "header_row": self.header_row,
            "checked": None if self.checked is None else self.checked.summary(),
            "error": self.error,
            "files": [name for name in FILES if self.file(name) is not None],
        }


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an import sends: the API base, the key handed to the worker, the account, and
    the target the ledger and the journal know it by."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    account_id: str
    target: str


class JobRegistry:
    def __init__(
        self,
        workspace: Workspace,
        *,
        clock: Callable[[], float],
        ledger: Path,
        progress_interval: float = 0.25,
        limits: WorkbookLimits = DEFAULT_LIMITS,
    ) -> None:
        self.workspace = workspace
        self.ledger = ledger
        self.limits = limits
        self.clock = clock
        self.progress_interval = progress_interval
        self.jobs: dict[str, Job] = {}
        self._spawning = asyncio.Lock()

    def get(self, job_id: str) -> Job | None:
        """The job, kept (with its upload) for ``keep_seconds`` more: a check being corrected
        asks nothing else, and must not be deleted under the user."""
        job = self.jobs.get(job_id) if ID_PATTERN.fullmatch(job_id) else None
        if job is not None:
            job.upload.touched = self.clock()
            if not job.live:
                job.last_used = job.upload.touched
        return job

    async def start(
        self,
        kind: str,
        upload: Upload,
        sheet: str | None,
        mapping_yaml: str,
        mapping_label: str,
        mapping_request: dict[str, Any],
        *,
        header_row: int = 1,
        edits: CellEdits | None = None,
        target: Destination | None = None,
        check: Job | None = None,
    ) -> Job:
        """Start a check or an import of ``upload``; ``edits`` are its corrected cells
        (row → column → the file's text and the corrected text), read in place of the file's."""
        job_id = new_id()
        folder = self.workspace.job_dir(job_id)
        job = Job(
            job_id,
            kind,
            upload,
            sheet,
            mapping_label,
            mapping_request,
            folder,
            header_row,
            target=None if target is None else target.name,
            account_id=None if target is None else target.account_id,
            check_id=None if check is None else check.id,
            # a copy: the run reads these cells whatever is corrected later, elsewhere
            edits=copy.deepcopy(edits or {}),
            rows_total=None if check is None else check.rows_total,
        )
        mapping = folder / "mapping.yaml"
        mapping.write_text(mapping_yaml, encoding="utf-8")
        spec = {
            "input": str(upload.path),
            "name": upload.name,
            "sheet": sheet,
            "header_row": header_row,
            "edits": job.edits,
            "mapping": str(mapping),
            "mapping_label": mapping_label,
            "out_dir": str(folder / "out"),
            "dry_run": kind == "check",
            "base_url": None if target is None else target.base_url,
            "account_id": None if target is None else target.account_id,
            "target": None if target is None else target.target,
            "ledger": str(self.ledger),
            "progress_interval": self.progress_interval,
            "limits": asdict(self.limits),
        }
        (folder / "job.json").write_text(json.dumps(spec), encoding="utf-8")
        await self._spawn(job, None if target is None else target.api_key)
        self.jobs[job_id] = job
        return job

    @staticmethod
    def resumable(job: Job) -> bool:
        """An import that stopped early or failed, and is not running: Resume can finish it."""
        stopped = job.state == "done" and bool((job.summary or {}).get("stopped_early"))
        return job.kind == "import" and (stopped or job.state == "failed")

    async def resume(self, job: Job, api_key: str) -> None:
        """Run a stopped or failed import again in its own folder with ``--resume``: its
        journal says which rows are done, so each row is sent once."""
        spec_path = job.folder / "job.json"
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
        spec["resume"] = True
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        job.state = "running"
        job.progress = job.summary = job.error = job.last_used = None
        await self._spawn(job, api_key)

    async def _spawn(self, job: Job, api_key: str | None) -> None:
        folder = job.folder
        env = dict(os.environ)
        env.pop("STACKONE_API_KEY", None)
        if api_key is not None:
            env["STACKONE_API_KEY"] = api_key
        # Stop may come before the worker has loaded the importer (a second or so), where a
        # SIGINT would end it with a traceback and no word of what was done: it starts with
        # SIGINT held back, and takes it once it can stop as it does after (``worker.main``).
        # One at a time: two starts overlapping would each put back the mask the other set.
        async with self._spawning:
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                job.process = await self._exec(folder, env)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
        job.task = asyncio.create_task(self._follow(job, job.process))

    @staticmethod
    async def _exec(folder: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
        with (folder / "worker.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "importer.web.worker",
                str(folder / "job.json"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=folder,
                limit=_LINE_LIMIT,
                # Ctrl-C in the server's terminal must not reach the workers directly: the
                # server stops them itself, in order, when it shuts down.
                start_new_session=True,
            )

    async def _follow(self, job: Job, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        done = False
        async for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            kind = event.pop("event", None)
            if kind == "progress":
                job.progress = event
            elif kind == "error":
                job.error = event["message"]
            elif kind == "done":
                done = True
        code = await process.wait()
        job.process = None
        job.last_used = self.clock()
        if done:
            out = job.folder / "out"
            try:
                job.summary = orjson.loads((out / "summary.json").read_bytes())
                if job.kind == "check":
                    mapping = load_mapping(job.folder / "mapping.yaml")
                    job.checked = CheckRows.open(out / ROWS_FILE, mapping, job.upload.name)
                    job.rows_total = job.summary["rows"]
            except (OSError, orjson.JSONDecodeError, sqlite3.Error, ConfigError) as error:
                job.error = f"the run's reports cannot be read: {error}"
            else:
                job.state = "done"
                return
        job.state = "failed"
        if job.error is None:
            job.error = f"the run ended unexpectedly (exit code {code}){_last_line(job)}"

    def stop(self, job: Job) -> None:
        """Ask the worker to stop as on Ctrl-C; asking again stops at once (a second Ctrl-C)."""
        if job.process is not None and job.process.returncode is None:
            job.process.send_signal(signal.SIGINT)
            job.state = "stopping"

    @property
    def live(self) -> int:
        return sum(1 for job in self.jobs.values() if job.live)

    def busy_uploads(self) -> set[str]:
        return {job.upload.id for job in self.jobs.values()}

    def running_uploads(self) -> set[str]:
        """The uploads a live check or import is reading: never deleted to make room."""
        return {job.upload.id for job in self.jobs.values() if job.live}

    def forget_upload(self, upload_id: str) -> None:
        """Delete the finished jobs (and their files) of an upload that is being deleted."""
        for job in list(self.jobs.values()):
            if job.upload.id == upload_id and not job.live:
                del self.jobs[job.id]
                shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, older_than: float) -> None:
        """Delete the jobs (and their files) not used since ``older_than``."""
        for job in list(self.jobs.values()):
            if job.last_used is not None and job.last_used < older_than:
                del self.jobs[job.id]
                if job.checked is not None:
                    job.checked.close()
                shutil.rmtree(job.folder, ignore_errors=True)

    async def close(self, grace: float = STOP_TIMEOUT) -> None:
        """Stop every live job, wait for the reports, kill what outlasts ``grace`` seconds."""
        live = [job for job in self.jobs.values() if job.live]
        for job in live:
            self.stop(job)
        tasks = [job.task for job in live if job.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for job in live:
                if job.process is not None and job.process.returncode is None:
                    job.process.kill()
            if pending:
                await asyncio.wait(pending)
        for job in self.jobs.values():
            if job.checked is not None:
                job.checked.close()
        self.jobs.clear()


def _last_line(job: Job) -> str:
    try:
        lines = (job.folder / "worker.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    last = next((line for line in reversed(lines.splitlines()) if line.strip()), "")
    return f": {last.strip()}" if last else ""
