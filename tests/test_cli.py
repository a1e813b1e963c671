"""The command line: exit codes, output, and secrets kept out of everything it writes."""

from __future__ import annotations

import csv
import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from importer.cli import main
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread
from tests.hidden_sheet import filtered_workbook

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "samples" / "candidates.csv")
MAPPING = str(ROOT / "mappings" / "default.yaml")
SECRET = "sk-live-s3cret-value-0123456789"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    config = SandboxConfig(api_key=SECRET, rate_limit_per_minute=0)
    with start_sandbox_thread(config) as running:
        yield running


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("STACKONE_API_KEY", SECRET)
    monkeypatch.setenv("STACKONE_ACCOUNT_ID", "acc-1")
    return monkeypatch


def run_cli(*args: str) -> int:
    return main(["run", SAMPLE, "--mapping", MAPPING, *args])


def everything_written(out: Path, captured: pytest.CaptureFixture[str]) -> str:
    text = captured.readouterr()
    # every file, the journal's SQLite pages included, read as bytes so nothing escapes the check
    files = "".join(
        p.read_bytes().decode("utf-8", errors="replace")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    )
    return text.out + text.err + files


def outcomes(out: Path) -> dict[int, tuple[str, str]]:
    """results.csv in ``out``: each row's status and error code."""
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        return {int(r["row_number"]): (r["status"], r["error_code"]) for r in csv.DictReader(f)}


def test_run_exits_1_with_rejects_and_prints_json_summary(
    tmp_path: Path, sandbox: Sandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("--base-url", sandbox.url, "--out", str(tmp_path), "--json", "--quiet")

    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 1
    assert summary["by_status"] == {
        "created": 15,
        "rejected": 3,
        "skipped": 1,
        "not_attempted": 0,
    }
    assert summary["exit_code"] == 1
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert captured.err == ""


def test_api_key_is_never_printed_or_written(
    tmp_path: Path, sandbox: Sandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("--base-url", sandbox.url, "--out", str(tmp_path), "--json") == 1
    assert SECRET not in everything_written(tmp_path, capsys)


def test_wrong_key_stops_the_run_with_exit_3_and_no_secret_in_output(
    tmp_path: Path, sandbox: Sandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("STACKONE_API_KEY", SECRET + "-wrong")
    code = run_cli("--base-url", sandbox.url, "--out", str(tmp_path))

    written = everything_written(tmp_path, capsys)
    assert code == 3
    assert "401" in written
    assert SECRET not in written
    assert sandbox.stats()["candidates"] == 0


def test_missing_column_is_exit_2_naming_it_and_nothing_is_sent(
    tmp_path: Path, sandbox: Sandbox, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "strict.yaml"
    mapping.write_text(
        "version: 1\nfields:\n  name: {column: Full Name}\n  email: {column: E-mail Address}\n",
        encoding="utf-8",
    )
    code = main(
        [
            "run",
            SAMPLE,
            "--mapping",
            str(mapping),
            "--base-url",
            sandbox.url,
            "--out",
            str(tmp_path / "out"),
        ]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert '"Full Name"' in err
    assert '"E-mail Address"' in err
    assert "First Name, Last Name, Email" in err
    assert "Traceback" not in err
    assert sandbox.stats()["requests_total"] == 0


def test_no_api_key_is_exit_2_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STACKONE_API_KEY", raising=False)
    code = run_cli("--account-id", "acc-1", "--out", str(tmp_path))

    err = capsys.readouterr().err
    assert code == 2
    assert "STACKONE_API_KEY" in err
    assert "--sandbox" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.csv", "--mapping", MAPPING, "--sandbox"], "missing.csv"),
        (["run", SAMPLE, "--mapping", "missing.yaml", "--sandbox"], "missing.yaml"),
    ],
)
def test_unreadable_input_or_mapping_is_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_validate_reports_problems_without_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", SAMPLE, "--mapping", MAPPING, "--out", str(tmp_path), "--json"])

    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["dry_run"] is True
    assert summary["requests_by_status"] == {}
    assert summary["by_error_code"] == {
        "blank-row": 1,
        "duplicate-in-file": 1,
        "invalid-date": 1,
        "invalid-email": 1,
    }
    # row 20's "not a phone" is left out, not a reject: the candidate goes ahead with a warning
    assert summary["by_warning_code"] == {"kept-as-typed": 1, "value-dropped": 1}


def test_a_guessed_encoding_is_said_with_a_name_as_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bytes read in the wrong code page are still letters: only someone who knows the names can
    tell "Krûmiòð" from "Krūmiņš", so the run says what it guessed and shows one."""
    baltic = tmp_path / "baltic.csv"
    baltic.write_bytes(
        "First Name,Last Name,Email\r\nJānis,Krūmiņš,janis@example.lv\r\n"
        "Gintarė,Stankevičius,g@example.lt\r\n".encode("cp1257")
    )
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text("First Name,Last Name,Email\nJānis,Krūmiņš,janis@example.lv\n", "utf-8")
    out = tmp_path / "out"

    assert main(["validate", str(baltic), "--mapping", MAPPING, "--out", str(out)]) == 0
    said = capsys.readouterr().err
    assert (
        "note: baltic.csv is not UTF-8: it was read as cp1257, a guess from its text (line 2 reads "
        '"Jānis"); if letters look wrong, pass --encoding'
    ) in said
    notices = json.loads((out / "summary.json").read_text(encoding="utf-8"))["notices"]
    assert [notice.split(" (")[0] for notice in notices] == [
        "baltic.csv is not UTF-8: it was read as cp1257, a guess from its text"
    ]
    # read, not guessed: nothing to say
    assert main(["validate", str(utf8), "--mapping", MAPPING, "--out", str(out)]) == 0
    assert "note:" not in capsys.readouterr().err
    assert "notices" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_columns_the_mapping_does_not_read_are_named_as_not_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A header the mapping lacks ("Mobile Number" is not one of the default's phone headers)
    loses that column for every row: the run names it rather than leaving the user to find out
    in the ATS. The importer's own report columns are not the file's data."""
    source = tmp_path / "export.csv"
    source.write_text(
        "First Name,Last Name,Email,Mobile Number,Location,error_row,error_code,error_field,"
        "error_message\nAda,Lovelace,ada@example.org,+44 7911 123456,London,2,x,y,z\n",
        "utf-8",
    )
    out = tmp_path / "out"

    assert main(["validate", str(source), "--mapping", MAPPING, "--out", str(out)]) == 0
    notice = (
        '2 columns of the file the mapping does not read, so not sent: "Mobile Number", '
        '"Location"; if the ATS should have one, add it to a copy of the mapping (importer '
        "suggest-mapping writes one from the file)"
    )
    assert f"note: {notice}" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["notices"] == [notice]


def test_a_sheet_that_hides_rows_is_imported_only_as_the_user_says(
    tmp_path: Path,
    sandbox: Sandbox,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A recruiter filters the sheet to the candidates to move and saves it: sending the rows
    the filter hides, or leaving them out, is the user's call, never the importer's."""
    book = str(filtered_workbook(tmp_path / "filtered.xlsx"))
    refused = tmp_path / "refused"
    assert (
        main(["run", book, "--mapping", MAPPING, "--out", str(refused), "--base-url", sandbox.url])
        == 2
    )
    error = capsys.readouterr().err
    assert (
        'sheet "Candidates": rows 4, 6 are hidden in the sheet (a filter, or rows hidden' in error
    )
    assert "pass --hidden-rows skip to import only the rows Excel shows, or --hidden-rows " in error
    assert sandbox.stats()["candidates"] == 0
    assert not refused.exists() or not any(refused.iterdir())

    skipped = tmp_path / "skipped"
    args = ["--mapping", MAPPING, "--base-url", sandbox.url, "--no-state", "--quiet"]
    assert main(["run", book, *args, "--out", str(skipped), "--hidden-rows", "skip"]) == 0
    summary = json.loads((skipped / "summary.json").read_text(encoding="utf-8"))
    assert summary["by_status"] == {"created": 2, "rejected": 0, "skipped": 2, "not_attempted": 0}
    assert summary["by_error_code"] == {"hidden-row": 2}
    assert outcomes(skipped) == {
        3: ("created", ""),
        4: ("skipped", "hidden-row"),
        5: ("created", ""),
        6: ("skipped", "hidden-row"),
    }
    assert sandbox.stats()["candidates"] == 2

    everything = tmp_path / "everything"
    validate = ["validate", book, "--mapping", MAPPING, "--out", str(everything), "-q"]
    assert main([*validate, "--hidden-rows", "import"]) == 0
    summary = json.loads((everything / "summary.json").read_text(encoding="utf-8"))
    assert summary["by_status"]["not_attempted"] == 4


def test_the_header_row_again_in_joined_files_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two exports joined one after the other (the second with its own byte-order mark): the
    second header is no candidate, and the rows after it are read as before."""
    joined = tmp_path / "joined.csv"
    joined.write_bytes(
        b"First Name,Last Name,Email\r\nAda,Lovelace,ada@example.org\r\n"
        b"\xef\xbb\xbfFirst Name , Last Name,Email\r\nBob,Smith,bob@example.org\r\n"
        b"First Name,Last Name,Email (work)\r\n"
        # written by another program: other case and spacing, as headers are matched
        b"first name,LAST  NAME,EMAIL\r\nCy,Young,cy@example.org\r\n"
    )
    out = tmp_path / "out"
    assert main(["validate", str(joined), "--mapping", MAPPING, "--out", str(out), "-q"]) == 1
    assert outcomes(out) == {
        2: ("not_attempted", ""),
        3: ("skipped", "header-again"),
        4: ("not_attempted", ""),
        # not the header: one cell differs, so it is checked like any row
        5: ("rejected", "invalid-email"),
        6: ("skipped", "header-again"),
        7: ("not_attempted", ""),
    }


def test_validate_workers_flag_reaches_the_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int | None] = []
    monkeypatch.setattr(
        "importer.run.pipeline.dry_run",
        lambda stages, workers, pool, signals: seen.append(workers),
    )
    main(["validate", SAMPLE, "--mapping", MAPPING, "--out", str(tmp_path), "-q", "--workers", "3"])
    main(["validate", SAMPLE, "--mapping", MAPPING, "--out", str(tmp_path / "b"), "-q"])
    assert seen == [3, None]
    with pytest.raises(SystemExit):
        main(["validate", SAMPLE, "--mapping", MAPPING, "--workers", "-1"])


def test_sandbox_flag_imports_into_a_built_in_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_cli("--sandbox", "--out", str(tmp_path), "--quiet")

    assert code == 1
    results = (tmp_path / "results.csv").read_text(encoding="utf-8").splitlines()
    assert sum(",created," in line for line in results) == 15


def test_python_dash_m_importer_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "importer",
            "validate",
            SAMPLE,
            "--mapping",
            MAPPING,
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (tmp_path / "results.csv").exists()


def test_the_mappings_header_row_is_honoured_and_the_flag_overrides_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(ROOT / "tests" / "data" / "header_row_3.csv")
    text = (
        Path(MAPPING).read_text(encoding="utf-8").replace("version: 1", "version: 1\nheader_row: 1")
    )
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(text, encoding="utf-8")
    out = ["--out", str(tmp_path / "out")]

    assert main(["validate", data, "--mapping", str(pinned), *out]) == 2
    assert "pass --header-row N" in capsys.readouterr().err
    assert main(["validate", data, "--mapping", str(pinned), "--header-row", "3", *out]) == 0
    assert main(["validate", data, "--mapping", MAPPING, *out]) == 0


@pytest.mark.parametrize("command", ["validate", "suggest-mapping"])
def test_commands_that_send_nothing_do_not_load_the_http_client(
    tmp_path: Path, command: str
) -> None:
    # aiohttp is a fifth of a second of every start-up; only sending and serving need it.
    argv = [command, SAMPLE, "--mapping", "default", "--out", str(tmp_path / "out"), "--quiet"]
    if command == "suggest-mapping":
        argv = [command, SAMPLE, "-o", str(tmp_path / "mapping.yaml")]
    code = (
        "import sys\nfrom importer.cli import main\n"
        f"code = main({argv!r})\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] == 'aiohttp'))\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["1" if command == "validate" else "0", "[]"]


def test_a_run_that_sends_loads_the_http_client_before_the_import_starts(tmp_path: Path) -> None:
    # summary.json's duration is the import's: loading aiohttp is start-up, as the CLI's own
    # modules are, and a paced run's wall is compared with its rate's bound. The spy stops each
    # run before it reads a row, so nothing is sent.
    code = (
        "import sys\nimport importer.run.pipeline as pipeline\nfrom importer.cli import main\n"
        "def spy(*args, **kwargs):\n"
        "    print('aiohttp' in sys.modules)\n"
        "    raise KeyboardInterrupt\n"
        "pipeline.run_import = spy\n"
        "for extra in (['--dry-run'], ['--base-url', 'http://127.0.0.1:9']):\n"
        f"    main(['run', {SAMPLE!r}, '--mapping', 'default', '--quiet', *extra])\n"
    )
    env = {**os.environ, "STACKONE_API_KEY": "test-key"}
    ran = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=tmp_path,
    )
    assert ran.stdout.split() == ["False", "True"]


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["validate"], "no row was checked"),
        (["run", "--dry-run"], "no row was checked"),
        (["run", "--base-url", "http://127.0.0.1:9"], "nothing was sent"),
    ],
    ids=["validate", "dry-run", "run"],
)
def test_ctrl_c_while_the_import_starts_stops_with_exit_3_and_no_traceback(
    tmp_path: Path,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    said: str,
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # what Python raises for Ctrl-C before a handler of ours is set

    env.setattr("importer.run.pipeline.open_table", interrupted)
    argv = [*command, SAMPLE, "--mapping", MAPPING, "--out", str(tmp_path / "out")]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err == f"importer: stopped: interrupted before the import was under way: {said}\n"


def test_ctrl_c_as_a_run_that_has_sent_closes_says_how_to_finish_it(
    tmp_path: Path,
    sandbox: Sandbox,
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importer.run import dispatch

    send_rows = dispatch.send_rows

    async def sent_then_interrupted(*args: Any, **kwargs: Any) -> object:
        await send_rows(*args, **kwargs)
        raise KeyboardInterrupt  # the stages' handler is gone: Python's raises

    env.setattr(dispatch, "send_rows", sent_then_interrupted)
    out = tmp_path / "out"
    assert run_cli("--base-url", sandbox.url, "--out", str(out), "--quiet") == 3
    err = capsys.readouterr().err
    assert err.startswith("importer: stopped: interrupted; requests were sent before this")
    assert err.endswith("then finish with the same command and --resume\n")
    assert sandbox.stats()["candidates"] == 15


# A child that sends itself a signal as ``module.name`` is called (or as it exits), then runs
# the command line as the console script does: the process is the command's.
SIGNALLED = """
import atexit, importlib, os, signal, sys
module, name, signame, *argv = sys.argv[1:]
sig = getattr(signal, signame)
if module == "atexit":
    atexit.register(os.kill, os.getpid(), sig)
else:
    owner = importlib.import_module(module)
    for part in name.split(".")[:-1]:
        owner = getattr(owner, part)
    original = getattr(owner, name.split(".")[-1])

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), sig)
        return original(*args, **kwargs)

    setattr(owner, name.split(".")[-1], signalled)
from importer.cli import main
sys.argv = ["importer", *argv]
sys.exit(main())
"""


def signalled(cwd: Path, at: str, signame: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The command ``argv`` in a child that signals itself as ``at`` (module:name) is called."""
    module, name = at.split(":")
    command = [sys.executable, "-c", SIGNALLED, module, name, signame, *argv]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, env=environment, timeout=120
    )


SIGNALS = ["SIGINT", "SIGTERM"]
# where a start-up spends its time: loading the pipeline's modules, and reading the file
STARTING = ["importer.cli:_check_workbook_ahead", "importer.run.pipeline:open_table"]


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize("at", STARTING, ids=["loading", "opening"])
def test_a_real_stop_while_the_import_starts_says_nothing_was_sent(
    tmp_path: Path, at: str, signame: str
) -> None:
    # asyncio.run alone would only cancel the run at its next await, after every row was
    # checked, then print a traceback; SIGTERM ended the process silently with 143.
    argv = ["validate", SAMPLE, "--mapping", "default", "--out", "out"]
    ran = signalled(tmp_path, at, signame, *argv)
    assert ran.returncode == 3
    message = "importer: stopped: interrupted before the import was under way: no row was checked"
    assert ran.stderr.strip() == message
    assert not (tmp_path / "out" / "results.csv").exists()


@pytest.mark.parametrize("signame", SIGNALS)
def test_a_stop_while_the_reports_are_written_finishes_them_and_says_how_to_finish(
    tmp_path: Path, signame: str
) -> None:
    """Rows all sent, the reports being written: they are finished, the summary says the
    import stopped, as the exit code does, and the last line is the command to finish it."""
    argv = ["run", SAMPLE, "--mapping", "default", "--sandbox", "--out", "out"]
    ran = signalled(tmp_path, "importer.record.report:Recorder.close", signame, *argv)
    assert ran.returncode == 3, ran.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["exit_code"], summary["stopped_early"]) == (3, True)
    assert summary["stop_reason"] == "interrupted"
    assert summary["by_status"]["created"] == 15
    assert ran.stderr.splitlines()[-1] == (
        f"to finish this import: importer run {SAMPLE} --mapping default --sandbox --out out "
        "--resume"
    )
    assert (tmp_path / "out" / "results.csv").read_text().count("\n") == 20


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize(
    "at", ["importer.record.report:render_summary", "atexit:"], ids=["printing", "exiting"]
)
def test_a_stop_once_the_summary_is_written_leaves_its_exit_code(
    tmp_path: Path, at: str, signame: str
) -> None:
    # Ctrl-C there ended with 130, and SIGTERM with 143, against a summary.json saying 1
    argv = ["run", SAMPLE, "--mapping", "default", "--sandbox", "--out", "out"]
    ran = signalled(tmp_path, at, signame, *argv)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert ran.returncode == summary["exit_code"] == 1, ran.stderr
    assert ran.stderr.splitlines()[-1].startswith("reports: ")
    assert "Traceback" not in ran.stderr


def test_ctrl_c_as_a_dry_run_closes_says_its_reports_may_be_incomplete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from importer.run import pipeline

    dry_run = pipeline.dry_run

    def then_interrupted(*args: Any, **kwargs: Any) -> None:
        dry_run(*args, **kwargs)
        raise KeyboardInterrupt  # the stages' handler is gone: Python's raises

    monkeypatch.setattr(pipeline, "dry_run", then_interrupted)
    out = tmp_path / "out"
    assert main(["validate", SAMPLE, "--mapping", MAPPING, "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert err == (
        f"importer: stopped: interrupted as the dry run ended: the reports in {out} may be "
        "incomplete; run it again\n"
    )


def test_a_summary_a_full_disk_cuts_short_is_not_left_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty summary.json would pass for a run that ended; the message names the file."""
    write_text = Path.write_text

    def full_disk(path: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if path.name != "summary.json":
            return write_text(path, data, *args, **kwargs)
        path.open("w").close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_text", full_disk)
    out = tmp_path / "out"
    argv = ["run", SAMPLE, "--mapping", MAPPING, "--sandbox", "--out", str(out), "--quiet"]
    assert main(argv) == 3
    said = f"No space left on device ({out / 'summary.json'}); requests were sent before this"
    assert capsys.readouterr().err.startswith(f"importer: stopped: {said}")
    assert not (out / "summary.json").exists()
    assert (out / "rejects.xlsx").exists()
