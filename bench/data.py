"""Generated inputs: candidate spreadsheets of any size, the same bytes for the same arguments.

The columns are those of samples/candidates.csv, which mappings/default.yaml maps: names (some
accented), e-mails, phones in the formats people type (E.164, national, with brackets), the
country a national number needs, dates in ISO and day-first form, LinkedIn and website links.
``dirty=True`` spoils about 1 % of the rows the way real exports are spoiled (a bad e-mail, a
phone that is too short, an impossible date, an e-mail repeated from an earlier row); clean
files are for the sending scenarios, where every row must be created exactly once.
"""

from __future__ import annotations

import csv
import random
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from importer.read.headers import column_letter

WORK = Path(__file__).parent / "work"
HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Mobile",
    "Company",
    "Title",
    "Country",
    "LinkedIn",
    "Website",
    "Hired On",
    "Source",
]
# Bump when the generated rows change, so cached files are made again.
_VERSION = 3


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


_FIRST = _words(
    "Ada Grace Alan Zoë José Chidi Mei Søren Priya Liam Fatima Björn Nomvula Hiroshi Lucía Olek "
    "Amara Noah Olivia Emma Ava Sophia Isabella Mia Amelia Harper Evelyn Abigail Emily Ella "
    "Elizabeth Camila Luna Sofia Avery Mila Aria Scarlett Penelope Layla Chloe Victoria Madison "
    "Eleanor Grace Nora Riley Zoey Hannah Hazel Lily Ellie Violet Lillian Zara Aurora Jack Oliver "
    "James Lucas Henry Mateo Theodore Samuel Elijah Wei Arjun Kwame Ingrid Dmitri Aisling Tomás"
)
_LAST = _words(
    "Lovelace Hopper Turing Ångström Núñez Okonkwo Chen Kierkegaard Raman O'Brien Al-Sayed Müller "
    "Dlamini Tanaka Fernández Nowak Nwosu Smith Johnson Williams Brown Jones Garcia Miller Davis "
    "Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson "
    "Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young "
    "Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Kowalski Jensen Larsen Rossi Bianchi Dubois Schmidt Patel"
)
_DOMAINS = _words(
    "gmail.com outlook.com yahoo.co.uk proton.me example.com mail.de orange.fr icloud.com "
    "hey.com fastmail.com example.co.uk web.de"
)
_TITLES = _words(
    "Software Engineer|Senior Software Engineer|Staff Engineer|Data Scientist|Product Manager|"
    "Designer|UX Researcher|QA Lead|SRE|DevOps Engineer|Engineering Manager|Recruiter|"
    "Account Executive|Sales Manager|Marketing Lead|Analyst|Architect|CTO|VP Engineering|"
    "Support Engineer|Nurse|Accountant|Operations Director|Frontend Engineer|Backend Engineer",
    sep="|",
)
_SOURCES = ("Referral", "LinkedIn", "Job board", "Agency", "Careers page", "Conference", "")
_COMPANY_WORDS = _words(
    "Analytical Acme Northwind Contoso Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne "
    "Hooli Vandelay Kvantum Gulf Cape Tokyo Lagos Berliner Dublin Warsaw Bengaluru Abuja"
)
_COMPANY_KINDS = ("Ltd", "Inc", "GmbH", "AB", "Labs", "Systems", "Health", "Robotics", "plc")


# Phones are numbers in use, as a real export holds: a number that is not valid where its row
# says is a warning, which belongs to the spoilt rows. (Before version 3, area codes were drawn
# from 201-989 and mobile prefixes at random: 14 % of the phones were not valid anywhere.)
_GB_MOBILE = "01234578"  # 07 then this digit: 076 is pagers, mostly unassigned
_US_AREAS = _words(
    "201 202 203 205 206 210 212 213 214 215 216 217 301 302 303 305 310 312 313 314 315 404 "
    "405 407 408 410 412 415 469 503 504 505 512 513 602 612 614 615 617 619 646 650 702 703 "
    "704 713 718 720 801 808 813 818 904 916 917 919 949 971 972"
)
_FR_UNASSIGNED = {"39", "90", "91", "92", "93", "94", "96", "97"}  # after +33 6


def _gb(rng: random.Random) -> str:
    digits = f"{rng.choice(_GB_MOBILE)}{rng.randrange(10**8):08d}"
    if rng.random() < 0.5:
        return f"+44 7{digits[:3]} {digits[3:]}"
    return f"07{digits[:3]} {digits[3:]}"


def _us(rng: random.Random) -> str:
    area, line = rng.choice(_US_AREAS), rng.randrange(10**4)
    if rng.random() < 0.5:
        return f"({area}) 555-{line:04d}"
    return f"+1 {area} 555 {line:04d}"


def _de(rng: random.Random) -> str:
    return f"+49 151 {rng.randrange(10**8):08d}"


def _fr(rng: random.Random) -> str:
    d = f"{rng.randrange(10**8):08d}"
    while d[:2] in _FR_UNASSIGNED:
        d = f"{rng.randrange(10**8):08d}"
    return f"+33 6 {d[:2]} {d[2:4]} {d[4:6]} {d[6:]}"


def _es(rng: random.Random) -> str:
    d = f"{rng.randrange(10**8):08d}"
    return f"+34 6{d[:2]} {d[2:5]} {d[5:]}"


def _se(rng: random.Random) -> str:
    d = f"{rng.randrange(10**8):08d}"
    return f"+46 8 {d[:3]} {d[3:6]} {d[6:]}"


def _in(rng: random.Random) -> str:
    d = f"{rng.randrange(10**9):09d}"
    return f"+91 9{d[:4]} {d[4:]}"


# (country as typed, phone writer, weight)
_COUNTRIES = (
    ("United Kingdom", _gb, 40),
    ("United States", _us, 25),
    ("Germany", _de, 10),
    ("France", _fr, 8),
    ("Spain", _es, 7),
    ("Sweden", _se, 5),
    ("India", _in, 5),
)


def _ascii(text: str) -> str:
    """What people put in an address for an accented name: "Zoë Ångström" → "zoe.angstrom"."""
    text = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("'", ""))
    return text.encode("ascii", "ignore").decode()


def _rows(count: int, seed: int, dirty: bool) -> Iterator[list[str]]:
    rng = random.Random(seed)
    companies = [
        f"{rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_KINDS)}"
        for _ in range(500)
    ]
    countries = [c for c in _COUNTRIES for _ in range(c[2])]
    emails: list[str] = []
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        slug = _ascii(f"{first}.{last}".lower())
        email = f"{slug}{i}@{rng.choice(_DOMAINS)}"
        if rng.random() < 0.05:
            email = email.capitalize()  # the mapping lower-cases
        country, phone_of, _ = rng.choice(countries)
        phone = phone_of(rng)
        mobile = phone_of(rng) if rng.random() < 0.6 else ""
        year, month, day = rng.randrange(2012, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
        roll = rng.random()
        if roll < 0.6:
            hired = f"{year}-{month:02d}-{day:02d}"
        elif roll < 0.9:
            hired = f"{day:02d}/{month:02d}/{year}"
        else:
            hired = ""
        linkedin = f"https://www.linkedin.com/in/{slug}-{i}" if rng.random() < 0.8 else ""
        website = f"https://{slug.replace('.', '')}{i}.dev" if rng.random() < 0.3 else ""
        if dirty:
            roll = rng.random()
            if roll < 0.004:
                email = email.replace("@", " at ")
            elif roll < 0.007:
                phone = "12"
            elif roll < 0.009:
                hired = "31/02/2021"
            elif roll < 0.011 and emails:
                email = rng.choice(emails[-1000:])
        emails.append(email)
        if len(emails) > 2000:
            del emails[:1000]
        yield [
            first,
            last,
            email,
            phone,
            mobile,
            rng.choice(companies),
            rng.choice(_TITLES),
            country,
            linkedin,
            website,
            hired,
            rng.choice(_SOURCES),
        ]


def candidates_csv(rows: int, *, dirty: bool = False, seed: int = 1) -> Path:
    """A UTF-8 CSV of ``rows`` candidates in bench/work/, made once and reused."""
    path = WORK / f"candidates-{rows}-{'dirty' if dirty else 'clean'}-s{seed}-v{_VERSION}.csv"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(HEADERS)
            writer.writerows(_rows(rows, seed, dirty))
        partial.rename(path)
    return path


def candidates_xlsx(rows: int, *, dirty: bool = False, seed: int = 1) -> Path:
    """The same rows as ``candidates_csv`` as an XLSX workbook with shared strings (as Excel
    writes them), made once and reused."""
    path = WORK / f"candidates-{rows}-{'dirty' if dirty else 'clean'}-s{seed}-v{_VERSION}.xlsx"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        _write_xlsx(partial, [HEADERS, *_rows(rows, seed, dirty)])
        partial.rename(path)
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _write_xlsx(path: Path, rows: list[list[str]]) -> None:
    strings: dict[str, int] = {}
    letters = [column_letter(i) for i in range(len(HEADERS))]
    sheet = [f'<worksheet xmlns="{_MAIN}"><sheetData>']
    for number, row in enumerate(rows, 1):
        cells = "".join(
            f'<c r="{letters[i]}{number}" t="s"><v>{strings.setdefault(text, len(strings))}</v></c>'
            for i, text in enumerate(row)
            if text
        )
        sheet.append(f'<row r="{number}">{cells}</row>')
    sheet.append("</sheetData></worksheet>")
    shared = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in strings)
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{_PKG_RELS}"><Relationship Id="rId1" '
            f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>'
            '<sheet name="Candidates" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{_PKG_RELS}">'
            f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": "".join(sheet),
        "xl/sharedStrings.xml": (
            f'<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{shared}</sst>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, (2024, 3, 1, 0, 0, 0))
            archive.writestr(info, text.encode(), compress_type=zipfile.ZIP_DEFLATED)


def request_bodies(csv_path: Path) -> Path:
    """The importer's own request bodies for a clean CSV, one JSON document a line, made once:
    what the bare client of the overhead scenario posts."""
    path = csv_path.with_suffix(".bodies.jsonl")
    if not path.exists():
        import orjson

        from importer.mapping import load_mapping
        from importer.read.tables import open_table

        mapping = load_mapping(Path(__file__).parent.parent / "mappings" / "default.yaml")
        partial = path.with_suffix(".partial")
        with open_table(csv_path) as table, partial.open("wb") as out:
            mapper = mapping.bind(table.headers)
            for row in table.rows:
                prepared = mapper.prepare(row)
                if prepared.body is None:
                    raise ValueError(f"{csv_path} row {row.row_number} is not clean")
                out.write(orjson.dumps(prepared.body) + b"\n")
        partial.rename(path)
    return path


def emails(csv_path: Path) -> set[str]:
    """The e-mails of a CSV as every tool sends them (lower case)."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        return {row["Email"].strip().lower() for row in csv.DictReader(f)}
