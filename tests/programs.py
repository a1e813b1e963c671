"""Programs some tests need from the machine (Chromium, Redis, PostgreSQL), found or explained.

On a developer's machine a missing program skips its tests with a one-line reason, so the
README's test command passes anywhere. CI sets IMPORTER_REQUIRE_PROGRAMS=1 after installing
them, which turns a missing program into a failure: CI never skips these tests silently.
"""

from __future__ import annotations

import glob
import os
import shutil

import pytest

REQUIRED = os.environ.get("IMPORTER_REQUIRE_PROGRAMS") == "1"


def find(name: str, *patterns: str) -> str | None:
    """The program's path from PATH, or else from the first glob pattern that matches."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches[-1]
    return None


def require(name: str, *patterns: str, package: str) -> str:
    """The program's path; skips the test (fails it in CI) when the machine lacks it."""
    path = find(name, *patterns)
    if path is None:
        reason = f"needs {name}: apt-get install {package}"
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def chromium() -> str:
    return require("chromium", package="chromium")


def redis_server() -> str:
    return require("redis-server", package="redis-server")


def postgres_bin(program: str) -> str:
    """A PostgreSQL server program (initdb, pg_ctl, postgres) from Debian's versioned folder."""
    return require(program, f"/usr/lib/postgresql/*/bin/{program}", package="postgresql")
