"""Write the delimited-text reading fixtures in tests/data/ byte for byte (output committed)."""

from pathlib import Path

HERE = Path(__file__).parent
BOM = "\ufeff"

FILES: dict[str, tuple[str, str]] = {
    # Excel "CSV UTF-8": a BOM before the first header, CRLF line ends.
    "bom_crlf.csv": (
        "utf-8",
        BOM + "First Name,Last Name,Email,Phone\r\n"
        "Zoë,Müller,zoe@example.com,+44 7911 123123\r\n"
        "José,Núñez,jose@example.com,07911123456\r\n",
    ),
    # Excel writes a line break typed inside a cell as LF within quotes; records end in CRLF.
    "quoted_newlines.csv": (
        "utf-8",
        "Name,Notes,Email\r\n"
        '"Smith, John","Line one\nline two, with comma; semicolon | pipe\ttab",john@example.com\r\n'
        '"O""Brien","",obrien@example.com\r\n'
        'Ann,"Said ""call me""",ann@example.com\r\n',
    ),
    # Excel on Windows, "CSV (Comma delimited)": cp1252, smart quotes and the euro sign.
    "cp1252.csv": (
        "cp1252",
        "First Name,Last Name,Email,Notes\r\n"
        "Zoë,Müller,zoe@example.com,Salary € 50k\r\n"
        "François,O’Brien,francois@example.com,“Great” – call back\r\n",
    ),
    # A legacy Unix export in ISO-8859-1.
    "latin1.csv": (
        "latin-1",
        "name,city,email\nJosé,São Paulo,jose@example.com\nJürgen,Köln,juergen@example.com\n",
    ),
    # European Excel: semicolons, decimal commas, a quoted cell holding a semicolon.
    "semicolon.csv": (
        "utf-8",
        "Vorname;Nachname;E-Mail;Gehalt\r\n"
        "Jürgen;Groß;juergen@example.de;1.234,50\r\n"
        '"Hans; Peter";Müller;hans@example.de;2.000,00\r\n',
    ),
    "tab.tsv": (
        "utf-8",
        "Name\tEmail\tCity\nLee, Ann\tann@example.com\tLondon\nBob\tbob@example.com\tParis, FR\n",
    ),
    "pipe.txt": (
        "utf-8",
        "Name|Email|Phone\nAnn, Lee|ann@example.com|+44 20 7946 0000\nBob|bob@example.com|\n",
    ),
    # Excel "Unicode Text (*.txt)": UTF-16 LE with a BOM, tab-delimited, CRLF.
    "utf16_tab.txt": (
        "utf-16-le",
        BOM + "Name\tEmail\r\nZoë\tzoe@example.com\r\nŁukasz\tlukasz@example.com\r\n",
    ),
    # Old Mac line ends: CR only.
    "cr_line_ends.csv": ("utf-8", "Name,Email\rAnn,ann@example.com\rBob,bob@example.com\r"),
    # Short and long rows; trailing separators (empty cells) past the header are not ragged.
    "ragged.csv": (
        "utf-8",
        "Name,Email,Phone\r\n"
        "Ann,ann@example.com,07911123001\r\n"
        "Bob,bob@example.com\r\n"
        "Cy,cy@example.com,07911123003,extra\r\n"
        "Di,di@example.com,07911123004,\r\n"
        "Ed,ed@example.com,07911123005,,,\r\n",
    ),
    # Two blank columns after the data, blank rows in the middle and at the end.
    "blank_rows_cols.csv": (
        "utf-8",
        "Name,Email,,\r\n"
        "Ann,ann@example.com,,\r\n"
        "\r\n"
        ",,,\r\n"
        "  , ,,\r\n"
        "Bob,bob@example.com,,\r\n"
        ",,,\r\n"
        "\r\n",
    ),
    "duplicate_headers.csv": (
        "utf-8",
        "Email,,Phone,Email,Name\r\nann@example.com,note,07911123001,ann@work.example,Ann\r\n",
    ),
    # A title and a note above the header row (--header-row 3).
    "header_row_3.csv": (
        "utf-8",
        "Candidate export from LegacyATS\r\n"
        "Generated 2024-03-01,,\r\n"
        "First Name,Last Name,Email\r\n"
        "Ann,Lee,ann@example.com\r\n"
        "Bob,Ray,bob@example.com\r\n",
    ),
    # Values a type-guessing reader would mangle.
    "text_values.csv": (
        "utf-8",
        "ID,Phone,Country,Middle Name,Score,Zip,Excel Phone,Nickname,Flag\r\n"
        "007,+447911123123,NA,null,1.50,02134,4.47701E+11,  Al  ,TRUE\r\n"
        "0001,+1 (555) 010-9999,N/A,None,-0,00501,1.23457E+15,-,false\r\n",
    ),
    # Legacy ATS exports put several values in one cell, each with its own separators.
    "multi_value.csv": (
        "utf-8",
        "Name,Emails,Phones,Links\r\n"
        'Ann Lee,"ann@example.com, ann.lee@work.example","+44 20 7946 0000; +44 7911 123001",'
        '"https://www.linkedin.com/in/annlee, https://github.com/annlee"\r\n'
        "Bob Ray,bob@example.com;bob@home.example,+1 415 555 0100 / +1 415 555 0101,"
        '"bobray.example.com https://x.com/bobray"\r\n'
        'Cy Young," , cy@example.com","+44 20 7946 0002,, ",\r\n'
        'Di Ng,di@example.com,"+44 20 7946 0003, 12",https://gitlab.com/ding\r\n',
    ),
    # Excel's delimiter hint: a first line it reads and hides, so the header shows as row 1.
    "excel_sep_line.csv": ("utf-8", "sep=;\r\nName;Email\r\nLee, Ann;ann@example.com\r\n"),
    # A quote typed at the start of a cell on row 4 and one typed inside a cell on row 8: the
    # cell between them swallows rows 5-7 in any spreadsheet program. Row 9 has a real note
    # over two lines, whose second line does not look like a row.
    "unbalanced_quote.csv": (
        "utf-8",
        "First Name,Last Name,Email,Notes\r\n"
        "Ann,Lee,ann@example.com,\r\n"
        "Bob,Ray,bob@example.com,ok\r\n"
        'Cy,"Young,cy@example.com,5 ft tall\r\n'
        "Di,Ng,di@example.com,\r\n"
        "Ed,Fox,ed@example.com,\r\n"
        "Flo,Hart,flo@example.com,\r\n"
        'Gus,Ives,gus@example.com,said "hi"\r\n'
        'Hal,Jay,hal@example.com,"first line\nsecond, line"\r\n',
    ),
    # A quote on row 3 that nothing closes: the rest of the file would be one cell.
    "unclosed_quote.csv": (
        "utf-8",
        "First Name,Last Name,Email\r\n"
        "Ann,Lee,ann@example.com\r\n"
        'Bob,"Ray,bob@example.com\r\n'
        "Cy,Young,cy@example.com\r\n"
        "Di,Ng,di@example.com\r\n",
    ),
    # European Excel: a long number shortened to scientific notation with a decimal comma.
    "scientific_decimal_comma.csv": (
        "utf-8",
        "Name;Email;Phone\r\nAnn;ann@example.com;4,47701E+11\r\n"
        "Bob;bob@example.com;+44 7911 123123, +44 20 7946 0000\r\n",
    ),
    "empty.csv": ("utf-8", ""),
    "blank_lines_only.csv": ("utf-8", "\r\n\r\n,,\r\n  \r\n"),
}


def main() -> None:
    for name, (encoding, text) in FILES.items():
        (HERE / name).write_bytes(text.encode(encoding))


if __name__ == "__main__":
    main()
