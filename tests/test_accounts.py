"""Rows routed to several linked accounts in one run (the mapping's ``account:`` column)."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from importer import ImportOptions, run_import_async
from importer.cli import main
from importer.errors import MissingColumnError
from importer.mapping import parse_mapping
from importer.sandbox import Sandbox, SandboxConfig, start_sandbox_thread
from tests.fakes import FakeApi, FakeClock, reply
from tests.sandboxed import DEFAULT_MAPPING, import_file

ROUTED = """
version: 1
account: {column: Customer}
fields:
  first_name: {column: First Name}
  last_name: {column: Last Name}
  email: {column: Email}
"""


def write(path: Path, rows: list[tuple[str, str]]) -> Path:
    """A file of (customer, e-mail) rows."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email", "Customer"])
        for i, (customer, email) in enumerate(rows):
            writer.writerow([f"First{i}", f"Last{i}", email, customer])
    return path


def mapping() -> Any:
    return parse_mapping(yaml.safe_load(ROUTED), source="routed.yaml")


def test_each_row_goes_to_its_accounts_and_results_say_which(tmp_path: Path) -> None:
    source = write(
        tmp_path / "in.csv",
        [
            ("acme", "ada@example.com"),
            ("globex", "ada@example.com"),  # the same person, another customer: two candidates
            ("acme", "grace@example.com"),
            ("acme", "ADA@example.com"),  # the same person twice for one customer
            ("", "alan@example.com"),
            (" globex ", "alan@example.com"),
        ],
    )
    imported = import_file(source, tmp_path / "out", mapping(), account_id=None)
    assert imported.outcomes() == {
        2: ("created", ""),
        3: ("created", ""),
        4: ("created", ""),
        5: ("rejected", "duplicate-in-file"),
        6: ("rejected", "missing-account"),
        7: ("created", ""),
    }
    assert [r["account"] for r in imported.results] == [
        "acme",
        "globex",
        "acme",
        "acme",
        "",
        "globex",
    ]
    assert "already appears in row 2 for account acme" in imported.message(5)
    assert 'the account column "Customer" is empty' in imported.message(6)
    [missing] = [r for r in imported.rejects if r["error_row"] == "6"]
    assert (missing["error_field"], missing["error_code"]) == ("account", "missing-account")
    assert imported.summary.account_id is None


def test_a_run_for_one_account_keeps_its_results_columns(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", [("acme", "ada@example.com")])
    imported = import_file(source, tmp_path / "out", DEFAULT_MAPPING)
    assert "account" not in imported.results[0]


def test_the_account_column_must_be_in_the_file(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("First Name,Last Name,Email\nAda,Lovelace,ada@example.com\n")
    with pytest.raises(MissingColumnError, match='"Customer" not found'):
        import_file(source, tmp_path / "out", mapping())


def _sandbox_emails(sandbox: Sandbox, account: str) -> list[str]:
    import urllib.request
    from base64 import b64encode

    auth = "Basic " + b64encode(b"k:").decode()
    request = urllib.request.Request(
        f"{sandbox.url}/unified/ats/candidates?page_size=100",
        headers={"Authorization": auth, "x-account-id": account},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return sorted(c["email"] for c in json.load(answer)["data"])


def test_cli_routes_by_account_column_and_a_disabled_account_stops_only_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [("acme", f"a{i}@example.com") for i in range(5)]
    rows += [("disabled", f"d{i}@example.com") for i in range(5)]
    rows += [("globex", f"g{i}@example.com") for i in range(5)]
    source = write(tmp_path / "in.csv", rows)
    config = SandboxConfig(rate_limit_per_minute=0, fail_accounts={"disabled": 412})
    monkeypatch.setenv("STACKONE_API_KEY", "k")
    monkeypatch.delenv("STACKONE_ACCOUNT_ID", raising=False)
    with start_sandbox_thread(config) as sandbox:
        where = ["--base-url", sandbox.url, "--out", str(tmp_path / "out"), "--quiet"]
        routed = ["--account-column", "Customer"]
        code = main(["run", str(source), "--mapping", str(DEFAULT_MAPPING), *routed, *where])
        assert _sandbox_emails(sandbox, "acme") == [f"a{i}@example.com" for i in range(5)]
        assert _sandbox_emails(sandbox, "globex") == [f"g{i}@example.com" for i in range(5)]
    assert code == 3
    with (tmp_path / "out" / "results.csv").open(newline="") as f:
        results = list(csv.DictReader(f))
    by_account: dict[str, set[str]] = {}
    for result in results:
        by_account.setdefault(result["account"], set()).add(result["status"])
    assert by_account == {"acme": {"created"}, "globex": {"created"}, "disabled": {"not_attempted"}}
    stopped = [r for r in results if r["account"] == "disabled"]
    assert all(r["error_code"] == "run-stopped" for r in stopped)
    assert "account disabled: the API answered 412" in stopped[-1]["error_message"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["stopped_early"] is True
    assert "rows of 1 account(s) not sent: account disabled" in summary["stop_reason"]


def test_a_bad_key_still_stops_every_account(tmp_path: Path) -> None:
    rows = [(customer, f"{customer}{i}@example.com") for i in range(4) for customer in "ab"]
    source = write(tmp_path / "in.csv", rows)

    async def run() -> Any:
        async with Sandbox(SandboxConfig(rate_limit_per_minute=0, api_key="right")) as sandbox:
            options = ImportOptions(
                mapping=mapping(),
                out_dir=tmp_path / "out",
                base_url=sandbox.url,
                api_key="wrong",
                handle_signals=False,
                concurrency=1,
            )
            return await run_import_async(source, options)

    summary = asyncio.run(run())
    assert summary.stopped_early
    assert summary.stop_reason.startswith("the API answered 401")
    assert summary.counts.created == 0
    assert summary.counts.not_attempted == len(rows)


def test_a_throttled_account_does_not_hold_up_the_others(tmp_path: Path) -> None:
    """A 408 (the provider's throttle) for one account pauses its rows only: the other
    account's rows are all sent while it waits, with no head-of-line blocking in the pool."""
    rows = [
        (customer, f"{customer}{i}@example.com") for i in range(10) for customer in ("slow", "fast")
    ]
    source = write(tmp_path / "in.csv", rows)
    clock = FakeClock()
    posts: list[tuple[str, float]] = []
    throttled: set[bytes] = set()

    def answer(url: Any, **kwargs: Any) -> Any:
        account = kwargs["headers"]["x-account-id"]
        posts.append((account, clock.now()))
        if account == "slow" and kwargs["data"] not in throttled:
            throttled.add(kwargs["data"])
            return reply(
                408, {"statusCode": 408, "message": "timeout"}, headers={"Retry-After": "30"}
            )
        return reply(201, {"statusCode": 201, "data": {"id": f"c{len(posts)}"}})

    async def run() -> Any:
        options = ImportOptions(
            mapping=mapping(),
            out_dir=tmp_path / "out",
            base_url="https://api.example.test",
            api_key="k",
            handle_signals=False,
            concurrency=2,
            rate=None,
            clock=clock,
        )
        return await run_import_async(source, options)

    with FakeApi() as api:
        api.post("https://api.example.test/unified/ats/candidates", callback=answer, repeat=True)
        summary = clock.run(run())
    assert summary.counts.created == 20
    fast = [at for account, at in posts if account == "fast"]
    slow = [at for account, at in posts if account == "slow"]
    assert len(fast) == 10
    assert max(fast) < 30  # all sent inside the slow account's pause
    # the slow account's own rows wait out its pause: only those already in flight (one per
    # worker of its lane) were sent before it ended; each was answered 408 once, then created
    assert sum(at < 30 for at in slow) <= 2
    assert len(slow) == 20


def test_a_row_queued_for_the_keys_slot_when_its_account_is_paused_waits_for_the_account() -> None:
    """Rows take their account's slot, then the key's: a 408 for the account that arrives while
    a row queues for the key's slot must still keep that row out of the account's window."""
    from importer.send.client import ApiClient
    from importer.send.pacer import Pacer
    from importer.send.retry import RetryPolicy
    from importer.send.sender import Sender, SendStats

    clock = FakeClock()
    posts: list[float] = []

    async def answer(url: Any, **kwargs: Any) -> Any:
        posts.append(clock.now())
        if len(posts) == 1:
            await clock.sleep(0.5)  # the provider's throttle is answered late
            return reply(
                408, {"statusCode": 408, "message": "timeout"}, headers={"Retry-After": "30"}
            )
        return reply(201, {"statusCode": 201, "data": {"id": f"c{len(posts)}"}})

    async def run() -> None:
        key, account = Pacer(60, clock), Pacer(None, clock)  # the key: one request a second
        async with ApiClient("https://api.example.test", "k", "acme", clock=clock) as client:
            sender = Sender(client, key, RetryPolicy(), clock, SendStats(), account)
            body = b'{"first_name": "A", "last_name": "B"}'
            await asyncio.gather(
                sender.send(2, body, "a@example.com"), sender.send(3, body, "b@example.com")
            )

    with FakeApi() as api:
        api.post("https://api.example.test/unified/ats/candidates", callback=answer, repeat=True)
        clock.run(run())
    # row 3 took the account's slot at 0 and the key's at 1, when the account was paused to 30.5
    assert posts[0] == 0
    assert len(posts) == 3
    assert min(posts[1:]) >= 30.5


def test_the_ledger_is_per_account_in_a_routed_run(tmp_path: Path) -> None:
    """Importing a routed file again creates nobody; the same e-mail for another account is
    still created, and the ledger remembers it for that account alone."""
    first = write(
        tmp_path / "first.csv", [("acme", "ada@example.com"), ("acme", "grace@example.com")]
    )
    second = write(
        tmp_path / "second.csv",
        [("acme", "ada@example.com"), ("globex", "ada@example.com"), ("acme", "alan@example.com")],
    )
    state = tmp_path / "ledger.sqlite"

    async def run() -> tuple[Any, Any, Any]:
        async with Sandbox(SandboxConfig(rate_limit_per_minute=0)) as sandbox:

            async def one(source: Path, out: str) -> Any:
                options = ImportOptions(
                    mapping=mapping(),
                    out_dir=tmp_path / out,
                    base_url=sandbox.url,
                    api_key="k",
                    handle_signals=False,
                    state=state,
                )
                return await run_import_async(source, options)

            return await one(first, "1"), await one(second, "2"), await one(second, "3")

    once, again, third = asyncio.run(run())
    assert once.counts.created == 2
    with (tmp_path / "2" / "results.csv").open(newline="") as f:
        results = [(r["account"], r["status"], r["error_code"]) for r in csv.DictReader(f)]
    assert results == [
        ("acme", "skipped", "already-imported"),
        ("globex", "created", ""),
        ("acme", "created", ""),
    ]
    assert (third.counts.created, third.counts.skipped) == (0, 3)
    assert again.state == third.state == str(state)
