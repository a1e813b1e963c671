"""Every test keeps its per-user data (the default ledger) in a folder of its own.

Without this, an import run by a test would write into the real user's data folder, and a test
would see the keys another test created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.record.ledger import DATA_DIR_ENV


@pytest.fixture(autouse=True)
def private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    return folder
