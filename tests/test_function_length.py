"""Functions stay short enough to read at once: none in the package is over LIMIT lines unless
LONG says why it must be (and LONG names none that is no longer long)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "importer"
LIMIT = 60
"""Lines from ``def`` (or its first decorator) to the last line of the body."""
LONG = {
    "mapping/compile.py:compile_entry": (
        "the per-cell closures it returns read what it compiles as locals of one scope, which "
        "keeps a cell at a few attribute lookups (the dry run's hot path)"
    ),
    "mapping/compile.py:_reader": (
        "likewise: each branch returns a closure specialised for one way of reading a column"
    ),
}


def _lengths(path: Path) -> dict[str, int]:
    """Each function's qualified name → its length in lines."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                assert child.end_lineno is not None
                found[prefix + child.name] = child.end_lineno - first + 1
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def _all_lengths() -> dict[str, int]:
    return {
        f"{path.relative_to(PACKAGE).as_posix()}:{name}": length
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, length in _lengths(path).items()
    }


def test_no_function_is_longer_than_the_limit_without_a_reason() -> None:
    lengths = _all_lengths()
    too_long = {name: n for name, n in lengths.items() if n > LIMIT and name not in LONG}
    assert too_long == {}, "split these, or add them to LONG with the reason they are long"
    no_longer = sorted(name for name in LONG if lengths.get(name, 0) <= LIMIT)
    assert no_longer == [], "these are gone or short now: remove them from LONG"


def test_lengths_are_counted_from_the_first_decorator_to_the_last_line(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "import functools\n\n\nclass A:\n    @functools.cache\n    def f(self):\n"
        "        def g():\n            return 1\n\n        return g\n",
        encoding="utf-8",
    )
    assert _lengths(source) == {"A.f": 6, "A.f.g": 2}
