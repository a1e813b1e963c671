"""Random and hostile inputs to ``importer validate``: never a traceback, a crash or a runaway.

Each input runs in a process of its own, capped in memory and CPU (``tests.bombs.validate``):
the test asserts an exit code of the contract (0 all valid, 1 rejects, 2 nothing sent, 3 stopped
early), no traceback, and a peak RSS under a bound. The fast variant runs in CI with fixed
examples (``derandomize``); ``-m slow`` runs hundreds of random ones and the gigabyte bombs.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import bombs
from tests.bombs import Finished, validate

ROOT = Path(__file__).resolve().parent.parent
CSV_SEED = (ROOT / "samples" / "candidates.csv").read_bytes()
XLSX_SEED = (ROOT / "samples" / "candidates.xlsx").read_bytes()
PEAK_RSS_MB = 600
"""What one validate of a small (or refused) input may take; a dry run of a sample ~70 MB."""
CONTRACT = {0, 1, 2, 3}

FAST = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Bytes that matter to a CSV or XML reader, more often than chance would pick them.
SPECIAL = [
    b'"',
    b",",
    b";",
    b"\t",
    b"\n",
    b"\r",
    b"\x00",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"<",
    b">",
]
SPECIAL += [b"&", b"&#0;", b"]]>", b'r="XFD1048576"', b"<c>", b"</row>", b"<!DOCTYPE x [", b"=A1"]


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few random edits: bytes inserted, deleted, repeated or overwritten."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "repeat", "special", "truncate"]))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 256))]
        elif kind == "repeat":
            data[at:at] = bytes(data[at : at + draw(st.integers(1, 64))]) * draw(
                st.integers(2, 2000)
            )
        elif kind == "special":
            data[at:at] = draw(st.sampled_from(SPECIAL))
        else:
            del data[at:]
    return bytes(data)


@st.composite
def mutated_workbook(draw: st.DrawFn) -> bytes:
    """The sample workbook with one of its XML parts mutated (so the zip stays readable), or,
    now and then, the zip's own bytes mutated."""
    if draw(st.integers(0, 5)) == 0:
        return draw(mutated(XLSX_SEED))
    with zipfile.ZipFile(io.BytesIO(XLSX_SEED)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    name = draw(st.sampled_from(sorted(parts)))
    parts[name] = draw(mutated(parts[name]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for part, data in parts.items():
            target.writestr(part, data)
    return buffer.getvalue()


def check(done: Finished) -> None:
    assert done.code in CONTRACT, (done.code, done.err[-2000:])
    assert "Traceback" not in done.err, done.err[-4000:]
    assert done.peak_rss_mb < PEAK_RSS_MB


def run_on(data: bytes, suffix: str, folder: Path) -> Finished:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    return validate(path, folder / "out")


def slow_selected(request: pytest.FixtureRequest) -> bool:
    return "slow" in (request.config.getoption("markexpr") or "")


@FAST
@given(data=mutated(CSV_SEED))
def test_mutated_csv_files_end_in_a_contract_exit_code(data: bytes, tmp_path: Path) -> None:
    check(run_on(data, ".csv", tmp_path / "csv"))


@FAST
@given(data=mutated_workbook())
def test_mutated_workbooks_end_in_a_contract_exit_code(data: bytes, tmp_path: Path) -> None:
    check(run_on(data, ".xlsx", tmp_path / "xlsx"))


@pytest.mark.slow
@SLOW
@given(data=st.one_of(mutated(CSV_SEED), st.binary(max_size=4096)))
def test_many_mutated_csv_files(
    data: bytes, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not slow_selected(request):
        pytest.skip("hundreds of examples: select them with -m slow")
    check(run_on(data, ".csv", tmp_path / "csv"))


@pytest.mark.slow
@SLOW
@given(data=st.one_of(mutated_workbook(), st.binary(max_size=4096)))
def test_many_mutated_workbooks(
    data: bytes, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not slow_selected(request):
        pytest.skip("hundreds of examples: select them with -m slow")
    check(run_on(data, ".xlsx", tmp_path / "xlsx"))


@pytest.mark.parametrize(
    "large", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["small", "large"]
)
@pytest.mark.parametrize("bomb", list(bombs.BOMBS))
def test_every_bomb_ends_in_a_contract_exit_code(
    bomb: str, large: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if large and not slow_selected(request):
        pytest.skip("gigabyte bombs: select them with -m slow")

    check(validate(bombs.BOMBS[bomb](tmp_path, large), tmp_path / "out"))
