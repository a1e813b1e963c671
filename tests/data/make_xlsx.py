"""Build the XLSX reading fixtures in tests/data/ and samples/candidates.xlsx (output committed).

openpyxl writes the workbooks; the sheet XML is then patched where openpyxl cannot say what
Excel writes: cached formula results, shared strings instead of inline strings. The zip is
rebuilt with fixed timestamps so a re-run changes no bytes.
"""

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

HERE = Path(__file__).parent
SAMPLES = HERE.parent.parent / "samples"
FILL = PatternFill("solid", fgColor="FFFF00")
SHEET1 = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
INLINE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?) t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>')


def save(
    workbook: Workbook,
    name: str,
    *,
    cached: dict[str, tuple[str, str]] | None = None,
    shared_strings: bool = True,
    folder: Path = HERE,
) -> None:
    """Save ``workbook`` as ``folder``/``name``; ``cached`` maps a formula cell of the first
    sheet to the (type, value) Excel would have cached for it."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    for ref, (kind, value) in (cached or {}).items():
        parts[SHEET1] = _cache(parts[SHEET1].decode(), ref, kind, value).encode()
    if shared_strings:
        _share_strings(parts)
    parts["docProps/core.xml"] = re.sub(
        rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-03-01T00:00:00Z", parts["docProps/core.xml"]
    )
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, data in parts.items():
            target.writestr(
                zipfile.ZipInfo(filename, (2024, 3, 1, 0, 0, 0)),
                data,
                compress_type=zipfile.ZIP_DEFLATED,
            )


def _cache(xml: str, ref: str, kind: str, value: str) -> str:
    pattern = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/></c>')
    type_attr = "" if kind == "n" else f' t="{kind}"'
    patched, count = pattern.subn(rf'<c r="{ref}"\1{type_attr}><f>\2</f><v>{value}</v></c>', xml)
    assert count == 1, f"no formula cell {ref}"
    return patched


def _share_strings(parts: dict[str, bytes]) -> None:
    strings: dict[str, int] = {}

    def shared(match: re.Match[str]) -> str:
        index = strings.setdefault(match[3], len(strings))
        return f'<c r="{match[1]}"{match[2]} t="s"><v>{index}</v></c>'

    for filename in [f for f in parts if f.startswith("xl/worksheets/")]:
        parts[filename] = INLINE.sub(shared, parts[filename].decode()).encode()
    items = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in strings)
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="{MAIN_NS}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdStrings" Type="{REL_NS}/sharedStrings" '
        f'Target="sharedStrings.xml"/></Relationships>'.encode(),
    )


def phones_as_numbers() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(
        [
            "Name",
            "Phone",
            "Mobile",
            "Legacy ID",
            "Excel Phone",
            "Years",
            "Ratio",
            "Tiny",
            "Huge",
            "Delta",
            "Active",
        ]
    )
    sheet.append(
        [
            "Ann",
            447700112233,
            "07911123123",
            "000123",
            "4.47701E+11",
            7,
            0.1,
            1e-05,
            1.5e20,
            -3.25,
            True,
        ]
    )
    sheet.append(
        [
            "  Bob  ",
            447701000000,
            "+44 7911 123124",
            "000124",
            "4.47701E+11",
            12.0,
            2 / 3,
            0.000123,
            1e16,
            -0.5,
            False,
        ]
    )
    save(workbook, "phones_as_numbers.xlsx")


def dates() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(
        ["Name", "Born", "Interview", "Start Time", "Applied", "Midnight", "Serial", "Notice"]
    )
    sheet.append(
        [
            "Ann",
            dt.date(1990, 5, 17),
            dt.datetime(2024, 3, 1, 9, 30),
            dt.time(9, 30),
            dt.date(2024, 3, 1),
            dt.datetime(2024, 3, 4, 0, 0),
            45352,
            dt.timedelta(hours=36, minutes=30),
        ]
    )
    sheet.append(
        [
            "Bob",
            dt.date(1985, 12, 31),
            dt.datetime(2024, 2, 29, 17, 45, 15),
            dt.time(17, 5, 30),
            dt.date(2024, 2, 29),
            dt.datetime(2024, 3, 5, 0, 0),
            45351.5,
            dt.timedelta(minutes=90),
        ]
    )
    for row in (2, 3):
        sheet.cell(row, 5).number_format = "dd/mm/yyyy"  # a day-first display format
        sheet.cell(row, 6).number_format = "yyyy-mm-dd hh:mm"
    save(workbook, "dates.xlsx")


def formulas() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(["First", "Last", "Full Name", "Phone", "Phone Copy", "Senior"])
    sheet.append(["Ann", "Lee", '=A2&" "&B2', 447700112233, "=D2*1", "=LEN(A2)>2"])
    sheet.append(["Bob", "Ray", '=A3&" "&B3', 447700112234, "=D3*1", "=LEN(A3)>3"])
    # A formula left without its result is refused (tests/test_readers.py writes one).
    save(
        workbook,
        "formulas.xlsx",
        cached={
            "C2": ("str", "Ann Lee"),
            "E2": ("n", "447700112233"),
            "F2": ("b", "1"),
            "C3": ("str", "Bob Ray"),
            "E3": ("n", "447700112234"),
            "F3": ("b", "0"),
        },
    )


def errors() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(["Name", "Recruiter", "Ratio", "Typed"])
    sheet.append(["Ann", "=VLOOKUP(A2,Lookup!A:B,2,FALSE)", "=1/0", "#N/A"])
    sheet.append(["Bob", "=VLOOKUP(A3,Lookup!A:B,2,FALSE)", "=4/2", "#REF!"])
    lookup = workbook.create_sheet("Lookup")
    lookup.append(["Name", "Recruiter"])
    lookup.append(["Bob", "Cy"])
    save(
        workbook,
        "errors.xlsx",
        cached={"B2": ("e", "#N/A"), "C2": ("e", "#DIV/0!"), "B3": ("str", "Cy"), "C3": ("n", "2")},
    )


def merged() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(["Team", "Name", "Email", "Phone"])
    sheet.append(["Sales", "Ann", "ann@example.com", "07911123001"])
    sheet.append([None, "Bob", "bob@example.com", "07911123002"])
    sheet.append(["Support", "Cy", "to be confirmed", None])
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("C4:D4")
    # Left as openpyxl writes them (inline strings), as a library-made export would be.
    save(workbook, "merged.xlsx", shared_strings=False)


def hidden_sheet() -> None:
    workbook = Workbook()
    lookup = workbook.active
    lookup.title = "Lookup"
    lookup.append(["Code", "Label"])
    lookup.append(["LI", "LinkedIn"])
    lookup.sheet_state = "hidden"
    candidates = workbook.create_sheet("Candidates")
    candidates.append(["Name", "Email"])
    candidates.append(["Ann", "ann@example.com"])
    archive = workbook.create_sheet("Archive")
    archive.append(["Name", "Email", "Left"])
    archive.append(["Old", "old@example.com", dt.date(2020, 1, 31)])
    workbook.active = 1
    save(workbook, "hidden_sheet.xlsx")


def used_range_1048576() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(["Name", "Email", "Phone", "City", "Source"])
    for number in range(1, 5):
        sheet.append(
            [
                f"Person {number}",
                f"p{number}@example.com",
                f"0791112300{number}",
                "London",
                "Referral",
            ]
        )
    # Whole columns formatted down to Excel's last row: the used range claims 1,048,576 rows.
    for column in range(1, 6):
        sheet.cell(1_048_576, column).fill = FILL
    save(workbook, "used_range_1048576.xlsx")


def offset() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    # Rows 1-2 and column A are empty; the table starts at B3.
    sheet["B3"], sheet["D3"], sheet["E3"] = "Name", "Email", "Phone"  # C3: no header
    sheet["B4"], sheet["C4"], sheet["D4"], sheet["E4"] = "Ann", "x", "ann@example.com", 7911123001
    sheet["B6"], sheet["D6"] = "Bob", "bob@example.com"
    sheet["C7"] = "   "
    sheet["B8"], sheet["D8"], sheet["G8"] = "Cy", "cy@example.com", "stray"
    for row in range(9, 13):
        sheet.cell(row, 2).fill = FILL
    sheet.cell(4, 9).fill = FILL
    save(workbook, "offset.xlsx")


def candidates_sample() -> None:
    """samples/candidates.xlsx: the candidate list as a recruiter keeps it in Excel.

    What real workbooks carry: phones typed in several national and international formats,
    two stored as numbers and one that Excel already shortened to 8.18012E+11, hire dates as
    real date cells, as day-first text, as a serial number and one that is not a date, a bad
    e-mail, the same person twice, a blank row, accented names, and a hidden sheet of lists.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Candidates"
    sheet.append(
        [
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
    )
    rows: list[list[object]] = [
        [
            "Ada",
            "Lovelace",
            "ada.lovelace@example.com",
            "+44 20 7946 0958",
            447911123123,
            "Analytical Engines Ltd",
            "Principal Engineer",
            "United Kingdom",
            "https://www.linkedin.com/in/ada-lovelace",
            "https://ada.example.com",
            dt.date(2024, 3, 1),
            "Referral",
        ],
        [
            "Grace",
            "Hopper",
            "grace.hopper@example.com",
            "(202) 555-0143",
            "+1 202 555 0199",
            "US Navy",
            "Rear Admiral",
            "United States",
            "https://linkedin.com/in/gracehopper",
            None,
            dt.datetime(2024, 3, 1, 9, 0),
            "LinkedIn",
        ],
        [
            "Alan",
            "Turing",
            "alan.turing@example",
            "020 7946 0321",
            None,
            "Bletchley Park",
            "Cryptanalyst",
            "United Kingdom",
            None,
            None,
            None,
            "Careers page",
        ],
        [
            "Zoë",
            "Ångström",
            "zoe.angstrom@example.se",
            "+46 8 123 456 78",
            None,
            "Kvantum AB",
            "Physicist",
            "Sweden",
            "https://www.linkedin.com/in/zoe-angstrom",
            "https://github.com/zoeang",
            None,
            "Agency",
        ],
        [None] * 12,
        [
            "Mei",
            "Chen",
            "mei.chen@example.cn",
            "+86 10 1234 5678",
            None,
            "Beijing Robotics",
            "ML Researcher",
            "China",
            None,
            "https://meichen.example.cn",
            "next Tuesday",
            "Conference",
        ],
        [
            "Ada",
            "Lovelace",
            "ADA.LOVELACE@EXAMPLE.COM",
            None,
            "07911 123124",
            "Analytical Engines Ltd",
            "Principal Engineer",
            "United Kingdom",
            None,
            None,
            None,
            "Referral",
        ],
        [
            "José",
            "Núñez García",
            "jose.nunez@example.es",
            "+34 912 345 678",
            34612345678,
            "Telefónica Research",
            "Data Scientist",
            "Spain",
            None,
            None,
            dt.date(2023, 11, 15),
            "Referral",
        ],
        [
            "Søren",
            "Kierkegaard",
            "soren.k@example.dk",
            "+45 32 12 34 56",
            None,
            "Existential ApS",
            "Product Manager",
            "Denmark",
            None,
            None,
            "30/06/2022",
            "Referral",
        ],
        [
            "Chidi",
            "Okonkwo",
            "chidi.okonkwo@example.ng",
            "0803 123 4567",
            None,
            "Lagos Tech Hub",
            "Backend Engineer",
            "Nigeria",
            "https://www.linkedin.com/in/chidiokonkwo",
            None,
            None,
            "Job board",
        ],
        [
            "Hiroshi",
            "Tanaka",
            "hiroshi.tanaka@example.jp",
            "+81 3-1234-5678",
            "8.18012E+11",
            "Tokyo Mobility",
            "Embedded Engineer",
            "Japan",
            None,
            None,
            dt.date(2020, 4, 1),
            "Referral",
        ],
        [
            "Priya",
            "Raman",
            "priya.raman@example.in",
            "+91 98765 43210",
            None,
            "Bengaluru Cloud",
            "SRE",
            "India",
            "https://in.linkedin.com/in/priyaraman",
            "https://github.com/priyar",
            45017,
            "Job board",
        ],
        [
            "Björn",
            "Müller",
            "bjorn.muller@example.de",
            "030 1234567",
            "+49 151 23456789",
            "Berliner Bau GmbH",
            "Architect",
            "Germany",
            None,
            "https://bjorn.example.de",
            dt.date(2021, 1, 4),
            "Referral",
        ],
        [
            "Lucía",
            "Fernández",
            "lucia.fernandez@example.ar",
            "+54 11 1234-5678",
            None,
            "Buenos Aires Labs",
            "UX Designer",
            "Argentina",
            None,
            "https://lucia.example.ar",
            None,
            "Careers page",
        ],
    ]
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in sheet.iter_rows(min_row=2, min_col=11, max_col=11):
        row[0].number_format = "dd/mm/yyyy"
    sheet["E2"].number_format = sheet["E9"].number_format = "0"
    lists = workbook.create_sheet("Lists")
    for source in ("Referral", "LinkedIn", "Careers page", "Agency", "Job board", "Conference"):
        lists.append([source])
    lists.sheet_state = "hidden"
    choices = DataValidation(type="list", formula1="Lists!$A$1:$A$6", allow_blank=True)
    sheet.add_data_validation(choices)
    choices.add("L2:L200")
    save(workbook, "candidates.xlsx", folder=SAMPLES)


def main() -> None:
    candidates_sample()
    phones_as_numbers()
    dates()
    formulas()
    errors()
    merged()
    hidden_sheet()
    used_range_1048576()
    offset()


if __name__ == "__main__":
    main()
