"""Every package the code imports is declared in pyproject.toml: the package's own imports in
`dependencies`, the tests' and benchmarks' in `dependencies` or the `dev` extra. An import that
only works because another package happens to pull it in breaks on the day that one stops."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
OWN = {"importer", "tests", "bench"}


def _declared(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported(*folders: str) -> dict[str, str]:
    """Third-party top-level module → a file that imports it."""
    found: dict[str, str] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in OWN:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _undeclared(modules: dict[str, str], declared: set[str]) -> list[str]:
    distributions = packages_distributions()
    missing = []
    for module, where in sorted(modules.items()):
        names = {_normal(d) for d in distributions.get(module, [module])}
        if not names & declared:
            missing.append(f"{module} (imported by {where}; installed as {sorted(names)})")
    return missing


# The modules that need an optional extra (``pip install 'importer[postgres]'``); the rest of
# the package imports them only when their feature is asked for.
EXTRA_MODULES = {"importer.record.ledger.postgresql"}


def _extras() -> list[str]:
    extras = PROJECT["optional-dependencies"]
    return [r for name, requirements in extras.items() if name != "dev" for r in requirements]


def test_the_package_imports_only_what_it_declares() -> None:
    declared = _declared(PROJECT["dependencies"] + _extras())
    assert _undeclared(_imported("importer"), declared) == []


WITHOUT_EXTRAS = """
import importlib, pkgutil, sys
import importer
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # not installed
skip = set(sys.argv[2].split(","))
for module in pkgutil.walk_packages(importer.__path__, "importer."):
    if module.name not in skip and not module.name.endswith(".__main__"):
        importlib.import_module(module.name)
"""


def test_every_other_module_imports_without_the_optional_extras() -> None:
    distributions = packages_distributions()
    optional = _declared(_extras())
    missing = sorted(
        module for module, names in distributions.items() if {_normal(n) for n in names} & optional
    )
    assert missing  # psycopg, at least
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRAS, ",".join(missing), ",".join(EXTRA_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("folder", ["tests", "bench"])
def test_tests_and_benchmarks_import_only_what_the_dev_extra_adds(folder: str) -> None:
    declared = _declared(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"])
    assert _undeclared(_imported(folder), declared) == []
