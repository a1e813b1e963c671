"""Every test keeps its per-user data (the default ledger) in a folder of its own.

Without this, an import run by a test would write into the real user's data folder, and a test
would see the keys another test created. The folder is set for the whole session before any
fixture runs (module-scoped fixtures import too), then a fresh one for each test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from importer.record.ledger import DATA_DIR_ENV


def pytest_configure(config: pytest.Config) -> None:
    os.environ[DATA_DIR_ENV] = tempfile.mkdtemp(prefix="importer-test-data-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop(DATA_DIR_ENV, ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv(DATA_DIR_ENV, str(folder))
    return folder
