"""The README stays true: every flag of every command and every code is documented, and every
flag and code it documents exists (as sqlite-utils' test_docs.py does for its CLI).

Adding a flag or a code means adding a line to the README; removing one means removing it."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from importer.cli import build_parser
from importer.errors import Code, Note, WarningCode

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Flags the README shows for other programs: `ruff format --check`, `python -m bench --runs N`,
# `docker compose up --abort-on-container-exit`.
OTHER_PROGRAMS = {"--check", "--runs", "--abort-on-container-exit"}
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_CODE_CELL = re.compile(r"^\| ((?:`[a-z-]+`(?:, )?)+) \|", re.MULTILINE)


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"importer": parser, **subparsers.choices}


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """The command's flags, and those of its actions (``importer ledger forget --run``)."""
    flags = {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            flags = flags.union(*(_flags(sub) for sub in action.choices.values()))
    return flags


def _every_flag() -> set[str]:
    return set().union(*(_flags(p) for p in _commands().values()))


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_flag_of_every_command_is_in_the_readme(command: str) -> None:
    documented = set(_FLAG.findall(README))
    assert sorted(_flags(_commands()[command]) - documented) == []


def test_every_command_is_in_the_readme() -> None:
    missing = [
        name for name in _commands() if name != "importer" and f"importer {name}" not in README
    ]
    assert missing == []


def test_every_flag_the_readme_names_exists() -> None:
    named = set(_FLAG.findall(README)) - OTHER_PROGRAMS
    assert sorted(named - _every_flag() - {"--help"}) == []


def test_every_note_is_in_the_readme() -> None:
    documented = set(re.findall(r"`([a-z][a-z-]*)`", README))
    assert sorted({n.value for n in Note} - documented) == []


def test_the_error_table_lists_every_code_and_no_other() -> None:
    table = _section("Error codes")
    named = {
        code for cell in _CODE_CELL.findall(table) for code in re.findall(r"`([a-z-]+)`", cell)
    }
    assert named, "the Error codes table was not found"
    assert sorted(named - {c.value for c in Code}) == []
    assert sorted({c.value for c in Code} - named) == []


def test_the_warning_table_lists_every_warning_code_and_no_other() -> None:
    table = _section("Warning codes")
    named = {
        code for cell in _CODE_CELL.findall(table) for code in re.findall(r"`([a-z-]+)`", cell)
    }
    assert sorted(named) == sorted(c.value for c in WarningCode)


def test_every_file_of_the_repository_the_readme_names_exists() -> None:
    named = re.findall(r"`((?:importer|tests|bench|samples|mappings|docs|\.ci)/[\w./-]*)`", README)
    # folders the tools make, and placeholders
    made = {"bench/work/", "tests/artifacts/web/", "mappings/NAME.yaml"}
    assert sorted(p for p in set(named) - made if not (ROOT / p).exists()) == []


def _package_tree() -> set[str]:
    """The paths the Development section's tree names under importer/, from its indentation."""
    section = _section("Development")
    block = section[section.index("```\nimporter/") + 4 :]
    block = block[: block.index("```")]
    named: set[str] = set()
    stack: list[str] = []
    for line in filter(str.strip, block.splitlines()):
        depth = (len(line) - len(line.lstrip(" "))) // 2
        stack[depth:] = [line.split()[0]]
        if stack[0] == "importer/" and depth > 0:
            named.add("".join(stack[1:]))
    return named


def test_the_development_tree_names_every_package_and_top_module_and_nothing_absent() -> None:
    package = ROOT / "importer"
    folders = {
        f"{init.parent.relative_to(package).as_posix()}/"
        for init in package.rglob("__init__.py")
        if init.parent != package
    }
    modules = {p.name for p in package.glob("*.py") if not p.name.startswith("__")}
    named = _package_tree()
    assert sorted((folders | modules) - named) == []
    assert sorted(p for p in named if not (package / p).exists()) == []
