"""The sandbox's command line: flags into a config, and the standalone server's life cycle."""

import argparse
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from importer.sandbox import SandboxConfig, cli
from importer.sandbox.limits import LIMITERS


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_are_a_well_behaved_stackone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_API_KEY", raising=False)
    args = parse()
    assert (args.host, args.port) == ("127.0.0.1", 8765)
    assert cli.config_from_args(args) == SandboxConfig()


def test_every_switch_reaches_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_API_KEY", "from-env")
    args = parse(
        *("--db", "s.db", "--rate", "0", "--burst", "5", "--retry-after-date"),
        *("--latency", "0.2", "--jitter", "0.5", "--p408", "0.1", "--retry-after-408", "7"),
        *("--p500", "0.05", "--p502", "0.02", "--p-drop", "0.01", "--conflict"),
        *("--fail-account", "off=412", "--fail-account", "odd=id=501"),
        *("--heartbeat-interval", "0.5", "--retry-after-grace", "1", "--seed", "42"),
        *("--limiter", "sliding", "--provider-rate", "600", "--provider-delay", "2.5"),
        *("--provider-account", "slow", "--provider-account", "slower"),
    )
    assert cli.config_from_args(args) == SandboxConfig(
        api_key="from-env",
        rate_limit_per_minute=0,
        burst=5,
        limiter="sliding",
        retry_after_http_date=True,
        latency_mean=0.2,
        latency_jitter=0.5,
        p408=0.1,
        retry_after_408=7,
        provider_rate_per_minute=600,
        provider_delay=2.5,
        provider_accounts=frozenset({"slow", "slower"}),
        p500=0.05,
        p502=0.02,
        p_drop=0.01,
        conflict_on_duplicate=True,
        fail_accounts={"off": 412, "odd=id": 501},
        heartbeat_interval=0.5,
        retry_after_grace=1,
        seed=42,
        db_path="s.db",
    )
    assert parse("--api-key", "flag").api_key == "flag"


def test_each_limiter_is_explained_in_a_line_of_the_help_and_of_the_readme() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    help_lines = parser.format_help().splitlines()
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for kind, limiter in LIMITERS.items():
        assert any(line.split() == [kind, *limiter.summary.split()] for line in help_lines)
        assert f"`--limiter {kind}`: {limiter.summary}" in readme


def test_an_unknown_limiter_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--limiter", "leaky")
    assert "invalid choice: 'leaky' (choose from" in capsys.readouterr().err


def test_a_fail_account_needs_412_or_501(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--fail-account", "acct=404")
    assert "expected ID=412 or ID=501, got 'acct=404'" in capsys.readouterr().err


def test_impossible_settings_exit_2_naming_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--port", "0", "--p500", "0.7", "--p502", "0.6")) == 2
    assert capsys.readouterr().err == "sandbox: p408 + p500 + p502 + p_drop must not exceed 1\n"


def test_a_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert cli.run(parse("--port", str(busy.getsockname()[1]))) == 2
    assert "address already in use" in capsys.readouterr().err


def test_an_unusable_db_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "missing" / "sandbox.db"
    assert cli.run(parse("--port", "0", "--db", str(db))) == 2
    assert capsys.readouterr().err.startswith(f"sandbox: cannot use the database {db}: ")


def test_standalone_server_prints_a_banner_serves_and_stops_on_sigterm() -> None:
    command = [sys.executable, "-m", "importer.sandbox", "--port", "0", "--api-key", "k"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as server:
        assert server.stderr is not None
        banner = server.stderr.readline()
        match = re.match(r"sandbox listening on (http://127\.0\.0\.1:\d+) — import with: ", banner)
        assert match, banner
        url = match.group(1)
        assert f"STACKONE_API_KEY=k importer run FILE --mapping M --base-url {url}" in banner
        answer = requests.post(
            url + "/unified/ats/candidates",
            json={"name": "Ada Lovelace"},
            auth=("k", ""),
            headers={"x-account-id": "sandbox"},
            timeout=5,
        )
        assert answer.status_code == 201
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0
        assert server.stderr.read() == (
            "sandbox stopped: 1 requests, 1 candidates, 0 duplicate e-mails,"
            " 0 Retry-After violations\n"
        )
