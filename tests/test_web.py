"""The web page's server: access token, upload limits, private files, jobs, and the engine's
own codes and messages, driven over HTTP on 127.0.0.1 (the browser test drives the page)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests

from importer.cli import main as cli_main
from importer.errors import ConfigError
from importer.mapping import load_mapping, load_mapping_text
from importer.read.limits import WorkbookLimits, check_archive
from importer.read.tables import open_table
from importer.sandbox import SandboxConfig, start_sandbox_thread
from importer.web import WebConfig, WebServer, job_routes, start_server_thread
from importer.web.guard import TOKEN_HEADER
from importer.web.workspace import page_words
from tests.hidden_sheet import filtered_workbook

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "candidates.csv"
SECRET = "sk-live-web-s3cret-0123456789"
REJECTED = {4: "invalid-email", 9: "invalid-date", 10: "duplicate-in-file"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Api:
    """The server's JSON API with the token in a header, as a script would use it."""

    def __init__(self, server: WebServer) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.session.headers[TOKEN_HEADER] = server.token

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url + path, timeout=10, **kwargs)

    def upload(self, name: str, content: bytes) -> requests.Response:
        return self.post("/api/uploads", files={"file": (name, content)})

    def upload_ok(self, path: Path = SAMPLE, name: str | None = None) -> dict[str, Any]:
        answer = self.upload(name or path.name, path.read_bytes())
        assert answer.status_code == 200, answer.text
        upload: dict[str, Any] = answer.json()
        return upload

    def check(self, upload: dict[str, Any], mapping: dict[str, Any]) -> dict[str, Any]:
        answer = self.post(f"/api/uploads/{upload['id']}/check", json={"mapping": mapping})
        assert answer.status_code == 200, answer.text
        return self.wait(answer.json()["id"])

    def wait(self, job_id: str, until: tuple[str, ...] = ("done", "failed")) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.get(f"/api/jobs/{job_id}").json()
            if job["state"] in until:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still {job['state']}")

    def import_(self, check: dict[str, Any], **body: Any) -> requests.Response:
        return self.post(f"/api/jobs/{check['id']}/import", json=body)

    def checked_rows(self, check: dict[str, Any], show: str = "all") -> list[dict[str, Any]]:
        """Every row of a check that ``show`` selects, page after page."""
        found: list[dict[str, Any]] = []
        page, pages = 1, 1
        while page <= pages:
            answer = self.get(f"/api/jobs/{check['id']}/rows", params={"show": show, "page": page})
            assert answer.status_code == 200, answer.text
            found += answer.json()["rows"]
            pages = answer.json()["pages"]
            page += 1
        return found

    def edit(self, check: dict[str, Any], row: int, column: int, value: str) -> dict[str, Any]:
        answer = self.post(
            f"/api/jobs/{check['id']}/cells", json={"row": row, "column": column, "value": value}
        )
        assert answer.status_code == 200, answer.text
        edited: dict[str, Any] = answer.json()
        return edited

    def stored(self, email: str) -> list[dict[str, Any]]:
        """The candidates the page's sandbox holds with this e-mail."""
        found: list[dict[str, Any]] = requests.get(
            self.server.sandbox.url + "/unified/ats/candidates",
            params={"filter[email]": email},
            auth=(self.server.sandbox.api_key, ""),
            headers={"x-account-id": "sandbox"},
            timeout=5,
        ).json()["data"]
        return found

    def rows(self, job: dict[str, Any], name: str) -> list[dict[str, str]]:
        answer = self.get(f"/api/jobs/{job['id']}/files/{name}")
        assert answer.status_code == 200, answer.text
        return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


@pytest.fixture
def server() -> Iterator[WebServer]:
    with start_server_thread(WebConfig(port=0, max_upload_bytes=64 * 1024)) as running:
        yield running


@pytest.fixture
def api(server: WebServer) -> Api:
    return Api(server)


def every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# -- the access token ---------------------------------------------------------------------


def test_every_request_needs_the_token(server: WebServer) -> None:
    for path in ("/", "/static/app.js", "/api/config", "/api/jobs/" + "0" * 32):
        answer = requests.get(server.url + path, timeout=5)
        assert answer.status_code == 401, path
        assert "open the address that `importer serve` printed" in answer.text
    upload = requests.post(server.url + "/api/uploads", files={"file": ("a.csv", b"x")}, timeout=5)
    assert upload.status_code == 401
    wrong = {TOKEN_HEADER: server.token + "x"}
    assert requests.get(server.url + "/api/config", headers=wrong, timeout=5).status_code == 401
    assert requests.get(server.url + "/?token=nope", timeout=5).status_code == 401
    assert server.workspace.uploads == {}


def test_the_printed_link_sets_a_cookie_and_drops_the_token_from_the_address(
    server: WebServer,
) -> None:
    session = requests.Session()
    first = session.get(server.login_url, allow_redirects=False, timeout=5)
    assert first.status_code == 302
    assert first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    page = session.get(server.url + "/", timeout=5)
    assert page.status_code == 200
    assert "<title>Import candidates</title>" in page.text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert session.get(server.url + "/api/config", timeout=5).status_code == 200


def test_a_configured_token_is_the_one_accepted() -> None:
    with start_server_thread(WebConfig(port=0, token="team-token")) as server:
        assert server.login_url.endswith("/?token=team-token")
        headers = {TOKEN_HEADER: "team-token"}
        assert requests.get(server.url + "/api/config", headers=headers, timeout=5).ok


# -- uploads --------------------------------------------------------------------------------


def test_an_upload_over_the_limit_is_413_and_leaves_nothing(api: Api) -> None:
    root = api.server.workspace.root
    for size in (100 * 1024, 400 * 1024):  # streamed past the limit; refused by its length
        answer = api.upload("big.csv", b"Name,Email\n" + b"x" * size)
        assert answer.status_code == 413
        assert answer.json()["error"] == (
            "the file is larger than 64 KB, the most this page takes: split it, or ask whoever "
            "runs the server to raise the limit"
        )
    assert every_file(root) == []
    assert api.get("/api/config").json()["max_upload"] == "64 KB"


def test_only_spreadsheets_are_taken_and_unreadable_ones_are_explained(api: Api) -> None:
    pdf = api.upload("cv.pdf", b"%PDF-1.4")
    assert pdf.status_code == 415
    assert "upload a .csv, .tsv or .txt file or an .xlsx or .xlsm workbook" in pdf.json()["error"]
    xls = api.upload("old.xls", b"\xd0\xcf\x11\xe0")
    assert xls.status_code == 400
    assert "save it as an Excel Workbook (.xlsx)" in xls.json()["error"]
    empty = api.upload("empty.csv", b"")
    assert empty.status_code == 400
    assert empty.json()["error"].startswith('"empty.csv"')
    assert api.server.workspace.root.name not in empty.json()["error"]
    assert every_file(api.server.workspace.root) == []


def test_uploads_are_private_and_named_by_the_server(api: Api, tmp_path: Path) -> None:
    escape = tmp_path / "escaped.csv"
    upload = api.upload_ok(name=f"../../../../..{escape}")
    assert upload["name"] == "escaped.csv"
    assert re.fullmatch(r"[0-9a-f]{32}", upload["id"])
    assert not escape.exists()
    root = api.server.workspace.root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert [p.relative_to(root).as_posix() for p in every_file(root)] == [
        f"uploads/{upload['id']}/input.csv"
    ]


def test_a_workbook_offers_its_sheets_and_starts_on_the_first_visible(api: Api) -> None:
    upload = api.upload_ok(ROOT / "tests" / "data" / "hidden_sheet.xlsx")
    assert upload["sheets"] == [
        {"name": "Lookup", "visible": False},
        {"name": "Candidates", "visible": True},
        {"name": "Archive", "visible": True},
    ]
    assert (upload["sheet"], upload["headers"]) == ("Candidates", ["Name", "Email"])
    archive = api.get(f"/api/uploads/{upload['id']}", params={"sheet": "Archive"}).json()
    assert (archive["sheet"], archive["headers"]) == ("Archive", ["Name", "Email", "Left"])
    missing = api.get(f"/api/uploads/{upload['id']}", params={"sheet": "Nope"})
    assert missing.status_code == 400
    assert missing.json()["error"] == '"hidden_sheet.xlsx" has no sheet named "Nope"'


# -- the mapping step -------------------------------------------------------------------------


def test_the_suggestion_shows_columns_against_fields_with_examples(api: Api) -> None:
    upload = api.upload_ok()
    columns = {c["header"]: c for c in upload["columns"]}
    assert columns["Email"]["target"] == "email"
    assert columns["Mobile"]["target"] == "phone_numbers.mobile"
    assert columns["Source"]["target"] == "custom_fields"
    assert columns["First Name"]["examples"] == ["Ada", "Grace", "Alan"]
    config = api.get("/api/config").json()
    assert config["mappings"][0] == "default"
    assert {"key": "email", "label": "E-mail (the first address of the cell)"} in config["targets"]


def test_a_changed_choice_changes_the_yaml_and_a_mapping_without_a_name_is_explained(
    api: Api,
) -> None:
    upload = api.upload_ok()
    path = f"/api/uploads/{upload['id']}/mapping"
    chosen = api.post(path, json={"mapping": {"columns": {"11": None}}}).json()
    assert chosen["error"] is None
    assert "custom_fields" not in chosen["yaml"]
    assert chosen["used"] == list(range(11))
    nameless = api.post(path, json={"mapping": {"columns": {"0": None, "1": None}}}).json()
    assert "no field gives a name" in nameless["error"]
    check = api.post(
        f"/api/uploads/{upload['id']}/check", json={"mapping": {"columns": {"0": None}}}
    )
    assert check.status_code == 400
    assert "no field gives a name" in check.json()["error"]


def test_a_shipped_mapping_is_chosen_by_name_only(api: Api) -> None:
    upload = api.upload_ok(ROOT / "samples" / "greenhouse.csv")
    assert upload["layout"]["mapping"] == "greenhouse"
    assert upload["layout"]["text"].startswith("looks like a Greenhouse export")
    path = f"/api/uploads/{upload['id']}/mapping"
    greenhouse = api.post(path, json={"mapping": {"shipped": "greenhouse"}}).json()
    assert greenhouse["label"] == "mappings/greenhouse.yaml"
    assert greenhouse["error"] is None
    assert greenhouse["yaml"] == (ROOT / "mappings" / "greenhouse.yaml").read_text("utf-8")
    for name in ("../pyproject", "/etc/passwd", "greenhouse.yaml", "..", 7):
        answer = api.post(path, json={"mapping": {"shipped": name}})
        assert answer.status_code == 400
        assert answer.json()["error"].startswith("there is no shipped mapping named")
    bad_column = api.post(path, json={"mapping": {"columns": {"../0": "email"}}})
    assert bad_column.status_code == 400
    bad_target = api.post(path, json={"mapping": {"columns": {"0": "__class__"}}})
    assert bad_target.status_code == 400


def test_no_path_from_the_client_reaches_the_file_system(api: Api) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    assert check["state"] == "done"
    for path in (
        f"/api/jobs/{check['id']}/files/job.json",
        f"/api/jobs/{check['id']}/files/worker.log",
        f"/api/jobs/{check['id']}/files/..%2Fjob.json",
        f"/api/jobs/{check['id']}/files/%2Fetc%2Fpasswd",
        f"/api/jobs/{check['id']}/files/preview.json",
        "/api/jobs/..%2F..%2Fetc/files/summary.json",
        f"/api/uploads/{upload['id']}%2F..%2F..",
        "/static/..%2Fserver.py",
        "/static/index.html%00",
        "/static/../../pyproject.toml",
    ):
        assert api.get(path).status_code == 404, path
    assert api.get(f"/api/jobs/{check['id']}/files/mapping.yaml").status_code == 200


# -- the check and the import ---------------------------------------------------------------


def test_the_check_reports_the_clis_codes_and_messages(api: Api, tmp_path: Path) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {"11": None}})
    summary = check["summary"]
    assert summary["dry_run"] is True
    assert summary["by_status"] == {"created": 0, "rejected": 3, "skipped": 1, "not_attempted": 15}
    assert summary["by_error_code"]["duplicate-in-file"] == 1
    assert summary["input"] == "candidates.csv"
    rows = {row["row_number"]: row for row in api.checked_rows(check)}
    assert len(rows) == 19
    # the page's rows say what the dry run said, row by row
    results = api.rows(check, "results.csv")
    page_status = {"ready": "not_attempted", "rejected": "rejected", "skipped": "skipped"}
    assert {n: page_status[r["status"]] for n, r in rows.items()} == {
        int(r["row_number"]): r["status"] for r in results
    }
    assert check["checked"]["counts"] == {
        "rows": 19,
        "ready": 15,
        "rejected": 3,
        "skipped": 1,
        "duplicates": 1,
        "warnings": 2,
        "edited_cells": 0,
    }
    assert check["checked"]["by_code"] == {code: 1 for code in REJECTED.values()}
    # a phone kept as typed is sent, and text that is no phone left out, each with a warning on
    # its cell, as results.csv says
    warned = {row["row_number"]: row for row in api.checked_rows(check, "warnings")}
    assert sorted(warned) == [14, 20]
    for number, code in ((14, "kept-as-typed"), (20, "value-dropped")):
        assert warned[number]["status"] == "ready"
        assert [(w["code"], w["positions"]) for w in warned[number]["warnings"]] == [(code, [3])]
        [result] = [r for r in results if int(r["row_number"]) == number]
        assert result["warnings"].startswith(code)
    assert rows[2]["status"] == "ready"
    assert rows[2]["body"]["email"] == "ada.lovelace@example.com"
    assert ["E-mail", "ada.lovelace@example.com"] in rows[2]["sends"]
    assert any(label.startswith("Phone") for label, _ in rows[2]["sends"])
    assert "custom_fields" not in rows[2]["body"]
    assert rows[8]["status"] == "skipped"
    assert rows[4]["problems"][0]["positions"] == [2]
    assert rows[10]["problems"][0]["positions"] == [2]  # the e-mail cell to change

    # `importer validate` with the page's mapping says the same, word for word
    mapping = tmp_path / "mapping.yaml"
    mapping.write_bytes(api.get(f"/api/jobs/{check['id']}/files/mapping.yaml").content)
    out = tmp_path / "out"
    assert cli_main(["validate", str(SAMPLE), "--mapping", str(mapping), "--out", str(out), "-q"])
    with (out / "results.csv").open(newline="", encoding="utf-8") as f:
        cli = {int(r["row_number"]): r for r in csv.DictReader(f) if r["status"] == "rejected"}
    assert {n: r["error_code"] for n, r in cli.items()} == REJECTED
    for number, row in cli.items():
        problem = rows[number]["problems"][0]
        assert (problem["code"], problem["message"]) == (row["error_code"], row["error_message"])


def test_a_corrected_cell_is_checked_again_with_the_importers_rules(api: Api) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    assert [r["row_number"] for r in api.checked_rows(check, "problems")] == [4, 9, 10]

    fixed = api.edit(check, 4, 2, "alan.turing@example.com")
    [row] = fixed["rows"]
    assert (row["row_number"], row["status"], row["problems"]) == (4, "ready", [])
    assert row["edited"] == {"2": "alan.turing@example"}
    assert row["body"]["email"] == "alan.turing@example.com"
    counts = fixed["checked"]["counts"]
    assert (counts["ready"], counts["rejected"], counts["edited_cells"]) == (16, 2, 1)
    assert "invalid-email" not in fixed["checked"]["by_code"]
    assert fixed["edited_cells"] == 1
    assert [r["row_number"] for r in api.checked_rows(check, "edited")] == [4]

    # the duplicate rule runs over the whole file: row 10 repeats row 2's e-mail ...
    moved = api.edit(check, 2, 2, "ada@example.com")
    assert [(r["row_number"], r["status"]) for r in moved["rows"]] == [(2, "ready"), (10, "ready")]
    assert moved["checked"]["counts"]["duplicates"] == 0
    # ... and a corrected e-mail can become a duplicate itself
    twin = api.edit(check, 4, 2, "ADA@example.com")
    [row] = twin["rows"]
    assert row["status"] == "rejected"
    assert row["problems"][0]["code"] == "duplicate-in-file"
    assert "already appears in row 2" in row["problems"][0]["message"]
    assert row["edited"] == {"2": "alan.turing@example"}  # still the file's text

    # typing the file's text back undoes the edit
    undone = api.edit(check, 2, 2, "ada.lovelace@example.com")
    assert undone["edited_cells"] == 1
    assert {r["row_number"]: r["status"] for r in undone["rows"]} == {
        2: "ready",
        4: "ready",
        10: "rejected",
    }
    assert upload["id"] in api.server.workspace.uploads
    assert api.server.workspace.uploads[upload["id"]].edits == {
        "": {"2": {}, "4": {"2": ("alan.turing@example", "ADA@example.com")}}
    }


def test_cells_that_do_not_exist_cannot_be_edited(api: Api) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    url = f"/api/jobs/{check['id']}/cells"
    for body, code, error in (
        ({"row": 99, "column": 0, "value": "x"}, "no-such-row", "the file has no row 99"),
        ({"row": 1, "column": 0, "value": "x"}, "no-such-row", "the file has no row 1"),
        ({"row": 10**30, "column": 0, "value": "x"}, "no-such-row", "the file has no row 1000"),
        ({"row": 4, "column": 12, "value": "x"}, "no-such-cell", "row 4 has no cell in column 13"),
        ({"row": 4, "column": -1, "value": "x"}, "no-such-cell", "row 4 has no cell in column 0"),
        ({"row": "4", "column": 2, "value": "x"}, "not-a-cell-edit", 'send {"row": NUMBER'),
        ({"row": 4, "column": 2, "value": 5}, "not-a-cell-edit", 'send {"row": NUMBER'),
        (
            {"row": 4, "column": 2, "value": "x" * 32768},
            "cell-too-long",
            "a cell holds at most 32,767 characters",
        ),
    ):
        answer = api.post(url, json=body)
        assert answer.status_code == 400, body
        assert (answer.json()["code"], answer.json()["error"][: len(error)]) == (code, error)
    assert api.get(f"/api/jobs/{check['id']}/rows", params={"show": "x"}).status_code == 400
    assert api.server.workspace.uploads[upload["id"]].edits == {}


def test_text_no_file_can_hold_is_refused_and_later_edits_still_work(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    url = f"/api/jobs/{check['id']}/cells"
    # half of a UTF-16 pair, as a broken copy and paste leaves it: JSON carries it as \ud800
    body = '{"row": 4, "column": 2, "value": "ada\\ud800@example.com"}'
    answer = api.post(url, data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "character 4 of the text is half of a character (U+D800), which no file can "
        "hold: type the text again",
        "code": "cell-not-text",
    }
    assert api.server.workspace.uploads[upload["id"]].edits == {}
    # a failure inside the transaction (a bug) rolls it back: the next edit is taken
    checked = api.server.jobs.jobs[check["id"]].checked
    assert checked is not None
    monkeypatch.setattr(checked, "_settle_duplicates", lambda emails: 1 / 0)
    assert api.post(url, json={"row": 4, "column": 2, "value": "x"}).status_code == 500
    monkeypatch.undo()
    [row] = api.edit(check, 4, 2, "alan.turing@example.com")["rows"]
    assert (row["status"], row["edited"]) == ("ready", {"2": "alan.turing@example"})


def test_the_import_sends_the_corrected_cells(api: Api) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    api.edit(check, 4, 2, "alan.turing@example.com")
    api.edit(check, 20, 3, "+234 803 765 4321")
    answer = api.import_(check, target="sandbox")
    job = api.wait(answer.json()["id"])
    assert job["summary"]["by_status"]["created"] == 16
    results = {int(r["row_number"]): r for r in api.rows(job, "results.csv")}
    assert results[4]["status"] == results[20]["status"] == "created"
    found = api.stored("alan.turing@example.com")
    assert [c["last_name"] for c in found] == ["Turing"]


def test_a_check_imports_the_cells_it_showed_not_those_corrected_in_a_later_check(
    api: Api,
) -> None:
    upload = api.upload_ok()
    first = api.check(upload, {"columns": {}})
    api.edit(first, 4, 2, "alan.turing@example.com")
    # Back, then Check again (or a second tab): the second check starts from the first's cells
    second = api.check(upload, {"columns": {}})
    assert second["checked"]["counts"]["edited_cells"] == 1
    assert api.edit(second, 4, 2, "alan@bletchley.example")["edited_cells"] == 1
    assert api.edit(second, 20, 0, "Amarachi")["edited_cells"] == 2
    # back on the first check's page, which still shows its own cells
    [row] = api.checked_rows(first, "edited")
    assert row["body"]["email"] == "alan.turing@example.com"

    corrected = api.get(f"/api/jobs/{first['id']}/corrected.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(corrected)))
    assert (rows[3][2], rows[19][0]) == ("alan.turing@example.com", "Amara")
    job = api.wait(api.import_(first, target="sandbox").json()["id"])
    assert job["summary"]["by_status"]["created"] == 16
    assert [c["last_name"] for c in api.stored("alan.turing@example.com")] == ["Turing"]
    assert api.stored("alan@bletchley.example") == []
    assert [c["first_name"] for c in api.stored("amara.nwosu@example.com")] == ["Amara"]
    # the next check starts from the latest corrections, the second check's
    third = api.check(upload, {"columns": {}})
    cells = {r["row_number"]: r["cells"] for r in api.checked_rows(third, "edited")}
    assert (cells.keys(), cells[4][2], cells[20][0]) == (
        {4, 20},
        "alan@bletchley.example",
        "Amarachi",
    )


def test_a_linked_cell_typed_over_sends_what_was_typed_not_its_old_link(
    api: Api, tmp_path: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "LinkedIn"])
    sheet.append(["Ada Lovelace", "ada@example.com", "Profile"])
    sheet["C2"].hyperlink = "https://www.linkedin.com/in/ada-old"
    path = tmp_path / "linked.xlsx"
    book.save(path)
    check = api.check(api.upload_ok(path), {"columns": {}})
    [row] = api.checked_rows(check)
    assert row["cells"][3] == "https://www.linkedin.com/in/ada-old"  # "LinkedIn (link)"
    assert row["body"]["social_links"][0]["url"] == "https://www.linkedin.com/in/ada-old"

    new = "https://www.linkedin.com/in/ada-new"
    [row] = api.edit(check, 2, 2, new)["rows"]
    assert row["body"]["social_links"] == [{"url": new, "type": "linkedin"}]
    assert row["edited"] == {"2": "Profile", "3": "https://www.linkedin.com/in/ada-old"}
    # the twin is the file's link, not a cell of it: corrected through its cell only
    answer = api.post(f"/api/jobs/{check['id']}/cells", json={"row": 2, "column": 3, "value": "x"})
    assert answer.status_code == 400
    assert 'the cell of column "LinkedIn" links to' in answer.json()["error"]
    # typed back as the file has it, the cell links again
    [row] = api.edit(check, 2, 2, "Profile")["rows"]
    assert row["body"]["social_links"][0]["url"] == "https://www.linkedin.com/in/ada-old"
    assert row["edited"] == {}

    api.edit(check, 2, 2, new)
    job = api.wait(api.import_(check, target="sandbox").json()["id"])
    assert job["summary"]["by_status"]["created"] == 1
    found = api.stored("ada@example.com")
    assert [c["social_links"][0]["url"] for c in found] == [new]
    # the corrected file is the user's: no column of the reader's added to it
    corrected = tmp_path / "corrected.xlsx"
    corrected.write_bytes(api.get(f"/api/jobs/{check['id']}/corrected.xlsx").content)
    rows = list(openpyxl.load_workbook(corrected).active.values)
    assert rows == [("Name", "Email", "LinkedIn"), ("Ada Lovelace", "ada@example.com", new)]


def test_the_corrected_file_is_the_users_file_with_the_cells_changed(
    api: Api, tmp_path: Path
) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    api.edit(check, 4, 2, "alan.turing@example.com")
    api.edit(check, 20, 3, "=1+1")  # text as typed, never a formula
    answer = api.get(f"/api/jobs/{check['id']}/corrected.csv")
    assert answer.headers["Content-Disposition"] == (
        'attachment; filename="candidates-corrected.csv"'
    )
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        original = list(csv.reader(f))
    original[3][2] = "alan.turing@example.com"
    original[19][3] = "=1+1"
    assert rows == original

    workbook = tmp_path / "corrected.xlsx"
    workbook.write_bytes(api.get(f"/api/jobs/{check['id']}/corrected.xlsx").content)
    with open_table(workbook) as table:
        assert [table.headers, *[list(r.values) for r in table.rows]] == original
    assert api.get(f"/api/jobs/{check['id']}/corrected.pdf").status_code == 404


def test_a_workbook_keeps_its_other_sheets_and_a_title_line_keeps_its_row(
    api: Api, tmp_path: Path
) -> None:
    source = tmp_path / "export.xlsx"
    make_workbook(source)
    upload = api.upload_ok(source)
    # the summary sheet names no candidate: the page opens the sheet that does, at its headers
    assert (upload["sheet"], upload["passed_sheets"]) == ("Candidates", ["Summary"])
    assert (upload["header_row"], upload["header_found"]) == (3, True)
    assert upload["headers"] == ["First Name", "Last Name", "Email", "Phone"]
    mapping = api.post(
        f"/api/uploads/{upload['id']}/mapping",
        json={"sheet": "Candidates", "header_row": 1, "mapping": {"columns": {}}},
    ).json()
    assert "--" not in mapping["error"]
    assert "enter it under “Column names on row”" in mapping["error"]
    # the mapping offered for download names the sheet, so the command line reads the same one
    mapping = api.post(
        f"/api/uploads/{upload['id']}/mapping",
        json={"sheet": "Candidates", "header_row": 3, "mapping": {"columns": {}}},
    ).json()
    assert mapping["error"] is None
    assert (
        '# the candidates are on sheet "Candidates": "Summary" before it has no name column\n'
        'sheet: "Candidates"\n'
    ) in mapping["yaml"]
    answer = api.get(
        f"/api/uploads/{upload['id']}", params={"sheet": "Candidates", "header_row": 3}
    )
    assert answer.json()["headers"] == ["First Name", "Last Name", "Email", "Phone"]
    assert answer.json()["header_row"] == 3
    check_answer = api.post(
        f"/api/uploads/{upload['id']}/check",
        json={"sheet": "Candidates", "header_row": 3, "mapping": {"columns": {}}},
    )
    check = api.wait(check_answer.json()["id"])
    assert check["header_row"] == 3
    rows = api.checked_rows(check)
    assert [r["row_number"] for r in rows] == [4, 5, 6]
    assert [r["status"] for r in rows] == ["ready", "rejected", "ready"]
    api.edit(check, 5, 2, "bo@example.com")
    corrected = tmp_path / "corrected.xlsx"
    corrected.write_bytes(api.get(f"/api/jobs/{check['id']}/corrected.xlsx").content)
    with open_table(corrected, sheet="Summary") as table:
        assert table.headers == ["Candidates", "3"]
    with open_table(corrected, sheet="Candidates", header_row=3) as table:
        assert [r.values[2] for r in table.rows] == ["ann@example.com", "bo@example.com", "cy@x.io"]
    as_csv = api.get(f"/api/jobs/{check['id']}/corrected.csv").content.decode("utf-8-sig")
    assert as_csv.splitlines()[0] == "Candidate export,,,"
    assert as_csv.splitlines()[4] == "Bo,Ray,bo@example.com,"


def test_a_corrected_workbook_keeps_its_formulas_results_and_can_be_checked_again(
    api: Api, tmp_path: Path
) -> None:
    formulas = ROOT / "tests" / "data" / "formulas.xlsx"
    check = api.check(api.upload_ok(formulas), {"columns": {}})
    api.edit(check, 3, 1, "Raymond")
    corrected = tmp_path / "formulas-corrected.xlsx"
    corrected.write_bytes(api.get(f"/api/jobs/{check['id']}/corrected.xlsx").content)
    again = api.check(api.upload_ok(corrected), {"columns": {}})
    assert again["state"] == "done", again["error"]
    assert [r["cells"] for r in api.checked_rows(again)] == [
        ["Ann", "Lee", "Ann Lee", "447700112233", "447700112233", "TRUE"],
        # the results Excel stored, which it computes again on opening the file
        ["Bob", "Raymond", "Bob Ray", "447700112234", "447700112234", "FALSE"],
    ]
    shared = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(formulas) as source, zipfile.ZipFile(shared, "w") as copy:
        for info in source.infolist():
            part = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                part = part.replace(b"<f>D2*1</f>", b'<f t="shared" ref="E2:E3" si="0">D2*1</f>')
                part = part.replace(b"<f>D3*1</f>", b'<f t="shared" si="0"/>')
            copy.writestr(info, part)
    check = api.check(api.upload_ok(shared), {"columns": {}})
    api.edit(check, 2, 4, "447700112299")
    refused = api.get(f"/api/jobs/{check['id']}/corrected.xlsx")
    assert refused.status_code == 400
    assert refused.json()["code"] == "corrected-file-not-written"
    assert refused.json()["error"].startswith("cell E2 holds a formula Excel copied to other")


def make_workbook(path: Path) -> None:
    """A summary sheet first, then the candidates under a title line and a blank row."""
    workbook = openpyxl.Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append(["Candidates", 3])
    sheet = workbook.create_sheet("Candidates")
    sheet.append(["Candidate export"])
    sheet.append([])
    sheet.append(["First Name", "Last Name", "Email", "Phone"])
    sheet.append(["Ann", "Lee", "ann@example.com", "+44 20 7946 0958"])
    sheet.append(["Bo", "Ray", "bo@example", None])
    sheet.append(["Cy", "Day", "cy@x.io", None])
    workbook.save(path)


def test_rows_come_in_pages_filtered(api: Api) -> None:
    lines = ["Name,Email"] + [
        f"Person {i},p{i}@example.com" if i % 40 else f"Person {i},bad" for i in range(1, 121)
    ]
    upload = api.upload("many.csv", ("\n".join(lines) + "\n").encode())
    check = api.check(upload.json(), {"columns": {}})
    url = f"/api/jobs/{check['id']}/rows"
    last = api.get(url, params={"page": 3}).json()
    assert (last["page"], last["pages"], last["matching"]) == (3, 3, 120)
    assert [r["row_number"] for r in last["rows"]] == list(range(102, 122))
    assert api.get(url, params={"page": 9}).json()["page"] == 3
    problems = api.get(url, params={"show": "problems"}).json()
    assert [r["row_number"] for r in problems["rows"]] == [41, 81, 121]


def test_the_rows_a_sheet_hides_are_listed_as_skipped_and_not_imported(
    api: Api, tmp_path: Path
) -> None:
    """The page imports what Excel shows, and its check says so before anything is sent."""
    book = filtered_workbook(tmp_path / "filtered.xlsx")
    check = api.check(api.upload_ok(book), {"columns": {}})
    rows = {row["row_number"]: row for row in api.checked_rows(check)}
    assert {n: row["status"] for n, row in rows.items()} == {
        3: "ready",
        4: "skipped",
        5: "ready",
        6: "skipped",
    }
    assert [p["code"] for p in rows[4]["problems"]] == ["hidden-row"]
    assert "--" not in rows[4]["problems"][0]["message"]
    assert check["checked"]["counts"]["skipped"] == 2
    assert check["checked"]["by_skip"] == {"hidden-row": 2}
    job = api.wait(api.import_(check, target="sandbox").json()["id"])
    assert job["summary"]["by_status"]["created"] == 2
    assert job["summary"]["by_error_code"] == {"hidden-row": 2}
    assert api.server.sandbox.stats()["candidates"] == 2


def test_the_header_row_again_is_skipped_on_the_page_as_on_the_command_line(api: Api) -> None:
    joined = (
        b"First Name,Last Name,Email\r\nAda,Lovelace,ada@example.org\r\n"
        b"First Name,Last Name,Email\r\nBob,Smith,bob@example.org\r\n"
    )
    check = api.check(api.upload("joined.csv", joined).json(), {"columns": {}})
    rows = {row["row_number"]: row for row in api.checked_rows(check)}
    assert {n: row["status"] for n, row in rows.items()} == {2: "ready", 3: "skipped", 4: "ready"}
    assert check["checked"]["by_skip"] == {"header-again": 1}
    assert check["summary"]["by_error_code"] == {"header-again": 1}


def test_the_check_says_how_the_file_was_read_in_the_pages_words(api: Api) -> None:
    """A guessed encoding and a column no field takes are said on the page, with the page's
    fix (upload a UTF-8 file, choose a field) rather than the command line's."""
    text = "First Name,Last Name,Email,Mobile Number\r\nJosé,Müller,jm@example.org,0791\r\n"
    upload = api.upload("mac.csv", text.encode("mac_roman")).json()
    check = api.check(upload, {"columns": {"3": None}})
    notices = check["summary"]["notices"]
    assert notices == [
        "mac.csv is not UTF-8: it was read as mac_roman, a guess from its text (line 2 reads "
        '"José"); if letters look wrong, save it from Excel as “CSV UTF-8” and upload that file',
        '1 column of the file the mapping does not read, so not sent: "Mobile Number"; if the '
        "ATS should have one, choose its field under “Change the columns”",
    ]


def test_the_check_of_a_file_whose_dates_read_the_other_way_round_fails_with_the_pages_fix(
    api: Api,
) -> None:
    """A US file through the shipped default (day first): the check said two rows were ready,
    and the import then refused the file, advising a mapping file the page does not show."""
    text = (
        "Name,Email,Hired At\nAda Lovelace,ada@example.com,03/01/2024\n"
        "Bo Ray,bo@example.com,12/31/2023\nCy Dee,cy@example.com,04/05/2024\n"
    )
    upload = api.upload("us.csv", text.encode()).json()
    check = api.check(upload, {"shipped": "default"})
    assert check["state"] == "failed"
    assert check["error"].startswith('us.csv: column "Hired At" writes its dates with the month')
    assert check["error"].endswith(
        "An import would stop before sending anything: if the file writes its dates with the "
        "month first, choose “Suggested from your columns” under “Mapping”, which reads dates in "
        "the order the file's first rows write them; if not, correct row 3"
    )
    assert "day_first" not in check["error"]  # the page shows no mapping file's words
    # which is so: the suggestion reads them month first, and every row is ready
    suggested = api.check(upload, {"columns": {}})
    assert suggested["state"] == "done"
    assert suggested["checked"]["counts"]["ready"] == 3


def test_import_into_the_sandbox_and_download_the_reports(api: Api) -> None:
    upload = api.upload_ok()
    check = api.check(upload, {"columns": {}})
    answer = api.import_(check, target="sandbox")
    assert answer.status_code == 200
    job = api.wait(answer.json()["id"])
    assert job["state"] == "done"
    assert job["summary"]["by_status"] == {
        "created": 15,
        "rejected": 3,
        "skipped": 1,
        "not_attempted": 0,
    }
    assert job["progress"]["rows_done"] == job["rows_total"] == 19
    assert api.server.sandbox.stats()["candidates"] == 15
    assert job["files"] == [
        "results.csv",
        "rejects.csv",
        "rejects.xlsx",
        "summary.json",
        "mapping.yaml",
    ]
    rejects = api.rows(job, "rejects.csv")
    headers = SAMPLE.read_text("utf-8").splitlines()[0].split(",")
    assert list(rejects[0]) == [*headers, "error_row", "error_code", "error_field", "error_message"]
    assert {int(r["error_row"]): r["error_code"] for r in rejects} == REJECTED
    download = api.get(f"/api/jobs/{job['id']}/files/rejects.csv")
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="candidates-rejects.csv"'
    )
    assert len(api.rows(job, "results.csv")) == 19

    # the fixed rejects come back through the page: the error columns are left out
    fixed = download.content.decode("utf-8-sig").replace(
        "alan.turing@example,", "alan@example.com,"
    )
    again = api.upload("candidates-rejects.csv", fixed.encode("utf-8-sig"))
    columns = {c["header"]: c for c in again.json()["columns"]}
    assert columns["error_message"]["target"] is None
    assert columns["error_message"]["note"] == "the importer's own error column from rejects.csv"
    recheck = api.check(again.json(), {"columns": {}})
    # Alan is fixed; the second Ada is no longer a duplicate within this file
    assert recheck["summary"]["by_status"]["not_attempted"] == 2
    assert recheck["summary"]["by_error_code"] == {"invalid-date": 1}

    # so does rejects.xlsx, a workbook of text cells, as it was downloaded
    workbook = api.get(f"/api/jobs/{job['id']}/files/rejects.xlsx")
    assert 'filename="candidates-rejects.xlsx"' in workbook.headers["Content-Disposition"]
    again = api.upload("candidates-rejects.xlsx", workbook.content)
    columns = {c["header"]: c for c in again.json()["columns"]}
    assert columns["error_code"]["target"] is None
    recheck = api.check(again.json(), {"columns": {}})
    assert recheck["summary"]["by_error_code"] == {"invalid-date": 1, "invalid-email": 1}


def test_stackone_imports_use_the_servers_key_which_never_reaches_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STACKONE_API_KEY", "a-key-the-workers-must-not-inherit")
    config = SandboxConfig(api_key=SECRET, rate_limit_per_minute=0)
    with start_sandbox_thread(config) as stackone:
        web = WebConfig(port=0, api_key=SECRET, base_url=stackone.url, account_id="acc-default")
        with start_server_thread(web) as server:
            api = Api(server)
            settings = api.get("/api/config").json()
            assert (settings["stackone"], settings["account_id"]) == (True, "acc-default")
            check = api.check(api.upload_ok(), {"columns": {}})
            assert api.import_(check, target="stackone", account_id=" ").status_code == 400
            job = api.wait(api.import_(check, target="stackone", account_id="acc-7").json()["id"])
            assert job["state"] == "done", job["error"]
            assert job["summary"]["by_status"]["created"] == 15
            assert stackone.stats()["candidates"] == 15
            seen = json.dumps([settings, check, job])
            for name in job["files"]:
                seen += api.get(f"/api/jobs/{job['id']}/files/{name}").text
            assert SECRET not in seen
            folder = server.workspace.root
            assert all(SECRET.encode() not in p.read_bytes() for p in every_file(folder))
    without = WebConfig(port=0)
    with start_server_thread(without) as server:
        api = Api(server)
        check = api.check(api.upload_ok(), {"columns": {}})
        refused = api.import_(check, target="stackone", account_id="acc-7")
        assert refused.status_code == 400
        assert "STACKONE_API_KEY" in refused.json()["error"]


def test_stop_finishes_what_is_in_flight_and_writes_the_reports(tmp_path: Path) -> None:
    big = tmp_path / "many.csv"
    lines = ["First Name,Last Name,Email"]
    lines += [f"F{i},L{i},p{i}@example.com" for i in range(300)]
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = WebConfig(port=0, sandbox=SandboxConfig(latency_mean=0.2))
    with start_server_thread(config) as server:
        api = Api(server)
        check = api.check(api.upload_ok(big), {"columns": {}})
        job = api.import_(check, target="sandbox").json()
        deadline = time.monotonic() + 20
        while not (job["progress"] or {}).get("created") and time.monotonic() < deadline:
            time.sleep(0.05)
            job = api.get(f"/api/jobs/{job['id']}").json()
        stopping = api.post(f"/api/jobs/{job['id']}/stop").json()
        assert stopping["state"] == "stopping"
        assert stopping["files"] == []
        done = api.wait(job["id"])
        assert done["state"] == "done"
        summary = done["summary"]
        assert (summary["stopped_early"], summary["stop_reason"]) == (True, "interrupted")
        assert 0 < summary["by_status"]["created"] < 300
        assert summary["by_error_code"]["interrupted"] == summary["by_status"]["not_attempted"]
        assert len(api.rows(done, "results.csv")) == 300
        assert api.import_(done, target="sandbox").status_code == 409


def test_stop_as_the_import_starts_says_nothing_was_sent_and_resume_sends_it_all(
    api: Api,
) -> None:
    check = api.check(api.upload_ok(), {"columns": {}})
    job = api.import_(check, target="sandbox").json()
    # at once: the worker is still loading the importer
    assert api.post(f"/api/jobs/{job['id']}/stop").json()["state"] == "stopping"
    stopped = api.wait(job["id"])
    assert (stopped["state"], stopped["error"]) == (
        "failed",
        "stopped before the first row was read",
    )
    assert api.stored("ada.lovelace@example.com") == []
    assert api.post(f"/api/jobs/{job['id']}/resume").status_code == 200
    done = api.wait(job["id"])
    assert done["summary"]["by_status"]["created"] == 15
    assert len(api.stored("ada.lovelace@example.com")) == 1


def test_runs_past_the_limit_at_once_are_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    upload = api.upload_ok()
    monkeypatch.setattr(job_routes, "MAX_LIVE_JOBS", 0)
    refused = api.post(f"/api/uploads/{upload['id']}/check", json={"mapping": {"columns": {}}})
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("0 checks or imports are already running")
    assert api.server.jobs.jobs == {}


def test_files_expire_after_their_keep_time_and_all_go_at_shutdown() -> None:
    clock = FakeClock()
    with start_server_thread(WebConfig(port=0, keep_seconds=600, clock=clock)) as server:
        api = Api(server)
        kept = api.upload_ok()
        check = api.check(api.upload_ok(), {"columns": {}})
        root = server.workspace.root
        clock.now += 599
        api.get(f"/api/uploads/{kept['id']}")
        server.sweep()
        assert check["id"] in server.jobs.jobs  # asking for it here would keep it longer
        clock.now += 2
        server.sweep()
        gone = api.get(f"/api/jobs/{check['id']}")
        assert gone.status_code == 404
        assert gone.json()["error"].startswith("this run is no longer on the server")
        assert api.get(f"/api/uploads/{check['upload']}").status_code == 404
        assert api.get(f"/api/uploads/{kept['id']}").status_code == 200
        assert [p.parent.name for p in every_file(root)] == [kept["id"]]
    assert not root.exists()


def test_a_check_being_corrected_is_kept_past_the_keep_time_of_its_end() -> None:
    clock = FakeClock()
    with start_server_thread(WebConfig(port=0, keep_seconds=600, clock=clock)) as server:
        api = Api(server)
        upload = api.upload_ok()
        check = api.check(upload, {"columns": {}})
        for minute in (10, 20, 30):  # a cell corrected every ten minutes, nothing else asked
            clock.now += 590
            server.sweep()
            api.edit(check, 4, 2, f"alan{minute}@example.com")
        clock.now += 590
        server.sweep()
        assert api.get(f"/api/jobs/{check['id']}/rows").status_code == 200
        assert server.workspace.uploads[upload["id"]].touched == clock.now
        # left alone, it goes with its upload
        clock.now += 601
        server.sweep()
        assert api.get(f"/api/jobs/{check['id']}").status_code == 404
        assert upload["id"] not in server.workspace.uploads


# -- the command --------------------------------------------------------------------------


def test_serve_prints_the_address_with_the_token_and_stops_on_sigterm() -> None:
    env = {**os.environ, "IMPORTER_WEB_TOKEN": "cli-token"}
    env.pop("STACKONE_API_KEY", None)
    command = [sys.executable, "-m", "importer", "serve", "--port", "0"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env) as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        match = re.fullmatch(
            r"importer web page: (http://127\.0\.0\.1:\d+)/\?token=cli-token\n", first
        )
        assert match, first
        assert process.stderr.readline().startswith("open that address in a browser")
        assert "StackOne imports are off" in process.stderr.readline()
        config = requests.get(match[1] + "/api/config", headers={TOKEN_HEADER: "cli-token"})
        assert config.json()["stackone"] is False
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def test_serve_refuses_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with start_server_thread(WebConfig(port=0)) as server:
        port = server.url.rsplit(":", 1)[1]
        assert cli_main(["serve", "--port", port]) == 2
    assert f"serve: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def reader_messages(tmp_path: Path) -> list[str]:
    """What reading a file the wrong way says, as the importer's command line says it."""
    messages = []
    title_first = ROOT / "tests" / "data" / "header_row_3.csv"
    with open_table(title_first, header_row=1) as table:
        mapping = load_mapping(ROOT / "mappings" / "default.yaml")
        with pytest.raises(ConfigError) as missing:
            mapping.bind(table.headers)
        messages.append(str(missing.value))
    blank_first = tmp_path / "blank_first.csv"
    blank_first.write_text("\nName,Email\nAnn,ann@example.com\n", encoding="utf-8")
    with pytest.raises(ConfigError) as blank, open_table(blank_first, header_row=1):
        pass
    messages.append(str(blank.value))
    with pytest.raises(ConfigError) as beyond, open_table(title_first, header_row=40):
        pass
    messages.append(str(beyond.value))
    with (
        zipfile.ZipFile(ROOT / "samples" / "candidates.xlsx") as archive,
        pytest.raises(ConfigError) as large,
    ):
        check_archive(Path("x.xlsx"), archive, WorkbookLimits(max_unpacked_mb=0))
    messages.append(str(large.value))
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes("Name\nJosé\n".encode() + b"Ren\xe9\n")
    with pytest.raises(ConfigError) as encodings, open_table(mixed):
        pass
    messages.append(str(encodings.value))
    few = tmp_path / "few.csv"
    few.write_bytes("First,Last\r\nדוד,כהן\r\nשרה,לוי\r\n".encode("cp1255"))
    with pytest.raises(ConfigError) as uncertain, open_table(few):
        pass
    messages.append(str(uncertain.value))
    return messages


def test_the_page_never_names_a_command_line_flag(tmp_path: Path) -> None:
    messages = reader_messages(tmp_path)
    assert all("--" in message for message in messages)
    for message in map(page_words, messages):
        assert not re.search(r"--[a-z]", message), message
    assert "enter it under “Column names on row”" in page_words(messages[0])
    assert "enter 2 under “Column names on row”" in page_words(messages[1])
    assert "ask whoever runs the server to raise the limit" in page_words(messages[3])


def test_the_pages_mapping_names_the_header_row_and_the_region_the_sample_shows(
    api: Api,
) -> None:
    lines = ["Candidates from the old system", "", "Name,Email,Phone"]
    phones = ["030 12345678", "0151 23456789", "089 1234567", "0170 1234567"]
    lines += [f"P{i},p{i}@example.com,{phone}" for i, phone in enumerate(phones)]
    upload = api.upload("old.csv", "\n".join(lines).encode())
    assert upload.status_code == 200, upload.text
    assert upload.json()["header_row"] == 3
    path = f"/api/uploads/{upload.json()['id']}/mapping"
    chosen = api.post(path, json={"mapping": {"columns": {}}}).json()
    assert chosen["error"] is None
    text = chosen["yaml"]
    assert "\nheader_row: 3\n" in text
    assert "phone: {region: DE}, on_invalid: keep}" in text
    comment = " ".join(line.strip().removeprefix("# ") for line in text.splitlines())
    assert "are read as DE numbers: 4 of the 4 national numbers in the sample" in comment
    assert load_mapping_text(text, "the page's mapping").header_row == 3
