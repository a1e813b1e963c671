"""Showing progress: a bar on a terminal, plain periodic log lines otherwise."""

from __future__ import annotations

import sys
from typing import Never, TextIO

from tqdm import tqdm

from importer.run.options import Progress


def _describe(p: Progress) -> str:
    return f"created {p.created} · rejected {p.rejected} · skipped {p.skipped}" + (
        f" · not sent {p.not_attempted}" if p.not_attempted else ""
    )


class ProgressBar:
    """tqdm bar on stderr: rows done/total, rate, ETA, and the counts by outcome."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._bar: tqdm[Never] | None = None
        self._stream = stream if stream is not None else sys.stderr

    def __call__(self, p: Progress) -> None:
        bar = self._bar
        if bar is None:
            bar = tqdm(total=p.rows_total, unit="row", file=self._stream, dynamic_ncols=True)
            self._bar = bar
        if p.rows_total is not None and bar.total != p.rows_total:
            bar.total = p.rows_total
        bar.set_postfix_str(_describe(p), refresh=False)
        bar.update(p.rows_done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class ProgressLog:
    """One line per update for logs and schedulers (no terminal control characters)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr

    def __call__(self, p: Progress) -> None:
        total = f"/{p.rows_total}" if p.rows_total else ""
        eta = f" · eta {p.eta:.0f}s" if p.eta is not None else ""
        print(
            f"progress: {p.rows_done}{total} rows · {p.rate:.1f} rows/s{eta} · {_describe(p)}",
            file=self._stream,
            flush=True,
        )

    def close(self) -> None:
        return None
