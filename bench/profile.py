"""Where the time goes: sample a command with py-spy and summarise the stacks as markdown tables."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import PYTHON, WORK, SandboxServer, run_measured

_LINE = re.compile(r":\d+\)$")
_SITE = re.compile(r"^.*?site-packages/")


@dataclass
class Profile:
    """A summary of sampled stacks: ``markdown`` to show, ``inclusive`` shares to compute with."""

    markdown: str
    inclusive: dict[str, float] = field(default_factory=dict)

    def share(self, function: str) -> float:
        """The inclusive share of the busiest frame whose name contains ``function``."""
        return max((n for f, n in self.inclusive.items() if function in f), default=0.0)


def profile(
    command: Sequence[str],
    *,
    name: str,
    what: str,
    sandbox: Sequence[str] | None = None,
    subprocesses: bool = False,
) -> Profile:
    """Run ``command`` under py-spy (100 samples a second, the process's own threads only, and
    its worker processes' with ``subprocesses``); ``{url}`` in it becomes the URL of a sandbox
    started with ``sandbox`` flags. ``what`` says in words which run was sampled."""
    spy = Path(PYTHON).parent / "py-spy"
    found = str(spy) if spy.exists() else shutil.which("py-spy")
    if found is None:
        return Profile("No profile: py-spy is not installed (it is in the dev extra).")
    raw = WORK / f"profile-{name}.txt"
    with SandboxServer(*sandbox) if sandbox is not None else nullcontext() as server:
        url = server.url if server is not None else ""
        measured = run_measured(
            [
                found,
                "record",
                "--rate",
                "100",
                "--format",
                "raw",
                "--output",
                str(raw),
                *(["--subprocesses"] if subprocesses else []),
                "--",
                *(part.replace("{url}", url) for part in command),
            ],
            env={"STACKONE_API_KEY": "bench"},
            name=f"profile-{name}",
        )
    if not raw.exists():
        return Profile(f"No profile: py-spy failed ({measured.stderr.strip()[-300:]}).")
    return summarise(raw.read_text(encoding="utf-8"), what)


def _frame(text: str) -> str:
    return _SITE.sub("", _LINE.sub(")", text)).replace("(/", "(")


def summarise(collapsed: str, what: str, top: int = 14) -> Profile:
    """Inclusive shares of the importer's own functions and self shares of every function."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame(frame) for frame in stack.split(";")]
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    if not total:
        return Profile("No profile: py-spy recorded no samples.")
    stages = [(f, n) for f, n in inclusive.most_common() if "(importer/" in f][:top]
    lines = [
        f"py-spy, {total:,} samples of {what}. Time inside each importer function (callees "
        "included):",
        "",
        "| share | function |",
        "|---:|---|",
        *(f"| {n / total:.1%} | `{f}` |" for f, n in stages),
        "",
        "Where the samples landed (self time):",
        "",
        "| share | function |",
        "|---:|---|",
        *(f"| {n / total:.1%} | `{f}` |" for f, n in own.most_common(top)),
    ]
    return Profile("\n".join(lines), {f: n / total for f, n in inclusive.items()})
