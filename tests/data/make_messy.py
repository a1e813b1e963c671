"""Candidate files made the way Excel and old ATS exports make them, with what a person would do.

``python tests/data/make_messy.py DIR [SEED]`` writes one file per entry of ``HABITS`` into DIR;
tests call ``messy_file(path, habits, rows=..., seed=...)``, which returns, per data row, its
row number and whether a person importing by hand would import it. Habits, each on or off: a
title line, a logo row (one cell) and blank lines above the header, a byte-order mark, a
semicolon delimiter, phones stored as Excel numbers (the + and the leading 0 gone), national
numbers with no country column, countries written in English, in their own language or as
codes, hire dates in several forms, stray whitespace around cells, e-mails written with the
name as mail programs copy them, an instructions sheet before the candidates, and a few e-mails
that are not e-mail addresses or rows with no name. In every file, a few LinkedIn cells are no
address ("see CV") and a few long employee ids were shortened by Excel (4.47701E+11). Every
phone number is valid for its country, and a row is importable unless its name or e-mail is
unusable. The same seed gives the same file.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Country",
    "Hired on",
    "LinkedIn",
    "Employee ID",
    "Notes",
]

# region → (country cells people write, national numbers' form, international form); a form
# takes a serial number 0-9999 and its digits as 0-9, 0-99 and 0-99.
COUNTRIES = {
    "GB": (["United Kingdom", "UK", "U.K.", "GBR"], "07400 12{:04d}", "+44 7400 12{:04d}"),
    "DE": (["Germany", "Deutschland", "DE", "DEU"], "0151 2345{:04d}", "+49 151 2345{:04d}"),
    "FR": (["France", "FR", "FRA"], "06 12 3{1} {2:02d} {3:02d}", "+33 6 12 3{1} {2:02d} {3:02d}"),
    "CH": (["Schweiz", "Suisse", "CH"], "044 668 {2:02d} {3:02d}", "+41 44 668 {2:02d} {3:02d}"),
    "AT": (["Austria", "Österreich", "AT"], "0664 123{:04d}", "+43 664 123{:04d}"),
    "US": (["United States", "USA", "U.S.A.", "US"], "(212) 555-{:04d}", "+1 212 555 {:04d}"),
}
_FIRST = ["Ada", "Grace", "Alan", "Zoë", "José", "Chidi", "Mei", "Søren", "Priya", "Björn"]
_LAST = ["Lovelace", "Hopper", "Turing", "Núñez", "Okonkwo", "Chen", "Müller", "O'Brien"]
DATE_FORMS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y", "%b %d, %Y")
"""The forms hire dates are typed in, when a file has several; day before month in numbers."""


@dataclass(frozen=True)
class Habits:
    """Which of an export's habits a generated file has."""

    kind: str = "csv"
    """"csv" or "xlsx"."""
    title: bool = False
    """A title line, a logo row and blank lines above the header."""
    bom: bool = False
    delimiter: str = ","
    region: str | None = None
    """National numbers of this country and no country column; None: a country column."""
    numbers: bool = False
    """Phones stored as Excel numbers (xlsx only): no +, no leading 0."""
    dates: tuple[str, ...] = ("%Y-%m-%d",)
    """strptime forms of the hire dates (xlsx: real date cells as well)."""
    whitespace: bool = False
    """Spaces around cells and headers."""
    unusable: float = 0.05
    """Share of rows whose e-mail is no e-mail address or that have no name."""
    named_emails: float = 0.0
    """Share of e-mails written with the name, "Ann Lee <ann.lee@example.com>" or "Lee, Ann
    <ann.lee@example.com>", as mail programs copy them."""
    cover: bool = False
    """An instructions sheet before the candidates' (xlsx only), as import templates have."""


HABITS: dict[str, Habits] = {
    "excel_title_bom.csv": Habits(title=True, bom=True, whitespace=True, named_emails=0.2),
    "european_semicolon.csv": Habits(delimiter=";", bom=True, region="DE", dates=DATE_FORMS[1:3]),
    "national_gb.csv": Habits(region="GB", dates=("%d/%m/%Y",)),
    "national_fr.csv": Habits(region="FR", title=True, delimiter=";"),
    "national_us.csv": Habits(region="US", dates=("%m/%d/%Y", "%b %d, %Y")),
    "national_ch.csv": Habits(region="CH", whitespace=True),
    "national_at.xlsx": Habits(kind="xlsx", region="AT", title=True),
    "countries_dates.csv": Habits(dates=DATE_FORMS, whitespace=True),
    "excel_numbers.xlsx": Habits(kind="xlsx", numbers=True, title=True, dates=DATE_FORMS),
    "excel_numbers_gb.xlsx": Habits(kind="xlsx", numbers=True, region="GB", cover=True),
}
"""One file per combination the tests run suggest-mapping and validate on."""


@dataclass(frozen=True)
class Row:
    """What a person importing the row by hand would do with it."""

    row_number: int
    importable: bool
    region: str
    """The country of the row's phone number."""
    phone: str
    """The phone cell as written (digits only when stored as a number)."""
    unusable_cells: frozenset[str] = frozenset()
    """Columns whose cell holds no usable value, which a person would leave out."""


def messy_file(path: Path, habits: Habits, *, rows: int = 40, seed: int = 0) -> list[Row]:
    """Write ``rows`` candidates with ``habits`` to ``path``; what a person would import."""
    rng = random.Random(f"{seed}:{path.name}")
    header = [h for h in HEADERS if not (h == "Country" and habits.region)]
    above = _above(habits)
    lines: list[list[object]] = [*above, header]
    expected = []
    for i in range(rows):
        cells, row = _candidate(rng, habits, i, len(lines) + 1)
        lines.append([cells[h] for h in header])
        expected.append(row)
    if habits.whitespace:
        lines = [[_padded(rng, c) for c in line] for line in lines]
    if habits.kind == "xlsx":
        _write_xlsx(path, lines, habits)
    else:
        _write_csv(path, lines, habits)
    return expected


def _above(habits: Habits) -> list[list[object]]:
    if not habits.title:
        return []
    return [["Candidate export – Acme Recruiting"], ["[logo]"], [], ["Exported by: admin"], []]


def _candidate(
    rng: random.Random, habits: Habits, i: int, row_number: int
) -> tuple[dict[str, object], Row]:
    region = habits.region or rng.choice(list(COUNTRIES))
    names, national, international = COUNTRIES[region]
    serial = rng.randrange(10_000)
    form = national if rng.random() < 0.8 else international
    phone = form.format(serial, serial // 1000, serial // 100 % 100, serial % 100)
    cell: object = phone
    if habits.numbers and habits.kind == "xlsx":
        # Excel keeps a number typed into a cell formatted as a number: no +, no leading 0.
        cell = int("".join(c for c in phone if c.isdigit()).lstrip("0"))
        phone = str(cell)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    email = f"{first}.{last}.{i}@example.com".lower().replace("'", "")
    importable = True
    spoil = rng.random()
    if spoil < habits.unusable / 2:
        email = rng.choice([email.replace("@", " at "), email.replace(".com", ""), "n.a."])
        importable = False
    elif spoil < habits.unusable:
        first = last = ""
        importable = False
    elif habits.named_emails and rng.random() < habits.named_emails:
        # Outlook writes "Last, First"; most other programs "First Last"
        email = f"{last}, {first} <{email}>" if rng.random() < 0.5 else f"{first} {last} <{email}>"
    junk = {column for column in ("LinkedIn", "Employee ID") if rng.random() < 0.1}
    hired = datetime(2020, 1, 1) + timedelta(days=rng.randrange(1500))
    date: object = hired.strftime(rng.choice(habits.dates))
    if habits.kind == "xlsx" and rng.random() < 0.5:
        date = hired  # a real date cell
    cells: dict[str, object] = {
        "First Name": first,
        "Last Name": last,
        "Email": email,
        "Phone": cell,
        "Country": rng.choice(names),
        "Hired on": date if rng.random() < 0.7 else "",
        "LinkedIn": rng.choice(["see CV", "on request"])
        if "LinkedIn" in junk
        else f"linkedin.com/in/{first}-{last}-{i}".lower().replace("'", ""),
        # Excel shows a long number it was given as a number in scientific notation.
        "Employee ID": "4.47701E+11" if "Employee ID" in junk else f"E{serial:05d}",
        "Notes": rng.choice(["", "", "met at a fair", "referred by Jo", "5'11\" tall"]),
    }
    return cells, Row(row_number, importable, region, phone, frozenset(junk))


def _padded(rng: random.Random, cell: object) -> object:
    if not isinstance(cell, str) or not cell or rng.random() < 0.5:
        return cell
    return rng.choice([" ", "  ", "\u00a0"]) + cell + rng.choice(["", " ", "\t"])


def _write_csv(path: Path, lines: list[list[object]], habits: Habits) -> None:
    encoding = "utf-8-sig" if habits.bom else "utf-8"
    with path.open("w", newline="", encoding=encoding) as f:
        csv.writer(f, delimiter=habits.delimiter).writerows(lines)


def _write_xlsx(path: Path, lines: list[list[object]], habits: Habits) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    if habits.cover:
        sheet.title = "Instructions"
        sheet.append(["How to fill in this template"])
        sheet.append(["One candidate per row on the Candidates sheet; do not rename columns."])
        sheet = book.create_sheet("Candidates")
    sheet.title = "Candidates"
    for line in lines:
        sheet.append(line)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD/MM/YYYY"
    book.save(path)


def write_all(folder: Path, seed: int = 0, rows: int = 40) -> dict[Path, list[Row]]:
    """Every file of ``HABITS`` in ``folder``, with what a person would import of each."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        folder / name: messy_file(folder / name, habits, rows=rows, seed=seed)
        for name, habits in HABITS.items()
    }


if __name__ == "__main__":
    write_all(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
