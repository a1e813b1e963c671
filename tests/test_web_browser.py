"""The web page in headless Chromium, as a recruiter uses it; screenshots of every step are
written to tests/artifacts/web/ for review."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from importer.mapping import load_mapping
from importer.read.escape import escape_formula
from importer.read.tables import open_table
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
# A check is a worker process that starts Python and reads the whole file: on a loaded two-core
# machine that can take longer than Playwright's 5 s default.
expect.set_options(timeout=20_000)
REJECTED = {4: "invalid-email", 9: "invalid-date", 10: "duplicate-in-file"}


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
    # ready + rejected + blank = rows; the duplicate is one of the rejected
    expect(counts).to_have_text(
        [
            "19rows in the file",
            "✓ 15ready to send",
            "✗ 3will be rejectedof which 1 duplicate",
            "– 1skipped1 blank row",
            "⚠ 2of the ready, with warnings",
        ]
    )
    # the column left out is said, with the page's way to send it
    expect(page.locator("#c-notices li")).to_have_text(
        [
            '1 column of the file the mapping does not read, so not sent: "Source"; if the ATS '
            "should have one, choose its field under “Change the columns”"
        ]
    )
    expect(page.locator("#c-reasons li").first).to_contain_text("Not a valid e-mail address: 1 row")
    email = page.locator("tr[data-row='4'] td[data-column='2']")
    expect(email).to_have_class("cell bad")
    expect(email).to_have_text("!alan.turing@example")
    expect(email).to_have_attribute(
        "title", re.compile(r"^Not a valid e-mail address: column \"Email\"")
    )
    expect(page.locator("tr[data-outcome='4']")).to_contain_text(
        'Not a valid e-mail address: column "Email": "alan.turing@example" is not a valid e-mail'
    )
    expect(page.locator("tr[data-outcome='4'] code")).to_have_text("invalid-email")
    ada = page.locator("tr[data-outcome='2']")
    expect(ada.locator(".sends div").first).to_have_text("First nameAda")
    expect(ada.locator("pre")).not_to_be_visible()
    ada.get_by_text("show request").click()
    expect(ada.locator("pre")).to_contain_text('"first_name": "Ada"')
    expect(ada).not_to_contain_text("custom_fields")
    # e-mail, date and the duplicate's e-mail; the phone kept as typed and the one left out
    # ("not a phone") are warnings, on their rows that go ahead
    expect(page.locator("td.bad")).to_have_count(3)
    expect(page.locator("td.warn")).to_have_count(2)
    expect(page.locator("tr[data-row='20'] td[data-column='3']")).to_have_class("cell warn")
    frame = page.locator("#c-frame").bounding_box()
    section = page.locator("#check").bounding_box()
    assert frame is not None
    assert section is not None
    assert frame["x"] + frame["width"] <= section["x"] + section["width"]
    shot(page, "3-check")
    shot(page, "3-check-full", full=True)

    page.click("#c-back")  # the columns come back as they were chosen
    expect(page.locator("select[data-position='11']")).to_have_value("")
    page.click("#m-check")
    expect(page.locator("#c-status")).to_contain_text("Checked all 19 rows")
    page.click("#c-import")
    expect(page.locator("#r-title")).to_have_text("Done: 15 created, 3 rejected, 1 skipped")
    expect(page.locator("#r-bar")).to_have_js_property("value", 19)
    expect(page.locator("#r-line")).to_contain_text("19 of 19 rows")
    shot(page, "4-done")

    page.reload()  # the run lives on the server: the page comes back to it
    expect(page.locator("#r-title")).to_have_text("Done: 15 created, 3 rejected, 1 skipped")
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
    # the same rows as a workbook of text cells: the phone's "+" needs no apostrophe there
    with page.expect_download() as workbook_download:
        page.click("#d-rejects-xlsx")
    assert workbook_download.value.suggested_filename == "candidates-rejects.xlsx"
    workbook_download.value.save_as(tmp_path / "rejects.xlsx")
    with open_table(tmp_path / "rejects.xlsx") as table:
        assert table.headers == [*original[0], *extra]
        cells = [list(row.values[: len(original[0])]) for row in table.rows]
    assert cells == [original[n - 1] for n in REJECTED]
    assert server.sandbox.stats()["candidates"] == 15


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
            "file, or ask whoever runs the server to raise the limit."
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


def test_a_check_refusing_the_dates_order_leads_back_to_a_mapping_that_reads_them(
    browser: Browser, server: WebServer, tmp_path: Path
) -> None:
    """A US export checked with the day-first shipped mapping: the check used to pass two rows
    as ready, and only the import then refused the file."""
    us = tmp_path / "us.csv"
    us.write_text(
        "Name,Email,Hired At\nAda Lovelace,ada@example.com,03/01/2024\n"
        "Bo Ray,bo@example.com,12/31/2023\nCy Dee,cy@example.com,04/05/2024\n",
        encoding="utf-8",
    )
    page = open_page(browser, server)
    page.set_input_files("#file", us)
    page.locator("#m-source").select_option(label="mappings/default.yaml")
    page.click("#m-check")
    error = page.locator("#c-error")
    expect(error).to_contain_text('column "Hired At" writes its dates with the month first')
    expect(error).to_contain_text(
        "choose “Suggested from your columns” under “Mapping”, which reads dates in the order "
        "the file's first rows write them; if not, correct row 3"
    )
    expect(page.locator("#c-import")).to_be_hidden()
    shot(page, "9-dates-the-other-way-round")
    page.click("#c-back-failed")
    page.locator("#m-source").select_option(
        label="Suggested from your columns (change any row below)"
    )
    page.click("#m-check")
    expect(page.locator("#c-status")).to_contain_text("Checked all 3 rows")
    expect(page.locator("#c-counts .card").nth(1)).to_have_text("✓ 3ready to send")


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


AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"


def serious_accessibility_problems(page: Page) -> list[str]:
    """What axe-core (run from the local copy) finds serious or critical on the page as shown."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(document)).violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
        }))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def recruiters_workbook(path: Path) -> None:
    """A summary sheet first; the candidates under a title line, with three cells to fix."""
    workbook = openpyxl.Workbook()
    summary = workbook.active
    summary.title = "Summary"
    summary.append(["Candidates exported", 5])
    summary.append(["Exported by", "Recruiting ops"])
    sheet = workbook.create_sheet("Candidates")
    sheet.append(["Candidate export, March"])
    sheet.append([])
    sheet.append(["First Name", "Last Name", "Email", "Phone", "Hired On"])
    sheet.append(["Ann", "Lee", "ann.lee@example.com", "+44 20 7946 0958", "2024-03-01"])
    sheet.append(["Bo", "Ray", "bo.ray@example", "+44 20 7946 0959", "2024-03-02"])
    sheet.append(["Cy", "Day", "cy.day@example.com", "+44 20 7946 0960", "next Tuesday"])
    sheet.append(["Di", "Fox", "di.fox@example.com", "+44 20 7946 096", "2024-03-04"])
    sheet.append(["Ed", "Gale", "ed.gale@example.com", "+44 20 7946 0962", "2024-03-05"])
    workbook.save(path)


def correct(page: Page, row: int, column: int, value: str) -> None:
    """Open a cell's editor from the keyboard, type, press Enter, and wait for the check."""
    cell = page.locator(f"tr[data-row='{row}'] td[data-column='{column}']")
    cell.focus()
    page.keyboard.press("Enter")
    editor = cell.locator("input")
    expect(editor).to_be_focused()
    editor.fill(value)
    page.keyboard.press("Enter")
    expect(cell).to_contain_text(value)
    expect(cell).to_have_class(re.compile(r"\bedited\b"))


def test_a_recruiters_workbook_is_fixed_in_the_page_and_imported(
    browser: Browser, server: WebServer, tmp_path: Path
) -> None:
    source = tmp_path / "march-export.xlsx"
    recruiters_workbook(source)
    page = open_page(browser, server)
    assert serious_accessibility_problems(page) == []
    page.set_input_files("#file", source)

    expect(page.locator("#m-sheet")).to_have_value("Candidates")
    expect(page.locator("#m-sheet-note")).to_contain_text("Sheet “Summary” has no column")
    expect(page.locator("#m-header-text")).to_have_text(
        "Column names found on row 3; rows 1–2 are skipped."
    )
    expect(page.locator("#m-table tbody th")).to_have_text(
        ["First Name", "Last Name", "Email", "Phone", "Hired On"]
    )
    expect(page.locator("#m-check")).to_be_enabled()
    assert serious_accessibility_problems(page) == []
    shot(page, "9-workbook-mapping", full=True)

    page.click("#m-check")
    expect(page.locator("#c-status")).to_contain_text("Checked all 5 rows of sheet “Candidates”")
    counts = page.locator("#c-counts .card .value")
    # the bad phone is sent as typed, with a warning; the e-mail and the date stop their rows
    expect(counts).to_have_text(["5", "✓ 3", "✗ 2", "– 0", "⚠ 1"])
    phone = page.locator("tr[data-row='7'] td[data-column='3']")
    expect(phone).to_have_class(re.compile(r"\bwarn\b"))
    expect(page.locator("tr[data-outcome='7'] .warning-line code")).to_have_text("kept-as-typed")
    assert serious_accessibility_problems(page) == []
    shot(page, "10-workbook-check", full=True)

    # the problem cells come first on Tab; arrow keys and Enter edit any cell
    correct(page, 5, 2, "bo.ray@example.com")
    expect(page.locator("tr[data-row='5'] .badge")).to_have_text("✓ Ready")
    expect(counts).to_have_text(["5", "✓ 4", "✗ 1", "– 0", "⚠ 1"])
    shot(page, "10-workbook-one-cell-fixed")  # docs/web.png in the README
    correct(page, 6, 4, "2024-03-03")
    page.get_by_label("only rows with warnings").check()
    expect(page.locator("#c-table tr.data")).to_have_count(1)
    correct(page, 7, 3, "+44 20 7946 0961")
    expect(counts).to_have_text(["5", "✓ 5", "✗ 0", "– 0", "⚠ 0"])
    expect(page.locator("#c-edits-line")).to_contain_text("3 cells changed")
    expect(page.locator("#c-reasons")).to_have_text("✓ No problems found.")
    page.get_by_label("only rows you changed").check()
    expect(page.locator("#c-table tr.data")).to_have_count(3)
    page.get_by_label("only rows with problems").check()
    expect(page.locator("#c-table tr.data")).to_have_count(0)
    page.get_by_role("radio", name="every row").check()
    assert serious_accessibility_problems(page) == []
    shot(page, "11-workbook-fixed")

    page.select_option("#c-format", "xlsx")
    with page.expect_download() as download:
        page.click("#c-download")
    corrected = tmp_path / "corrected.xlsx"
    download.value.save_as(corrected)
    assert download.value.suggested_filename == "march-export-corrected.xlsx"
    with open_table(corrected, sheet="Candidates", header_row=3) as table:
        cells = {row.row_number: row.values for row in table.rows}
    assert cells[5][2] == "bo.ray@example.com"
    assert cells[6][4] == "2024-03-03"
    assert cells[7][3] == "+44 20 7946 0961"
    assert cells[4] == ("Ann", "Lee", "ann.lee@example.com", "+44 20 7946 0958", "2024-03-01")
    with open_table(corrected, sheet="Summary", header_row=1) as table:
        assert table.headers == ["Candidates exported", "5"]

    page.click("#c-import")
    expect(page.locator("#r-title")).to_have_text("Done: 5 created, 0 rejected, 0 skipped")
    assert server.sandbox.stats()["candidates"] == 5
    assert serious_accessibility_problems(page) == []
    shot(page, "12-workbook-imported")


def test_a_50000_row_upload_pages_and_edits_at_once(browser: Browser, tmp_path: Path) -> None:
    """The page stays quick on a big file; the timings go to tests/artifacts/web/timings.json
    (bench/RESULTS.md reports them), measured in the page with performance.now()."""
    big = tmp_path / "big.csv"
    lines = ["First Name,Last Name,Email,Phone"]
    for i in range(50_000):
        email = f"p{i}@example.com" if i % 500 else f"p{i}@example"
        lines.append(f"Name{i},Last{i},{email},+44 20 7946 {i % 10000:04d}")
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with start_server_thread(WebConfig(port=0)) as server:
        page = open_page(browser, server)
        page.set_input_files("#file", big)
        # from the check's end (its job answered done) to its first page of rows on screen
        page.evaluate(
            """() => {
                window.timing = {};
                new MutationObserver(() => {
                    const status = document.querySelector("#c-status").textContent;
                    if (!timing.done && status.startsWith("Checked all")) {
                        timing.done = performance.now();
                    }
                    if (timing.done && !timing.shown
                        && document.querySelector("#c-table tr.data")) {
                        timing.shown = performance.now();
                    }
                }).observe(document.body, { subtree: true, childList: true, characterData: true });
            }"""
        )
        page.click("#m-check", timeout=60_000)
        expect(page.locator("#c-table tr.data").first).to_be_visible(timeout=180_000)
        shown = page.evaluate("() => timing.shown - timing.done")
        expect(page.locator("#c-page")).to_contain_text("of 50,000 shown · page 1 of 1,000")
        page.get_by_label("only rows with problems").check()
        expect(page.locator("#c-page")).to_contain_text("of 100 shown")
        cell = page.locator("tr[data-row='2'] td[data-column='2']")
        cell.click()
        cell.locator("input").fill("p0@example.com")
        edit = page.evaluate(
            """() => new Promise((resolve) => {
                const start = performance.now();
                const input = document.querySelector("tr[data-row='2'] input");
                input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
                const wait = () => document.querySelector("tr[data-row='2'] .badge.ready")
                    ? resolve(performance.now() - start) : requestAnimationFrame(wait);
                wait();
            })"""
        )
        expect(page.locator("#c-counts .card .value").nth(1)).to_have_text("✓ 49,901")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    timings = {"rows": 50_000, "first_page_ms": round(shown), "edit_rechecked_ms": round(edit)}
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings) + "\n", encoding="utf-8")


def test_a_long_custom_field_name_leaves_its_value_room(
    browser: Browser, server: WebServer, tmp_path: Path
) -> None:
    """Each value the check step shows is at least 8em wide, however long its field's name: a
    value squeezed to nothing used to be written one character a line."""
    path = tmp_path / "long-names.csv"
    path.write_text(
        "First Name,Last Name,Email,Personalnummer aus dem Altsystem (bitte nicht ändern)\n"
        "Ada,Lovelace,ada@example.org,44770100000012345678901234\n",
        encoding="utf-8",
    )
    page = open_page(browser, server)
    page.set_input_files("#file", path)
    page.click("#m-check")
    values = page.locator("dl.sends dd")
    expect(values).to_have_count(4)
    expect(values.nth(3)).to_have_text("44770100000012345678901234")
    shot(page, "8-long-custom-field-name", full=True)
    font_px = 13
    for index in range(4):
        box = values.nth(index).bounding_box()
        assert box is not None
        assert box["width"] >= 8 * font_px - 1, (index, box)
        assert box["height"] < 10 * font_px * 1.5, (index, box)
