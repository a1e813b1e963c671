"""A cell that shows one thing and links to another ("Profile" linking to a LinkedIn page): the
address is read into a twin column, "<header> (link)", which link entries read before the text,
so the candidate's link is imported instead of dropped as "not a web address"."""

from __future__ import annotations

import csv
import time
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import Workbook

from importer.mapping import load_mapping_text
from importer.read.edits import edited
from importer.read.hyperlinks import adds_to, link_headers
from importer.read.limits import DEFAULT_LIMITS
from importer.read.sheet_scan import MAX_LINKS
from importer.read.tables import SourceRow, open_table
from importer.read.xlsx import STREAMING_THRESHOLD
from importer.suggest import suggest_for_file
from tests.bombs import MAIN, package, write_workbook
from tests.sandboxed import DEFAULT_MAPPING, import_file

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ["First Name", "Last Name", "Email", "LinkedIn", "Website", "Notes"]
READERS = pytest.mark.parametrize(
    "threshold", [STREAMING_THRESHOLD, 0], ids=["calamine", "openpyxl"]
)


def recruiter_sheet(folder: Path) -> Path:
    """As Excel leaves a sheet typed and pasted by hand: links behind words, addresses typed
    (which Excel links to themselves), e-mail addresses linked as mailto:, a link within the
    workbook."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["Ada", "Lovelace", "ada@example.com", "Profile", "ada.dev", "see CV"])
    sheet["C2"].hyperlink = "mailto:ada@example.com"
    sheet["D2"].hyperlink = "https://www.linkedin.com/in/ada-lovelace"
    sheet["E2"].hyperlink = "https://ada.dev/"  # what the cell shows, with "/"
    sheet["F2"].hyperlink = "#Sheet!A1"  # a place in the workbook: no address
    sheet.append(["Alan", "Turing", "alan@example.com", "www.linkedin.com/in/alan", "", ""])
    sheet["D3"].hyperlink = "http://www.linkedin.com/in/alan/"  # Excel's link of what was typed
    sheet.append(["Grace", "Hopper", "grace@example.com", "", "Portfolio", ""])
    sheet["E4"].hyperlink = "https://grace.example.org/work"
    path = folder / "recruiter.xlsx"
    book.save(path)
    return path


@READERS
def test_both_readers_give_each_linked_column_a_twin_of_its_addresses(
    tmp_path: Path, threshold: int
) -> None:
    with open_table(recruiter_sheet(tmp_path), streaming_threshold=threshold) as table:
        rows = [row.values[len(HEADER) :] for row in table.rows]
        headers = table.headers
    # no twin for the e-mail column (mailto:) nor for the workbook-internal link of Notes
    assert headers == [*HEADER, "LinkedIn (link)", "Website (link)"]
    assert rows == [
        ("https://www.linkedin.com/in/ada-lovelace", ""),  # "ada.dev" shows its own link
        ("", ""),  # the typed address is what the cell shows
        ("", "https://grace.example.org/work"),
    ]


def test_the_default_mapping_imports_the_link_behind_a_word(tmp_path: Path) -> None:
    imported = import_file(recruiter_sheet(tmp_path), tmp_path / "out", DEFAULT_MAPPING)
    links = {row: imported.body(row)["social_links"] for row in (2, 3, 4)}
    assert links == {
        2: [
            {"url": "https://www.linkedin.com/in/ada-lovelace", "type": "linkedin"},
            {"url": "https://ada.dev", "type": "website"},
        ],
        # what the cell shows, read as ever: not Excel's http:// version of it
        3: [{"url": "https://www.linkedin.com/in/alan", "type": "linkedin"}],
        4: [{"url": "https://grace.example.org/work", "type": "website"}],
    }
    # "Profile" and "Portfolio" are no longer dropped with a warning
    assert all(not row["warnings"] for row in imported.results)
    assert not any("(link)" in notice for notice in imported.summary.notices)


def test_a_mapping_that_does_not_read_a_twin_is_told_only_of_one_holding_addresses(
    tmp_path: Path,
) -> None:
    mapping = load_mapping_text(
        """
version: 1
fields:
  first_name: {column: First Name}
  last_name: {column: Last Name}
  email: {column: Email}
  custom_fields:
    - {name: LinkedIn, column: LinkedIn}
""",
        "own.yaml",
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["First Name", "Last Name", "Email", "LinkedIn", "Blog"])
    sheet.append(["Ada", "Lovelace", "ada@example.com", "Profile", "https://ada.dev"])
    sheet["D2"].hyperlink = "https://www.linkedin.com/in/ada"
    sheet["E2"].hyperlink = "https://ada.dev"
    path = tmp_path / "own.xlsx"
    book.save(path)
    imported = import_file(path, tmp_path / "out", mapping)
    (notice,) = [n for n in imported.summary.notices if "does not read" in n]
    # "Blog (link)" only ever held what its cells showed: nothing to tell
    assert '"Blog", "LinkedIn (link)"' in notice
    assert "Blog (link)" not in notice


def test_rejects_keep_the_link_and_import_it_once_fixed(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["Ada", "Lovelace", "not an address", "Profile", "", ""])
    sheet["D2"].hyperlink = "https://www.linkedin.com/in/ada-lovelace"
    path = tmp_path / "one.xlsx"
    book.save(path)
    first = import_file(path, tmp_path / "first", DEFAULT_MAPPING)
    assert first.outcomes()[2][0] == "rejected"
    rejects = tmp_path / "first" / "rejects.csv"
    with open(rejects, encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    # a CSV holds no links: the address travels in its own column
    assert rows[0]["LinkedIn (link)"] == "https://www.linkedin.com/in/ada-lovelace"
    fixed = rejects.read_text(encoding="utf-8-sig").replace("not an address", "ada@example.com")
    rejects.write_text(fixed, encoding="utf-8")
    second = import_file(rejects, tmp_path / "second", DEFAULT_MAPPING)
    (body,) = second.bodies.values()
    assert body["social_links"] == [
        {"url": "https://www.linkedin.com/in/ada-lovelace", "type": "linkedin"}
    ]


def test_a_column_already_named_like_a_twin_keeps_its_name(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Email", "LinkedIn", "LinkedIn (link)"])
    sheet.append(["Ada", "ada@example.com", "Profile", "typed by hand"])
    sheet["C2"].hyperlink = "https://www.linkedin.com/in/ada"
    path = tmp_path / "named.xlsx"
    book.save(path)
    with open_table(path) as table:
        assert table.headers[4:] == ["LinkedIn (link) 2"]
        (row,) = table.rows
        assert row.values[3:] == ("typed by hand", "https://www.linkedin.com/in/ada")


def linked_workbook(folder: Path, cells: str, links: str, rels: str, name: str) -> Path:
    """A one-sheet workbook written by hand: ``cells`` under a header Name, Email, LinkedIn;
    the sheet's ``<hyperlink>`` elements and the relationships they name."""
    header = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Email</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>LinkedIn</t></is></c></row>'
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:r="{_REL}">'
        f"<sheetData>{header}{cells}</sheetData><hyperlinks>{links}</hyperlinks></worksheet>"
    )
    parts = package(sheet.encode())
    parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG}">{rels}'
        "</Relationships>"
    ).encode()
    return write_workbook(folder / name, parts)


def row(number: int, name: str, linkedin: str, formula: str = "") -> str:
    shown = f"<f>{formula}</f><v>{linkedin}</v>" if formula else f"<is><t>{linkedin}</t></is>"
    kind = "str" if formula else "inlineStr"
    return (
        f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>{name}</t></is></c>'
        f'<c r="B{number}" t="inlineStr"><is><t>{name.lower()}@example.com</t></is></c>'
        f'<c r="C{number}" t="{kind}">{shown}</c></row>'
    )


def external(rel_id: str, address: str) -> str:
    return (
        f'<Relationship Id="{rel_id}" Type="{_REL}/hyperlink" Target="{address}" '
        'TargetMode="External"/>'
    )


@READERS
def test_hyperlink_formulas_and_links_over_ranges(tmp_path: Path, threshold: int) -> None:
    cells = (
        row(2, "Ada", "View", 'HYPERLINK("https://www.linkedin.com/in/ada","View")')
        + row(3, "Alan", "Profile")
        + row(4, "Grace", "Profile")
        # computed from another cell: cannot be told without calculating, left as shown
        + row(5, "Edsger", "Profile", 'HYPERLINK(A5,"Profile")')
    )
    path = linked_workbook(
        tmp_path,
        cells,
        # one link over two rows, and one whose id names no relationship
        '<hyperlink ref="C3:C4" r:id="rId1"/><hyperlink ref="C5" r:id="rId9"/>',
        external("rId1", "https://www.linkedin.com/company/team"),
        "formulas.xlsx",
    )
    with open_table(path, streaming_threshold=threshold) as table:
        assert table.headers[-1] == "LinkedIn (link)"
        twins = [r.values[-1] for r in table.rows]
    assert twins == [
        "https://www.linkedin.com/in/ada",
        "https://www.linkedin.com/company/team",
        "https://www.linkedin.com/company/team",
        "",
    ]


def test_a_link_over_the_whole_sheet_costs_only_the_used_range(tmp_path: Path) -> None:
    path = linked_workbook(
        tmp_path,
        row(2, "Ada", "Profile"),
        '<hyperlink ref="A1:XFD1048576" r:id="rId1"/>',
        external("rId1", "https://www.linkedin.com/in/ada"),
        "whole.xlsx",
    )
    started = time.perf_counter()
    with open_table(path) as table:
        (only,) = table.rows
    assert time.perf_counter() - started < 5  # 17 billion cells, were they all taken
    assert table.headers[3:] == ["Name (link)", "Email (link)", "LinkedIn (link)"]
    assert only.values[3:] == ("https://www.linkedin.com/in/ada",) * 3


def test_past_the_links_kept_none_is_read_and_the_run_says_so(tmp_path: Path) -> None:
    rows = "".join(row(number, "Ada", "Profile") for number in range(2, 102))
    many = MAX_LINKS // 3 + 1  # each covers the three columns
    links = '<hyperlink ref="A1:C101" r:id="rId1"/>' * many
    path = linked_workbook(
        tmp_path, rows, links, external("rId1", "https://example.com"), "many.xlsx"
    )
    # past the compression guard, which a file this repetitive meets first
    lenient = replace(DEFAULT_LIMITS, max_ratio=1_000)
    with open_table(path, limits=lenient) as table:
        assert table.headers == ["Name", "Email", "LinkedIn"]
        assert table.links_note is not None
        assert table.links_note.startswith("the sheet has more than 200,000 links: its links")
        assert len(list(table.rows)) == 100


def test_suggest_mapping_reads_a_twin_with_its_link_column(tmp_path: Path) -> None:
    suggestion = suggest_for_file(recruiter_sheet(tmp_path))
    twin = suggestion.column("LinkedIn (link)")
    assert twin.target is None
    assert twin.note == 'read with column "LinkedIn", whose cells link there'
    assert "LinkedIn (link)" not in suggestion.custom_fields


@pytest.mark.parametrize(
    ("address", "shown", "adds"),
    [
        ("https://www.linkedin.com/in/ada", "Profile", True),
        ("https://www.linkedin.com/in/ada", "https://www.linkedin.com/in/ada", False),
        ("http://www.linkedin.com/in/ada/", "www.linkedin.com/in/ada", False),
        ("https://ada.dev/", "ADA.dev", False),
        ("https://lnkd.in/x", "see https://www.linkedin.com/in/ada", False),
        ("https://ada.dev", "", True),
    ],
)
def test_a_link_adds_to_a_cell_only_where_the_cell_does_not_show_it(
    address: str, shown: str, adds: bool
) -> None:
    assert adds_to(address, shown) is adds


def test_a_sheet_like_the_one_read_is_still_named_when_only_one_has_links(tmp_path: Path) -> None:
    book = Workbook()
    london = book.active
    london.title = "London"
    berlin = book.create_sheet("Berlin")
    for sheet, name in ((london, "Ada"), (berlin, "Max")):
        sheet.append(["Name", "Email", "LinkedIn"])
        sheet.append([name, f"{name.lower()}@example.com", "Profile"])
    london["C2"].hyperlink = "https://www.linkedin.com/in/ada"
    path = tmp_path / "offices.xlsx"
    book.save(path)
    imported = import_file(path, tmp_path / "out", DEFAULT_MAPPING)
    assert any(
        'sheet "Berlin" has the columns of sheet "London"' in n for n in imported.summary.notices
    )


def test_a_cell_typed_over_loses_its_link_unless_the_link_is_typed_over_too() -> None:
    rows = [
        SourceRow(2, ("Ada", "Profile", "https://www.linkedin.com/in/ada")),
        SourceRow(3, ("Alan", "Profile", "https://www.linkedin.com/in/alan")),
        SourceRow(4, ("Grace", "Profile", "https://www.linkedin.com/in/grace")),
    ]
    edits = {
        2: {1: "https://www.linkedin.com/in/ada-new"},  # the cell: its link goes
        3: {0: "Alan Turing"},  # another cell: the link stays
        4: {1: "Page", 2: "https://example.org/grace"},  # both, as typed
    }
    cleared: dict[int, dict[int, str]] = {}
    assert [row.values for row in edited(iter(rows), edits, (1,), cleared)] == [
        ("Ada", "https://www.linkedin.com/in/ada-new", ""),
        ("Alan Turing", "Profile", "https://www.linkedin.com/in/alan"),
        ("Grace", "Page", "https://example.org/grace"),
    ]
    assert cleared == {2: {2: "https://www.linkedin.com/in/ada"}}


def test_a_damaged_list_of_links_leaves_the_sheet_readable(tmp_path: Path) -> None:
    path = linked_workbook(
        tmp_path, row(2, "Ada", "Profile"), '<hyperlink ref="C2" r:id="rId1"/>', "<oops", "bad.xlsx"
    )
    with open_table(path) as table:
        assert table.headers == ["Name", "Email", "LinkedIn"]
        assert [r.values for r in table.rows] == [("Ada", "ada@example.com", "Profile")]
        assert table.links_note is not None
        assert table.links_note.startswith("the sheet's list of its links is damaged")


def test_a_twin_is_named_apart_from_any_header_a_mapping_would_take_for_it() -> None:
    headers = ["Name", "LinkedIn", " linkedin  (LINK) ", "Site"]
    assert link_headers(headers, [1, 3]) == ["LinkedIn (link) 2", "Site (link)"]
