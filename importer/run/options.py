"""What a run is told (``ImportOptions``) and what it reports while it goes (``Progress``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from importer.clock import Clock, SystemClock
from importer.mapping import Mapping
from importer.read.edits import Edits
from importer.read.limits import DEFAULT_LIMITS, WorkbookLimits
from importer.read.records import MAX_CELL_MB
from importer.read.sheet_view import HiddenRows
from importer.send import DEFAULT_BASE_URL
from importer.send.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot handed to ``on_progress``: rows done so far and how fast."""

    rows_done: int
    rows_total: int | None
    created: int
    rejected: int
    skipped: int
    not_attempted: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.rows_done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        if not self.rows_total or not self.rate:
            return None
        return max(0.0, (self.rows_total - self.rows_done) / self.rate)


@dataclass
class ImportOptions:
    """Everything ``run_import`` takes besides the input file; the CLI flags map onto these.

    ``target`` names the destination in the reports and the journal when the base URL would
    not (the CLI's throwaway sandbox listens on a new port each run: "sandbox"). ``resume``
    continues the run journaled in ``out_dir``. The ledger remembers across runs the key of every
    candidate created and skips rows whose key it holds for the same target and account
    (``reimport=True`` sends them anyway); ``state`` is its file (or a ``postgresql://`` URL), by
    default the user's
    (``importer.record.ledger.default_ledger_path``). ``ledger``: None keeps it where it can
    apply (rows have a key, the account is known), True makes that a ``ConfigError``, False
    keeps none. ``header_row`` is the row holding the column names (None: the mapping's
    ``header_row``, else found in the file). ``journal=False`` keeps no journal, so the run
    cannot be resumed: for throwaway imports and for measuring what the journal costs.
    ``workers`` is how many processes map and validate the rows of a long dry run besides this
    one (None: one per core beyond the first; 0: none). ``pacer_url`` (``redis://...``) shares
    the key's pacing with every process that uses the same key and Redis; None paces this
    process alone. ``account_column`` (else the mapping's ``account:``) names the column of
    each row's linked account; ``account_id`` is then not used. ``max_cell_mb``: the longest
    CSV cell read, in MiB of characters.
    """

    mapping: str | Path | Mapping
    out_dir: str | Path = "out"
    account_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    target: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    concurrency: int = 10
    rate: float | None = 1000.0
    dry_run: bool = False
    heartbeat: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    on_progress: Callable[[Progress], None] | None = None
    progress_interval: float = 1.0
    stop_grace: float = 30.0
    handle_signals: bool = True
    resume: bool = False
    ledger: bool | None = None
    state: str | Path | None = None
    reimport: bool = False
    journal: bool = True
    workers: int | None = None
    edits: Edits | None = None
    """Cells corrected by hand, read in place of the file's (the web page's fixes)."""
    limits: WorkbookLimits = DEFAULT_LIMITS
    """How much a workbook may unpack to before it is refused (``importer.read.limits``)."""
    pacer_url: str | None = None
    max_cell_mb: int = MAX_CELL_MB
    account_column: str | None = None
    hidden_rows: HiddenRows | None = None
    """Rows a workbook's sheet hides: "skip" them, or "import" them like the others. None:
    a sheet that hides data rows is refused (``ConfigError``), as the choice is the user's."""
