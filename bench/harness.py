"""What the scenarios share: the sandbox in its own process, measured child processes, figures.

Every tool under test runs as a child process so that its CPU time and peak RSS are its own
(``os.wait4``), and the sandbox runs in another one so that client and server do not share a
GIL. Both share the machine's cores, so CPU is reported beside every throughput.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
PYTHON = sys.executable
MAPPING = ROOT / "mappings" / "default.yaml"
ACCOUNT = "bench"
# The audit reads the stored candidates with its own key: its requests never touch the rate
# limit bucket (or the Retry-After windows) of the tool under test.
AUDIT_KEY = "bench-audit"


@dataclass(frozen=True)
class Measured:
    """One finished child process: wall time, CPU seconds, peak RSS and what it printed."""

    wall: float
    cpu: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    # The peak of the proportional set sizes summed over the process and its children, sampled:
    # what a tool that forks workers holds in all (shared pages counted once).
    tree_pss_mb: float = 0.0

    @property
    def cpu_share(self) -> float:
        """CPU seconds per wall second (1.0 = one core busy the whole time)."""
        return self.cpu / self.wall if self.wall > 0 else 0.0

    def json(self) -> dict[str, Any]:
        """The last line of stdout that parses as a JSON object."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                found: dict[str, Any] = json.loads(line)
                return found
        raise RuntimeError(f"no JSON on stdout (exit {self.returncode}): {self.stderr[-2000:]}")


def run_measured(
    command: Sequence[str | Path], *, env: dict[str, str] | None = None, name: str = "run"
) -> Measured:
    """Run ``command`` to the end from the repository root and measure it."""
    WORK.mkdir(parents=True, exist_ok=True)
    out_path, err_path = WORK / f"{name}.stdout", WORK / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(
            [str(part) for part in command],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
        )
        sampler = _TreeMemory(child.pid)
        sampler.start()
        # wait4 rather than wait: the rusage it returns is this child's (and its own children's).
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        returncode=child.returncode,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
        tree_pss_mb=sampler.peak_kb / 1024,
    )


class _TreeMemory(threading.Thread):
    """Samples, every 50 ms, the summed PSS of a process and its descendants (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in _tree(self.pid)))


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        found.append(parent)
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue  # the task ended meanwhile
    return found


def _pss_kb(pid: int) -> int:
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE)
    return int(found.group(1)) if found else 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SandboxServer:
    """``python -m importer.sandbox`` on 127.0.0.1 with ``flags``, for a ``with`` block."""

    def __init__(self, *flags: str) -> None:
        self.flags = flags
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxServer:
        command = [PYTHON, "-m", "importer.sandbox", "--host", "127.0.0.1", "--port", "0"]
        self._process = subprocess.Popen(
            [*command, *self.flags], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stderr is not None
        banner = self._process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", banner)
        if match is None:
            self._process.kill()
            raise RuntimeError(f"the sandbox did not start: {banner}{self._process.stderr.read()}")
        self.url = match.group(0)
        return self

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            self._process.communicate(timeout=30)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=30) as answer:
            found: dict[str, Any] = json.load(answer)
            return found

    def reset(self) -> None:
        """Forget candidates, counters, rate-limit buckets and Retry-After windows."""
        request = urllib.request.Request(f"{self.url}/_sandbox/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def stored_emails(self) -> list[str]:
        """The e-mail of every candidate stored for the bench account, duplicates included."""
        emails: list[str] = []
        cursor: str | None = "0"
        headers = {"Authorization": basic(AUDIT_KEY), "x-account-id": ACCOUNT}
        while cursor is not None:
            query = urllib.parse.urlencode({"page_size": 1000, "next": cursor})
            request = urllib.request.Request(
                f"{self.url}/unified/ats/candidates?{query}", headers=headers
            )
            with urllib.request.urlopen(request, timeout=60) as answer:
                page = json.load(answer)
            emails += [c["email"] for c in page["data"] if c.get("email")]
            cursor = page["next"]
        return emails


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass(frozen=True)
class Spread:
    """Several runs of one figure."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def show(self, fmt: str = "{:,.1f}") -> str:
        """``median (min–max)``, or the one value of a single run."""
        if len(self.values) == 1:
            return fmt.format(self.values[0])
        low, high = min(self.values), max(self.values)
        return f"{fmt.format(self.median)} ({fmt.format(low)}–{fmt.format(high)})"


def spread(values: Iterator[float] | Sequence[float]) -> Spread:
    return Spread(tuple(values))


def machine() -> dict[str, str]:
    """Where the figures were measured."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
    }
