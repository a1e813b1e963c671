"""A candidate export the way an old ATS writes one, with the answer a careful person would give.

``python tests/data/make_legacy.py OUT.csv [ROWS]`` writes it; tests call ``legacy_export``.
Phones are national, international, or digits alone (a number cell whose + Excel dropped);
countries are written in English, in the country's own language, as ISO codes or as
abbreviations, sometimes not at all; a few notes hold a stray quote; a few rows have an e-mail
or a name no ATS can use. Every phone number is valid for the country its row names, so a
person would import every row whose name and e-mail are usable.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path

HEADERS = ["Candidate ID", "First Name", "Last Name", "E-mail", "Phone", "Country", "Notes"]

# region → (country cells people write, national, international and digits-only forms)
_COUNTRIES = {
    "GB": (
        ["United Kingdom", "UK", "U.K.", "England", "GBR"],
        "07911 123{:03d}",
        "+44 7911 123{:03d}",
        "447911123{:03d}",
    ),
    "DE": (
        ["Germany", "Deutschland", "DE", "DEU"],
        "0151 23456{:03d}",
        "+49 151 23456{:03d}",
        "4915123456{:03d}",
    ),
    "CH": (["Switzerland", "Schweiz", "Suisse", "CH"], "079 123 4{:03d}", "+41 79 123 4{:03d}", ""),
    "AT": (["Austria", "Österreich", "AT"], "0664 1234{:03d}", "+43 664 1234{:03d}", ""),
    "ES": (["Spain", "España", "ESP"], "612 345 {:03d}", "+34 612 345 {:03d}", ""),
    "SE": (["Sweden", "Sverige"], "070 123 4{:03d}", "+46 70 123 4{:03d}", ""),
    "US": (["United States", "USA", "U.S.A.", "US"], "(202) 555-0{:03d}", "+1 202 555 0{:03d}", ""),
}
_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Zoë",
    "José",
    "Chidi",
    "Mei",
    "Søren",
    "Priya",
    "Liam",
    "Fatima",
    "Björn",
    "Lucía",
    "Olek",
]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Ångström",
    "Núñez",
    "Okonkwo",
    "Chen",
    "Müller",
    "O'Brien",
    "Nowak",
    "Fernández",
]


@dataclass(frozen=True)
class Expected:
    """What a person importing the row by hand would do with it."""

    row_number: int
    importable: bool
    region: str
    phone: str
    """The phone cell as typed ("" for none)."""


def legacy_export(path: Path, rows: int = 10_000, seed: int = 11) -> list[Expected]:
    rng = random.Random(seed)
    expected = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(rows):
            region = rng.choice(list(_COUNTRIES))
            names, national, international, digits = _COUNTRIES[region]
            serial = rng.randrange(1000)
            forms = [national, international] + ([digits] if digits else [])
            phone = rng.choice(forms).format(serial) if rng.random() < 0.9 else ""
            country = rng.choice(names)
            if region == "GB" and rng.random() < 0.3:
                country = ""  # the mapping's default region, or numbers written with +
                phone = international.format(serial) if phone else ""
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            email = f"{first}.{last}.{i}@example.com".lower().replace("'", "")
            importable = True
            spoil = rng.random()
            if spoil < 0.015:
                email = email.replace("@example.com", "@example")  # no top-level domain
                importable = False
            elif spoil < 0.025:
                first = last = ""
                importable = False
            notes = rng.choice(["", "", "met at PyCon", "referred by Jo", "5'11\" tall"])
            cells = [f"C-{i:05d}", first, last, email, phone, country, notes]
            if rng.random() < 0.003:
                # a stray quote typed inside a cell the export did not quote
                f.write(",".join([*cells[:-1], 'said "call after 5']) + "\r\n")
            else:
                writer.writerow(cells)
            expected.append(Expected(i + 2, importable, region, phone))
    return expected


if __name__ == "__main__":
    legacy_export(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
