"""A plain `pip install .` into a fresh venv, used from a folder far from the checkout.

This is how a user gets importer (pipx and a wheel do the same), and the only way to catch what
an editable install hides: a shipped file that is not package data, a package left out of the
list in pyproject.toml, or code that finds the checkout's folders at run time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import venv
from pathlib import Path
from typing import Any

import pytest
import requests

from importer.mapping.shipped import shipped_mappings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "install-test-token"
# The sample's rows that are wrong on purpose, and its blank row (README's worked example).
REJECTED = {
    "blank-row": 1,
    "invalid-email": 1,
    "invalid-date": 1,
    "duplicate-in-file": 1,
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv holding importer installed from a copy of the checkout."""
    base = tmp_path_factory.mktemp("install")
    # A copy, because pip builds in the source folder and would leave build/ in the checkout.
    source = base / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "out", "work"),
    )
    venv.create(base / "venv", with_pip=True)
    bin_dir = base / "venv" / "bin"
    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--quiet", str(source)],
        cwd=base,
        env=_clean_env(),
        check=True,
        timeout=600,
    )
    shutil.rmtree(source)
    return bin_dir


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that could put the checkout on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STACKONE_API_KEY")}
    return {**env, **extra}


def test_every_package_and_shipped_file_is_installed(installed: Path, tmp_path: Path) -> None:
    listing = _python(
        installed,
        tmp_path,
        "import importer, pathlib; root = pathlib.Path(importer.__file__).parent; "
        "print('\\n'.join(sorted(str(p.relative_to(root)) for p in root.rglob('*') "
        "if p.is_file() and '__pycache__' not in p.parts)))",
    ).split()
    checkout = ROOT / "importer"
    expected = {
        str(p.relative_to(checkout))
        for p in checkout.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    expected |= {f"mappings/{p.name}" for p in (ROOT / "mappings").iterdir() if p.is_file()}
    assert set(listing) == expected


def test_run_with_a_shipped_mapping_by_name_into_the_sandbox(
    installed: Path, tmp_path: Path
) -> None:
    shutil.copy(ROOT / "samples" / "candidates.csv", tmp_path / "candidates.csv")
    command = [installed / "importer", "run", "candidates.csv", "--mapping", "default"]
    done = subprocess.run(
        [*command, "--sandbox", "--json", "--quiet"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["by_status"]["created"] == 15
    assert summary["by_error_code"] == REJECTED
    assert (tmp_path / "out" / "candidates" / "rejects.csv").exists()


def test_serve_offers_the_shipped_mappings_and_checks_a_file(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env(IMPORTER_WEB_TOKEN=TOKEN)
    command = [installed / "importer", "serve", "--port", "0"]
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as process:
        try:
            assert process.stderr is not None
            first = process.stderr.readline()
            match = re.fullmatch(
                rf"importer web page: (http://127\.0\.0\.1:\d+)/\?token={TOKEN}\n", first
            )
            assert match, first
            with requests.Session() as session:
                session.headers["X-Importer-Token"] = TOKEN
                job = _check_sample(session, match[1])
        finally:
            os.kill(process.pid, signal.SIGTERM)
            stopped = process.wait(timeout=30)
    assert job["state"] == "done", job
    assert job["summary"]["by_error_code"] == REJECTED
    assert stopped == 0


def _check_sample(session: requests.Session, url: str) -> dict[str, Any]:
    """The page's own calls: the shipped list, an upload, a check with the default mapping."""
    assert "<html" in session.get(url + "/", timeout=10).text
    config = session.get(url + "/api/config", timeout=10).json()
    assert config["mappings"] == list(shipped_mappings())
    sample = (ROOT / "samples" / "candidates.csv").read_bytes()
    files = {"file": ("candidates.csv", sample)}
    upload = session.post(url + "/api/uploads", files=files, timeout=10).json()
    job: dict[str, Any] = session.post(
        f"{url}/api/uploads/{upload['id']}/check",
        json={"mapping": {"shipped": "default"}},
        timeout=10,
    ).json()
    # The check runs in a worker process, which must find the installed package by itself.
    deadline = time.monotonic() + 60
    while job["state"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = session.get(f"{url}/api/jobs/{job['id']}", timeout=10).json()
    return job


def test_the_checkout_is_not_what_the_installed_copy_imports(
    installed: Path, tmp_path: Path
) -> None:
    where = _python(installed, tmp_path, "import importer; print(importer.__file__)").strip()
    assert Path(where).is_relative_to(installed.parent), where


def _python(installed: Path, cwd: Path, code: str) -> str:
    """What the installed venv's Python prints for ``code``, run in ``cwd``."""
    done = subprocess.run(
        [installed / "python", "-c", code],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout
