"""The web page in headless Chromium, as a recruiter uses it; screenshots of every step are
written to tests/artifacts/web/ for review."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from importer.mapping import load_mapping
from importer.read.escape import escape_formula
from importer.sandbox import SandboxConfig
from importer.web import WebConfig, WebServer, start_server_thread
from tests import programs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "candidates.csv"
ARTIFACTS = ROOT / "tests" / "artifacts" / "web"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REJECTED = {4: "invalid-email", 9: "invalid-date", 10: "duplicate-in-file", 20: "invalid-phone"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Debian's chromium package, which .ci/run installs; never a Playwright-downloaded browser.
    executable = programs.chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server() -> Iterator[WebServer]:
    with start_server_thread(WebConfig(port=0)) as running:
        yield running


def open_page(browser: Browser, server: WebServer) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.login_url)
    page.wait_for_selector("body[data-ready]")
    assert errors == []
    assert page.url == server.url + "/"
    return page


def shot(page: Page, name: str, *, full: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=full)


def test_upload_match_check_import_and_download_the_rejects(
    browser: Browser, server: WebServer, tmp_path: Path
) -> None:
    page = open_page(browser, server)
    expect(page.locator("#upload h2")).to_have_text("Upload your spreadsheet")
    expect(page.locator("#limit")).to_have_text("50 MB")
    shot(page, "1-upload")

    page.set_input_files("#file", SAMPLE)
    expect(page.locator("#mapping h2")).to_have_text("Match your columns to candidate fields")
    source = page.locator("select[data-position='11']")
    expect(source).to_have_value("custom_fields")
    expect(page.locator("#m-check")).to_be_enabled()
    source.select_option(label="Leave out (not sent)")
    expect(page.locator("#m-check")).to_be_enabled()
    with page.expect_download() as mapping_download:
        page.click("#m-download")
    mapping_file = tmp_path / "mapping.yaml"
    mapping_download.value.save_as(mapping_file)
    assert mapping_download.value.suggested_filename == "candidates-mapping.yaml"
    assert load_mapping(mapping_file).fields.custom_fields == []
    shot(page, "2-mapping", full=True)

    page.click("#m-check")
    expect(page.locator("#c-status")).to_contain_text("Checked all 19 rows")
    counts = page.locator("#c-counts .card")
    expect(counts).to_have_text(
        [
            "19rows in the file",
            "14ready to send",
            "4will be rejected",
            "1duplicates in the file",
            "1blank rows, skipped",
        ]
    )
    email = page.locator("tr[data-row='4'] td[data-column='2']")
    expect(email).to_have_class("cell bad")
    expect(email).to_have_text("alan.turing@example")
    expect(email).to_have_attribute("title", re.compile(r"^invalid-email: column \"Email\""))
    expect(page.locator("tr[data-outcome='4']")).to_contain_text(
        'Not sent:invalid-email column "Email": "alan.turing@example" is not a valid e-mail'
    )
    expect(page.locator("tr[data-outcome='2']")).to_contain_text('"first_name": "Ada"')
    expect(page.locator("tr[data-outcome='2']")).not_to_contain_text("custom_fields")
    expect(page.locator("td.bad")).to_have_count(3)  # e-mail, date, phone; the duplicate is a row
    shot(page, "3-check")
    shot(page, "3-check-full", full=True)

    page.click("#c-back")  # the columns come back as they were chosen
    expect(page.locator("select[data-position='11']")).to_have_value("")
    page.click("#m-check")
    expect(page.locator("#c-status")).to_contain_text("Checked all 19 rows")
    page.click("#c-import")
    expect(page.locator("#r-title")).to_have_text("Done: 14 created, 4 rejected, 1 skipped")
    expect(page.locator("#r-bar")).to_have_js_property("value", 19)
    expect(page.locator("#r-line")).to_contain_text("19 of 19 rows")
    shot(page, "4-done")

    page.reload()  # the run lives on the server: the page comes back to it
    expect(page.locator("#r-title")).to_have_text("Done: 14 created, 4 rejected, 1 skipped")
    with page.expect_download() as rejects_download:
        page.click("#d-rejects")
    rejects = tmp_path / "rejects.csv"
    rejects_download.value.save_as(rejects)
    assert rejects_download.value.suggested_filename == "candidates-rejects.csv"
    with rejects.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        original = list(csv.reader(f))
    extra = ["error_row", "error_code", "error_field", "error_message"]
    assert rows[0] == [*original[0], *extra]
    assert {int(row[-4]): row[-3] for row in rows[1:]} == REJECTED
    # the cells as typed, a phone's "+" behind an apostrophe so that Excel does not run it
    expected = [list(map(escape_formula, original[n - 1])) for n in REJECTED]
    assert [row[: len(original[0])] for row in rows[1:]] == expected
    assert server.sandbox.stats()["candidates"] == 14


def test_progress_survives_a_reload_stop_writes_the_reports_and_resume_finishes(
    browser: Browser, tmp_path: Path
) -> None:
    many = tmp_path / "many.csv"
    lines = ["Name,Email"] + [f"Person {i},p{i}@example.com" for i in range(200)]
    many.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = WebConfig(port=0, sandbox=SandboxConfig(latency_mean=0.2))
    with start_server_thread(config) as server:
        page = open_page(browser, server)
        page.set_input_files("#file", many)
        page.click("#m-check")
        page.click("#c-import")
        expect(page.locator("#r-title")).to_have_text("Importing…")
        expect(page.locator("#r-line")).to_contain_text(re.compile(r"[1-9]\d* of 200 rows"))
        page.reload()
        expect(page.locator("#r-title")).to_have_text("Importing…")
        expect(page.locator("#r-line")).to_contain_text(re.compile(r"rows a second · about"))
        shot(page, "5-importing")
        page.click("#r-stop")
        title = re.compile(r"^Stopped: \d+ created, 0 rejected, 0 skipped, \d+ not sent$")
        expect(page.locator("#r-title")).to_have_text(title)
        expect(page.locator("#r-note")).to_contain_text("stopped early: Stop was pressed")
        expect(page.locator("#r-note")).to_contain_text("Resume sends them")
        created = int(page.locator("#r-title").inner_text().split()[1])
        # the bar stays where the work stopped
        expect(page.locator("#r-bar")).to_have_js_property("value", created)
        expect(page.locator("#r-line")).to_contain_text(f"{created} of 200 rows")
        expect(page.locator("#r-resume")).to_be_visible()
        shot(page, "6-stopped")
        with page.expect_download() as results_download:
            page.click("#d-results")
        results = tmp_path / "results.csv"
        results_download.value.save_as(results)
        with results.open(newline="", encoding="utf-8") as f:
            statuses = [row["status"] for row in csv.DictReader(f)]
        assert len(statuses) == 200
        assert {"created", "not_attempted"} <= set(statuses)
        with page.expect_download() as remaining_download:
            page.click("#d-remaining")
        remaining = tmp_path / "remaining.csv"
        remaining_download.value.save_as(remaining)
        with remaining.open(newline="", encoding="utf-8-sig") as f:
            left = [row["Email"] for row in csv.DictReader(f)]
        assert len(left) == statuses.count("not_attempted")

        page.click("#r-resume")
        expect(page.locator("#r-title")).to_have_text("Importing…")
        done = "Done: 200 created, 0 rejected, 0 skipped"
        expect(page.locator("#r-title")).to_have_text(done, timeout=60_000)
        expect(page.locator("#r-resume")).to_be_hidden()
        expect(page.locator("#d-remaining-item")).to_be_hidden()
        shot(page, "7-resumed")
        stats = server.sandbox.stats()
        assert (stats["candidates"], stats["duplicate_emails"]) == (200, 0)
        with page.expect_download() as results_download:
            page.click("#d-results")
        results_download.value.save_as(results)
        with results.open(newline="", encoding="utf-8") as f:
            finished = list(csv.DictReader(f))
        assert [row["status"] for row in finished] == ["created"] * 200
        assert sum(row["note"] == "resumed" for row in finished) == 200 - len(left)


def test_a_workbook_sheet_is_chosen_and_a_file_over_the_limit_is_refused(
    browser: Browser,
) -> None:
    with start_server_thread(WebConfig(port=0, max_upload_bytes=7000)) as server:
        page = open_page(browser, server)
        expect(page.locator("#limit")).to_have_text("6.84 KB")
        page.set_input_files("#file", ROOT / "samples" / "candidates.xlsx")
        expect(page.locator("#message")).to_have_text(
            "“candidates.xlsx” is 8 KB; the most this page takes is 6.84 KB. Split the "
            "file, or ask whoever runs the server to raise --max-upload-mb."
        )
        assert server.workspace.uploads == {}
        page.set_input_files("#file", ROOT / "tests" / "data" / "hidden_sheet.xlsx")
        sheet = page.locator("#m-sheet")
        expect(sheet).to_have_value("Candidates")
        expect(sheet.locator("option")).to_have_text(["Lookup (hidden)", "Candidates", "Archive"])
        expect(page.locator("#m-table tbody th")).to_have_text(["Name", "Email"])
        sheet.select_option("Archive")
        expect(page.locator("#m-table tbody th")).to_have_text(["Name", "Email", "Left"])
        assert page.url.endswith("&sheet=Archive")
        shot(page, "8-workbook-sheet")


def test_a_script_in_a_cell_stays_text(browser: Browser, server: WebServer) -> None:
    page = open_page(browser, server)
    header = "<img src=x onerror=window.pwned=1>"
    script = "<script>window.pwned=2</script>"
    content = f'First Name,Last Name,Email,"{header}"\n{script},Bobby,bad-address,<b>x</b>\n'
    # dropped onto the page, as a file dragged from the desktop would be
    page.evaluate(
        """([name, content]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([content], name, { type: "text/csv" }));
            const drop = document.getElementById("drop");
            drop.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true }));
        }""",
        ["<img src=y onerror=window.pwned=3>.csv", content],
    )
    expect(page.locator("#m-table tbody th").nth(3)).to_have_text(header)
    expect(page.locator("#m-file")).to_contain_text("<img src=y onerror=window.pwned=3>.csv")
    page.click("#m-check")
    cell = page.locator("tr[data-row='2'] td[data-column='0']")
    expect(cell).to_have_text(script)
    expect(page.locator("#c-table thead th").nth(5)).to_have_text(header)
    expect(page.locator("tr[data-row='2'] td[data-column='2']")).to_have_class("cell bad")
    shot(page, "7-script-stays-text")
    assert page.evaluate("window.pwned") is None
    injected = "#c-table script, #c-table img, #c-table b, #m-table img, #m-file img"
    assert page.locator(injected).count() == 0


def test_without_the_token_the_page_says_how_to_get_in(browser: Browser, server: WebServer) -> None:
    page = browser.new_page()
    answer = page.goto(server.url + "/")
    assert answer is not None
    assert answer.status == 401
    expect(page.locator("body")).to_contain_text("open the address that `importer serve` printed")
    page.close()
