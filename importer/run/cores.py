"""How many processes a run may keep busy: its own modules load without the pipeline's."""

from __future__ import annotations

import os


def default_workers() -> int:
    """One worker per core this process may run on, but for the one the main process needs:
    reading, duplicate checks and the reports take it about as long as a row's mapping."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return cores - 1
