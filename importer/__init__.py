"""Bulk-import candidates from CSV/XLSX into any ATS through StackOne's Unified API.

The command line is a thin client of this API, which a scheduler task or a notebook can call::

    from importer import ImportOptions, run_import

    summary = run_import("candidates.csv", ImportOptions(mapping="mappings/default.yaml",
                                                         account_id="acc_123", api_key=key))
    summary.exit_code, summary.counts.created, summary.to_dict()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from importer.errors import (
        Code,
        ConfigError,
        ImporterError,
        MappingError,
        MissingColumnError,
        Reject,
    )
    from importer.mapping import Mapping, load_mapping
    from importer.record.outcomes import RowOutcome, Status
    from importer.record.report import ImportSummary
    from importer.run.options import ImportOptions, Progress
    from importer.run.pipeline import run_import, run_import_async
    from importer.send.retry import RetryPolicy
    from importer.suggest import Suggestion, suggest_mapping

# Imported on first use, so `importer sandbox` starts without loading the readers and the client.
_EXPORTS = {
    "Code": "importer.errors",
    "ConfigError": "importer.errors",
    "ImporterError": "importer.errors",
    "MappingError": "importer.errors",
    "MissingColumnError": "importer.errors",
    "Reject": "importer.errors",
    "Mapping": "importer.mapping",
    "load_mapping": "importer.mapping",
    "RowOutcome": "importer.record.outcomes",
    "Status": "importer.record.outcomes",
    "ImportOptions": "importer.run.options",
    "Progress": "importer.run.options",
    "run_import": "importer.run.pipeline",
    "run_import_async": "importer.run.pipeline",
    "ImportSummary": "importer.record.report",
    "RetryPolicy": "importer.send.retry",
    "Suggestion": "importer.suggest",
    "suggest_mapping": "importer.suggest",
}

__all__ = [  # noqa: RUF022 - grouped as _EXPORTS is
    "__version__",
    "Code",
    "ConfigError",
    "ImporterError",
    "MappingError",
    "MissingColumnError",
    "Reject",
    "Mapping",
    "load_mapping",
    "RowOutcome",
    "Status",
    "ImportOptions",
    "Progress",
    "run_import",
    "run_import_async",
    "ImportSummary",
    "RetryPolicy",
    "Suggestion",
    "suggest_mapping",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
