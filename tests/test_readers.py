import re
import shutil
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from importer.errors import ConfigError
from importer.read.encoding import detect_encoding
from importer.read.sheet_scan import _FastScan
from importer.read.sheet_view import merged_notice
from importer.read.tables import Table, open_table
from importer.read.xlsx import cell_text
from tests.hidden_sheet import HIDDEN, filtered_workbook

DATA = Path(__file__).parent / "data"
XLSX_FIXTURES = sorted(DATA.glob("*.xlsx"))
STREAM = {"streaming_threshold": 0}
LOAD = {"streaming_threshold": 10**12}

Rows = list[tuple[int, tuple[str, ...]]]


def read(path: Path | str, **options: Any) -> tuple[Table, Rows]:
    with open_table(path, **options) as table:
        return table, [(row.row_number, row.values) for row in table.rows]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- CSV: encodings ---------------------------------------------------------------------------


def test_bom_and_crlf_are_removed() -> None:
    table, rows = read(DATA / "bom_crlf.csv")
    assert (table.kind, table.encoding, table.delimiter) == ("csv", "utf-8-sig", ",")
    assert table.headers == ["First Name", "Last Name", "Email", "Phone"]
    assert rows == [
        (2, ("Zoë", "Müller", "zoe@example.com", "+44 7911 123123")),
        (3, ("José", "Núñez", "jose@example.com", "07911123456")),
    ]


def test_forced_utf8_still_strips_the_bom_from_the_first_header() -> None:
    table, _ = read(DATA / "bom_crlf.csv", encoding="utf-8")
    assert table.encoding == "utf-8"
    assert table.headers[0] == "First Name"


def test_cp1252_from_excel_is_detected() -> None:
    table, rows = read(DATA / "cp1252.csv")
    assert table.encoding == "cp1252"
    assert rows == [
        (2, ("Zoë", "Müller", "zoe@example.com", "Salary € 50k")),
        (3, ("François", "O’Brien", "francois@example.com", "“Great” – call back")),
    ]


def test_latin1_is_read_as_cp1252_which_gives_the_same_text() -> None:
    table, rows = read(DATA / "latin1.csv")
    assert table.encoding == "cp1252"
    assert rows == [
        (2, ("José", "São Paulo", "jose@example.com")),
        (3, ("Jürgen", "Köln", "juergen@example.com")),
    ]


def test_a_byte_cp1252_leaves_undefined_falls_back_to_latin1(tmp_path: Path) -> None:
    path = write(tmp_path / "c1.csv", b"name,city\nJos\xe9,S\xe3o Paulo\nX\x81,y\n")
    table, rows = read(path)
    assert table.encoding == "latin-1"
    assert rows == [(2, ("José", "São Paulo")), (3, ("X\x81", "y"))]


def test_a_non_utf8_byte_far_into_the_file_is_detected_before_any_row(tmp_path: Path) -> None:
    lines = ["id,name"] + [f"{n},Person {n}" for n in range(5000)] + ["5000,Chloé"]
    path = write(tmp_path / "late.csv", "\r\n".join(lines).encode("cp1252"))
    assert path.stat().st_size > 64 * 1024
    table, rows = read(path)
    assert table.encoding == "cp1252"
    assert rows[-1] == (5002, ("5000", "Chloé"))


def test_a_utf8_file_with_a_windows_line_pasted_in_is_refused_naming_both(tmp_path: Path) -> None:
    """Read as Windows-1252 (the guess for a file that is not all UTF-8), "José" would become
    "JosÃ©"; read as UTF-8, "René" has no letter: either way names are silently changed."""
    path = write(
        tmp_path / "mixed.csv",
        "Name,Email\nJosé Müller,jose@example.org\n".encode() + b"Ren\xe9,rene@example.org\n",
    )
    with pytest.raises(ConfigError) as refused:
        read(path)
    assert str(refused.value) == (
        f'{path} mixes two encodings: line 2 holds a letter written in UTF-8 ("é"), but byte '
        "0xE9 on line 3 is not UTF-8 (perhaps pasted from a Windows file): read either way, the "
        "accented letters of one of them would be read as other letters. Correct line 3 in a "
        "text editor that saves UTF-8, or pass --encoding to read the whole file one way"
    )
    # the user's choice is read as asked
    _, rows = read(path, encoding="cp1252")
    assert rows[0] == (2, ("JosÃ© MÃ¼ller", "jose@example.org"))


def test_windows_text_with_the_capitals_utf8_starts_with_is_windows_text(tmp_path: Path) -> None:
    # Ã, Ä, Å start a UTF-8 letter only when a byte from 0x80 to 0xBF follows: in Windows-1252 a
    # symbol (’, «, °...), which in names and addresses follows no capital letter
    text = "Name,City,Note\r\nSÃO PAULO,ÄRZTEHAUS,«Åsa» Öberg\r\nJoão,Malmö,25 °C\r\n"
    table, rows = read(write(tmp_path / "w.csv", text.encode("cp1252")))
    assert table.encoding == "cp1252"
    assert rows == [
        (2, ("SÃO PAULO", "ÄRZTEHAUS", "«Åsa» Öberg")),
        (3, ("João", "Malmö", "25 °C")),
    ]


def test_code_pages_whose_letters_look_like_utf8_now_and_then_are_not_mixed(
    tmp_path: Path,
) -> None:
    # "Гі", "Её" (Windows-1251) and "ĂŞ" (Windows-1250) are each two bytes UTF-8 would read as
    # one letter; every other letter of such files is a byte UTF-8 cannot read
    ukrainian = "Прізвище,Ім'я\r\nГірник,Олена\r\nЕёлкин,Дмитро\r\n".encode("cp1251")
    assert detect_encoding(write(tmp_path / "uk.csv", ukrainian)) == "cp1251"
    romanian = "Nazwisko,Imię\r\nŁukasiewicz,Józef\r\nBĂŞESCU,Traian\r\n".encode("cp1250")
    detect_encoding(write(tmp_path / "ro.csv", romanian))  # raises no "mixes two encodings"


@pytest.mark.parametrize(
    "text",
    [
        "Name\nRené\n",  # guessed cp1006 (Urdu): "Renﻠ"
        "Name,Email\nÅsa,x@y.org\n",  # big5: "彎a"
        "Name\nHélène\nAnna\n",  # big5: "H幨鋝e"
        "Name\nÍñigo\n",  # shift_jis_2004
        "Name\nŒuvre\n",  # cp1125 (Ukrainian DOS): "Мuvre"
        "Name,City\nNiño,São Paulo\n",
        "Name,Note\nAnn,Ça va\n",  # big5: "ド va"
        "Name,Floor\nAnn,1ª planta\n",  # cp932: "1ｪ planta"
    ],
)
def test_a_few_accented_names_from_windows_are_not_read_as_another_script(
    tmp_path: Path, text: str
) -> None:
    """On a file this small charset-normalizer guesses a code page in which the accented
    letters become letters of another script inside Latin words: Windows-1252 is taken."""
    table, rows = read(write(tmp_path / "few.csv", text.encode("cp1252")))
    assert table.encoding == "cp1252"
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


def test_polish_from_windows_is_read_in_its_own_code_page(tmp_path: Path) -> None:
    """Read as Windows-1252, Windows-1250's ł, ą, Ł, Ż become ³, ¹, £, ¯ inside the names."""
    text = (
        "Imię,Nazwisko,Email\r\nJózef,Łukasiewicz,jl@example.pl\r\n"
        "Anna,Kowalczyk-Wąsowska,ak@example.pl\r\nŚwiętosław,Żółkiewski,sz@example.pl\r\n"
    )
    table, rows = read(write(tmp_path / "pl.csv", text.encode("cp1250")))
    assert table.encoding == "cp1250"
    assert table.headers == ["Imię", "Nazwisko", "Email"]
    assert [values[:2] for _, values in rows] == [
        ("Józef", "Łukasiewicz"),
        ("Anna", "Kowalczyk-Wąsowska"),
        ("Świętosław", "Żółkiewski"),
    ]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "Czech",
            "Jméno,Příjmení,Město\r\nAntonín,Dvořák,Praha\r\nKarel,Čapek,Malé Svatoňovice\r\n"
            "Božena,Němcová,Česká Skalice\r\nJiří,Šťastný,Brno\r\n",
        ),
        ("Slovak", "Meno,Priezvisko\r\nĽudovít,Štúr\r\nMilan,Štefánik\r\nĎurko,Ťažký\r\n"),
        (
            "Hungarian",
            "Név,Város\r\nErdős Pál,Budapest\r\nSzűcs Anikó,Győr\r\nKőműves Kelemen,Déva\r\n",
        ),
        ("Romanian", "Nume,Prenume\r\nBăsescu,Traian\r\nŢiriac,Ion\r\nŞtefănescu,Ana\r\n"),
    ],
)
def test_central_european_names_from_windows_are_read_in_its_code_page(
    tmp_path: Path, language: str, text: str
) -> None:
    """Read as Windows-1252 these are letters, but spelt as no Western language spells a word:
    "Dvoøák", "Kõmûves", "Stãnescu"; Czech's ť becomes a control character."""
    table, rows = read(write(tmp_path / "ce.csv", text.encode("cp1250")))
    assert table.encoding == "cp1250", language
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


WESTERN_NAMES = {
    "French": "Hélène Lefèvre, François Mûre, Noël Sûreté, Agnès Orléans, Zoë Chloé, Benoît Cœur",
    "German": "Jürgen Müller, Käthe Größ, Björn Öztürk, Straße Königsallee",
    "Spanish": "Íñigo Núñez, María José Gómez, Begoña Peñalver, Ángel Ibáñez",
    "Portuguese": "João Simões, Inês Camões, Conceição Magalhães, Luís Gonçalves, Mãe Irmã",
    "Italian": "Niccolò Paganini, Lucía Benedetti, Perù Così, Caffè Città",
    "Dutch": "Anaïs Ruïne, Zeeën Coöperatie, Café Één",
    "Danish and Norwegian": "Bjørn Århus, Søren Kierkegaard, Ærø Økonomi, Ålesund Tromsø",
    "Swedish and Finnish": "Åsa Öberg, Mäkinen Hämäläinen, Västerås Jönköping",
    "Icelandic": "Guðrún Ósvífursdóttir, Þórður Sigurðsson, Aðalsteinn Jónsdóttir",
    "Catalan": "Josep Lluís, Mercè Rodoreda, Joan Miró, Ramon Llull Pagès",
    "Estonian": "Tõnis Mägi, Põldsäär Õun, Jüri Ratas",
}


@pytest.mark.parametrize("language", sorted(WESTERN_NAMES))
def test_western_names_stay_windows_1252(tmp_path: Path, language: str) -> None:
    names = [name.split(" ", 1) for name in WESTERN_NAMES[language].split(", ")]
    text = "First,Last\r\n" + "".join(f"{first},{last}\r\n" for first, last in names)
    table, _ = read(write(tmp_path / "west.csv", text.encode("cp1252")))
    assert table.encoding == "cp1252"


@pytest.mark.parametrize(
    "text",
    [
        "Prénom,Nom,Prix\r\nFrançois,Lefèvre,£5\r\nHélène,Núñez,¿Qué?\r\n",
        "Name,Note\r\nBjørn,m² 50 – 5¼ Zoll\r\nJürgen,Köln\r\n",
    ],
)
def test_western_text_with_pounds_and_superscripts_stays_windows_1252(
    tmp_path: Path, text: str
) -> None:
    table, _ = read(write(tmp_path / "west.csv", text.encode("cp1252")))
    assert table.encoding == "cp1252"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("big5", "姓名,城市\r\n張偉,台北\r\n王芳,高雄\r\n"),
        ("cp949", "이름,도시\r\n김민수,서울\r\n이영희,부산\r\n"),
        ("cp1251", "Имя,Фамилия\r\nИван,Петров\r\nМария,Смирнова\r\n"),
        # enough text beyond ASCII for one code page to stand out
        (
            "cp1255",
            "שם,עיר\r\nדוד כהן,תל אביב\r\nשרה לוי,ירושלים\r\nמשה מזרחי,חיפה\r\n"
            "רחל אברהם,באר שבע\r\nיוסף פרץ,נתניה\r\nמרים ביטון,אשדוד\r\n",
        ),
        (
            "gbk",
            "姓名,公司\r\n" + "".join(f"{n},北京科技有限公司\r\n" for n in "伟芳娜敏静丽强磊军洋"),
        ),
    ],
)
def test_non_latin_text_keeps_a_guess_no_other_code_page_matches(
    tmp_path: Path, encoding: str, text: str
) -> None:
    table, rows = read(write(tmp_path / "script.csv", text.encode(encoding)))
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


@pytest.mark.parametrize(
    ("encoding", "names", "reading"),
    [
        ("cp1255", [("דוד", "כהן"), ("שרה", "לוי"), ("משה", "מזרחי")], "דוד"),
        ("cp1256", [("محمد", "العلي"), ("فاطمة", "حسن")], "محمد"),
        ("cp874", [("สมชาย", "ใจดี"), ("สมหญิง", "รักไทย")], "สมชาย"),
        ("gbk", [("伟", "王"), ("芳", "李"), ("娜", "张")], "伟"),
        ("cp932", [("太郎", "山田"), ("花子", "佐藤")], "太郎"),
    ],
)
def test_a_few_names_that_read_as_letters_in_several_code_pages_stop_the_file(
    tmp_path: Path, encoding: str, names: list[tuple[str, str]], reading: str
) -> None:
    """Guessed from a few names, the right code page and a wrong one score alike, and the wrong
    one would create every candidate with other letters: the file is refused, showing how each
    code page reads it, and read as the user then says."""
    text = "First Name,Last Name,Email\r\n" + "".join(
        f"{first},{last},person{n}@example.com\r\n" for n, (first, last) in enumerate(names)
    )
    path = write(tmp_path / "few.csv", text.encode(encoding))
    with pytest.raises(ConfigError) as refused:
        read(path)
    message = str(refused.value)
    assert "cannot tell which encoding" in message
    assert "line 2 reads" in message
    assert f'"{reading}" as ' in message
    assert encoding in message.split(f'"{reading}" as ', 1)[1].split('"', 1)[0]
    assert "Pass --encoding" in message
    table, rows = read(path, encoding=encoding)
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


def test_turkish_from_windows_is_read_in_its_own_code_page(tmp_path: Path) -> None:
    """Read as Windows-1252, Windows-1254's ğ, ş, ı become ð, þ, ý: "Çaðla" is no one's word."""
    text = "Ad,Soyad,Şehir\r\nÇağla,Yılmaz,İstanbul\r\nŞükrü,Doğan,Muğla\r\nIşık,Öztürk,Iğdır\r\n"
    table, rows = read(write(tmp_path / "tr.csv", text.encode("cp1254")))
    assert table.encoding == "cp1254"
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "Lithuanian",
            "Vardas,Pavardė,Miestas\r\nGintarė,Stankevičius,Kaunas\r\nJonas,Gaižauskas,Vilnius\r\n"
            "Rūta,Žukauskienė,Šiauliai\r\nKęstutis,Naujokas,Panevėžys\r\n",
        ),
        (
            "Latvian",
            "Vārds,Uzvārds,Pilsēta\r\nAmālija,Bērziņa,Rīga\r\nJānis,Krūmiņš,Liepāja\r\n"
            "Ģirts,Ķēniņš,Daugavpils\r\n",
        ),
    ],
    ids=["Lithuanian", "Latvian"],
)
def test_baltic_names_from_windows_are_read_in_its_code_page(
    tmp_path: Path, language: str, text: str
) -> None:
    """Read as Windows-1252, Windows-1257's letters are Western ones in places no Western
    language puts them: "Stankevièius" (è before a vowel), "Gaiþauskas" (þ inside a word),
    "Krûmiòð"."""
    table, rows = read(write(tmp_path / "baltic.csv", text.encode("cp1257")))
    assert table.encoding == "cp1257", language
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Prénom,Nom,Ville\r\nJosé,Müller,Zürich\r\nFrançoise,Lefèvre,Besançon\r\n"
        "Iñigo,Núñez,Logroño\r\nBjörn,Ångström,Göteborg\r\nHélène,Dubois,Orléans\r\n",
        "First,Last\r\nJosé,Müller\r\nRené,Schön\r\n",
    ],
    ids=["Western names", "three rows"],
)
def test_names_from_excel_for_mac_are_read_in_mac_roman(tmp_path: Path, text: str) -> None:
    """Excel for Mac's "Comma Separated Values" is Mac Roman. Read as Windows-1252 its é and ü
    are "JosŽ" and "MŸller": a capital after a small letter, as no language writes a name."""
    table, rows = read(write(tmp_path / "mac.csv", text.encode("mac_roman")))
    assert table.encoding == "mac_roman"
    assert [table.headers, *[list(values) for _, values in rows]] == [
        line.split(",") for line in text.splitlines()
    ]


def test_a_non_latin_guess_is_kept(tmp_path: Path) -> None:
    text = "Имя,Фамилия,Email\r\nИван,Петров,ivan@example.com\r\nМария,Сидорова,m@example.com\r\n"
    table, rows = read(write(tmp_path / "ru.csv", text.encode("cp1251")))
    assert table.encoding == "cp1251"
    assert table.headers == ["Имя", "Фамилия", "Email"]
    assert rows[1] == (3, ("Мария", "Сидорова", "m@example.com"))


def test_excel_unicode_text_is_utf16_with_tabs() -> None:
    table, rows = read(DATA / "utf16_tab.txt")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert table.headers == ["Name", "Email"]
    assert rows == [(2, ("Zoë", "zoe@example.com")), (3, ("Łukasz", "lukasz@example.com"))]


def test_a_forced_encoding_is_used() -> None:
    table, rows = read(DATA / "latin1.csv", encoding="latin-1")
    assert table.encoding == "latin-1"
    assert rows[0] == (2, ("José", "São Paulo", "jose@example.com"))


def test_a_forced_encoding_that_does_not_fit_names_the_byte_the_line_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        read(DATA / "cp1252.csv", encoding="utf-8")
    message = str(caught.value)
    assert "cp1252.csv is not utf-8: byte 0xEB on line 2" in message
    assert "pass --encoding cp1252" in message


def test_an_unknown_encoding_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown encoding 'utf-9'"):
        read(DATA / "cp1252.csv", encoding="utf-9")


@pytest.mark.parametrize("encoding", ["hex", "base64", "rot13", "zlib", "idna", "unicode_escape"])
def test_a_codec_no_text_file_is_saved_in_is_refused_by_name(encoding: str) -> None:
    with pytest.raises(ConfigError, match=f"'{encoding}' \\(--encoding\\) is not an encoding"):
        read(DATA / "cp1252.csv", encoding=encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "UTF16"])
def test_utf16_without_its_byte_order_mark_names_the_byte_orders(
    tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path / "bare.csv", "Name,Email\r\nZoë,zoe@example.com\r\n".encode("utf-16-le"))
    with pytest.raises(ConfigError, match=r"pass --encoding utf-16-le .* or utf-16-be"):
        read(path, encoding=encoding)
    _, rows = read(path, encoding="utf-16-le")
    assert rows == [(2, ("Zoë", "zoe@example.com"))]


# -- CSV: delimiters, quoting, line ends ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "delimiter", "first_row"),
    [
        ("semicolon.csv", ";", ("Jürgen", "Groß", "juergen@example.de", "1.234,50")),
        ("tab.tsv", "\t", ("Lee, Ann", "ann@example.com", "London")),
        ("pipe.txt", "|", ("Ann, Lee", "ann@example.com", "+44 20 7946 0000")),
    ],
)
def test_delimiter_is_detected(name: str, delimiter: str, first_row: tuple[str, ...]) -> None:
    table, rows = read(DATA / name)
    assert table.delimiter == delimiter
    assert rows[0] == (2, first_row)


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ('Name,Notes\n"a;b;c","x|y|z"\n"d;e","f|g"\n', ","),
        ('Name;Notes\n"Lee, Ann";"x, y, z"\n"Ray, Bob";"w"\n', ";"),
        ('"Last, First"|Email\n"Lee, Ann"|a@example.com\n', "|"),
        ("Name\tCity\nAnn\tParis; FR\n", "\t"),
        ("Email\nann@example.com\n", ","),
    ],
)
def test_delimiters_inside_quoted_cells_do_not_count(
    tmp_path: Path, text: str, delimiter: str
) -> None:
    table, _ = read(write(tmp_path / "sniff.csv", text.encode()))
    assert table.delimiter == delimiter


def test_excels_sep_line_names_the_delimiter_and_is_not_a_row() -> None:
    table, rows = read(DATA / "excel_sep_line.csv")
    assert (table.delimiter, table.headers) == (";", ["Name", "Email"])
    assert rows == [(2, ("Lee, Ann", "ann@example.com"))]


def test_tsv_means_tab_without_sniffing(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path / "commas.tsv", b"a,b\tc\n1,2\t3\n"))
    assert table.delimiter == "\t"
    assert (table.headers, rows) == (["a,b", "c"], [(2, ("1,2", "3"))])


def test_quoted_newlines_stay_in_one_cell_and_one_row_number() -> None:
    table, rows = read(DATA / "quoted_newlines.csv")
    assert table.headers == ["Name", "Notes", "Email"]
    assert rows == [
        (
            2,
            (
                "Smith, John",
                "Line one\nline two, with comma; semicolon | pipe\ttab",
                "john@example.com",
            ),
        ),
        (3, ('O"Brien', "", "obrien@example.com")),
        (4, ("Ann", 'Said "call me"', "ann@example.com")),
    ]


def test_old_mac_line_ends() -> None:
    _, rows = read(DATA / "cr_line_ends.csv")
    assert rows == [(2, ("Ann", "ann@example.com")), (3, ("Bob", "bob@example.com"))]


def test_a_cell_longer_than_the_stdlib_limit_is_read(tmp_path: Path) -> None:
    notes = "x" * 200_000  # the stdlib stops at 131,072
    _, rows = read(write(tmp_path / "long.csv", f'Name,Notes\nAnn,"{notes}"\n'.encode()))
    assert rows == [(2, ("Ann", notes))]


def test_an_unclosed_quote_names_its_row_and_the_lines_it_swallows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "quote.csv", ('Name,Notes\nAnn,ok\nBob,"oops\n' + "Cy,fine\n" * 200).encode()
    )
    message = r"the quote \(\"\) that opens a cell on row 3 is never closed: it swallows the 200 "
    with pytest.raises(ConfigError, match=message):
        read(path)
    with open_table(path, header_row=1) as table, pytest.raises(ConfigError, match=message):
        table.check_complete()  # before a single row is read


def test_a_file_cut_inside_a_quoted_cell_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="row 2 is never closed: the file ends inside that cell"):
        read(write(tmp_path / "cut.csv", b'Name,Notes\nAnn,"Called on Mon'))


def test_check_complete_passes_a_file_whose_quotes_close(tmp_path: Path) -> None:
    path = write(tmp_path / "ok.csv", b'Name,Notes\nAnn,"two\nlines"\nBob,"""quoted"""')
    with open_table(path) as table:
        table.check_complete()
        assert [row.values for row in table.rows] == [("Ann", "two\nlines"), ("Bob", '"quoted"')]


def test_an_unclosed_quote_past_the_cell_limit_is_named_as_such(tmp_path: Path) -> None:
    text = 'Name,Notes\nAnn,ok\nBob,"oops\n' + "Cy,fine\n" * 150_000  # 1.2 MB of lines
    path = write(tmp_path / "quote.csv", text.encode())
    with pytest.raises(ConfigError, match=r"row 3 has a cell longer than 1 MB .* it runs over"):
        read(path, max_cell_mb=1)


def test_a_cell_past_the_limit_names_the_row_and_how_to_raise_it(tmp_path: Path) -> None:
    text = "Name,Notes\nAnn,ok\nBob," + "x" * (1024 * 1024 + 1) + "\n"
    path = write(tmp_path / "big.csv", text.encode())
    with pytest.raises(ConfigError, match=r"row 3 has a cell longer than 1 MB.*--max-cell-mb 4"):
        read(path, max_cell_mb=1)
    _, rows = read(path, max_cell_mb=2)
    assert [number for number, _ in rows] == [2, 3]


def test_a_stray_quote_closed_rows_later_gives_every_line_its_row(tmp_path: Path) -> None:
    lines = [f"P{i},p{i}@example.com,0770090000{i}" for i in range(2, 8)]
    lines[1] = 'P3,"p3@example.com,07700900003'  # row 3 opens a quote...
    lines[4] = 'P6,p6@exa"mple.com,07700900006'  # ... that a stray quote on row 6 closes
    notes = '"a note\nover, two lines"'
    text = "Name,Email,Phone\n" + "\n".join(lines) + f"\nP8,p8@example.com,{notes}\n"
    with open_table(write(tmp_path / "stray.csv", text.encode())) as table:
        rows = list(table.rows)
    assert [(row.row_number, row.values) for row in rows] == [
        (2, ("P2", "p2@example.com", "07700900002")),
        (3, ("P3", '"p3@example.com', "07700900003")),  # the quote kept where it was typed
        (4, ("P4", "p4@example.com", "07700900004")),
        (5, ("P5", "p5@example.com", "07700900005")),
        (6, ("P6", "p6@example.com", "07700900006")),
        (7, ("P7", "p7@example.com", "07700900007")),
        (8, ("P8", "p8@example.com", "a note\nover, two lines")),  # a real multi-line cell
    ]
    problems = {row.row_number: row.problem for row in rows if row.problem is not None}
    assert sorted(problems) == [3, 6]
    assert [(p.code, p.column) for p in problems.values()] == [
        ("unbalanced-quote", "Email"),
        ("unbalanced-quote", None),
    ]
    assert "they are read as rows 4–5, and row 6, where the quote closes" in problems[3].message
    assert "opened a cell on row 3 closes on this row" in problems[6].message


def test_notes_whose_lines_do_not_look_like_rows_stay_one_cell(tmp_path: Path) -> None:
    notes = '"Called, no answer.\nLeft a message, will call back.\nSecond call\nhired"'
    text = f"Name,Email,Notes\nAnn,ann@example.com,{notes}\nBob,bob@example.com,\n"
    _, rows = read(write(tmp_path / "notes.csv", text.encode()))
    assert [number for number, _ in rows] == [2, 3]
    assert rows[0][1][2].count("\n") == 3


def test_excel_text_formulas_are_read_as_the_text_excel_shows(tmp_path: Path) -> None:
    # How exports keep leading zeros and long digit strings when Excel opens the CSV: bare, or
    # quoted the way a CSV quotes a cell holding quotes; semicolons as European Excel writes.
    text = (
        "Name;Phone;Id;Notes\n"
        'Ann;="07700900123";"=""000123""";="He said ""hi"""\n'
        'Bob;="";=A1;="a"b"\n'
        'Cy; ="0044";="0044" ;"=""x"";y"\n'
    )
    _, rows = read(write(tmp_path / "export.csv", text.encode()))
    assert rows == [
        (2, ("Ann", "07700900123", "000123", 'He said "hi"')),
        # an empty text, a real formula, and a quote that is not doubled: only the first is text
        (3, ("Bob", "", "=A1", '="a"b"')),
        # not the whole cell: kept as typed
        (4, ("Cy", ' ="0044"', '="0044" ', '="x";y')),
    ]


def test_excel_text_formulas_in_a_notes_cell_are_left_alone(tmp_path: Path) -> None:
    notes = '"Call on\n=""0044"" first"'
    text = f'Name,Email,Notes\nAnn,ann@example.com,{notes}\nBob,="bob@example.com",\n'
    _, rows = read(write(tmp_path / "notes.csv", text.encode()))
    assert rows == [
        (2, ("Ann", "ann@example.com", 'Call on\n="0044" first')),
        (3, ("Bob", "bob@example.com", "")),
    ]


# -- CSV: shape ---------------------------------------------------------------------------------


def test_text_is_never_converted() -> None:
    table, rows = read(DATA / "text_values.csv")
    assert table.headers[-3:] == ["Excel Phone", "Nickname", "Flag"]
    assert rows == [
        (
            2,
            (
                "007",
                "+447911123123",
                "NA",
                "null",
                "1.50",
                "02134",
                "4.47701E+11",
                "  Al  ",
                "TRUE",
            ),
        ),
        (
            3,
            (
                "0001",
                "+1 (555) 010-9999",
                "N/A",
                "None",
                "-0",
                "00501",
                "1.23457E+15",
                "-",
                "false",
            ),
        ),
    ]


def test_ragged_rows_are_yielded_as_they_are_but_trailing_separators_are_not_ragged() -> None:
    with open_table(DATA / "ragged.csv") as table:
        rows = [(row.row_number, row.values, table.is_ragged(row)) for row in table.rows]
    assert rows == [
        (2, ("Ann", "ann@example.com", "07911123001"), False),
        (3, ("Bob", "bob@example.com"), True),
        (4, ("Cy", "cy@example.com", "07911123003", "extra"), True),
        (5, ("Di", "di@example.com", "07911123004"), False),
        (6, ("Ed", "ed@example.com", "07911123005"), False),
    ]


def test_blank_rows_inside_are_yielded_blank_ones_at_the_end_are_not() -> None:
    with open_table(DATA / "blank_rows_cols.csv") as table:
        assert table.headers == ["Name", "Email"]  # the two empty header cells are Excel's
        rows = list(table.rows)
    assert [(row.row_number, row.values, row.is_blank) for row in rows] == [
        (2, ("Ann", "ann@example.com"), False),
        (3, ("", ""), True),
        (4, ("", ""), True),
        (5, ("", ""), True),
        (6, ("Bob", "bob@example.com"), False),
    ]
    assert not any(table.is_ragged(row) for row in rows)


@pytest.mark.parametrize(
    ("delimiter", "notes"),
    [(",", "a; b; c; d; e; f; g"), (";", "a, b, c, d, e, f")],
    ids=["commas with semicolons in notes", "semicolons with commas in notes"],
)
def test_a_delimiter_in_every_note_does_not_outvote_the_header(
    tmp_path: Path, delimiter: str, notes: str
) -> None:
    """Split by what the notes hold, the header is one cell and each row more than the real
    delimiter makes: the delimiter that finds the header on the first line wins."""
    header = delimiter.join(["First Name", "Last Name", "Email", "Notes"])
    lines = [header] + [delimiter.join([f"N{n}", "Smith", f"s{n}@x.org", notes]) for n in range(5)]
    table, rows = read(write(tmp_path / "notes.csv", "\r\n".join(lines).encode()))
    assert (table.delimiter, table.header_row) == (delimiter, 1)
    assert table.headers == ["First Name", "Last Name", "Email", "Notes"]
    assert rows[0] == (2, ("N0", "Smith", "s0@x.org", notes))


@pytest.mark.parametrize("end", [b"\r\n\x1a", b"\r\n\x1a\r\n"])
def test_the_dos_end_of_file_mark_is_no_row(tmp_path: Path, end: bytes) -> None:
    """DOS-era exports end with Ctrl-Z (0x1A): not a row of one cell, rejected as ragged."""
    data = b"Name,Email\r\nAnn,ann@example.com\r\nBob,bob@example.com" + end
    _, rows = read(write(tmp_path / "dos.csv", data))
    assert rows == [(2, ("Ann", "ann@example.com")), (3, ("Bob", "bob@example.com"))]


def test_duplicate_and_empty_header_names_are_kept() -> None:
    table, rows = read(DATA / "duplicate_headers.csv")
    assert table.headers == ["Email", "", "Phone", "Email", "Name"]
    assert rows == [(2, ("ann@example.com", "note", "07911123001", "ann@work.example", "Ann"))]


def test_header_row_skips_the_rows_above_and_keeps_spreadsheet_numbers() -> None:
    table, rows = read(DATA / "header_row_3.csv", header_row=3)
    assert table.headers == ["First Name", "Last Name", "Email"]
    assert rows == [(4, ("Ann", "Lee", "ann@example.com")), (5, ("Bob", "Ray", "bob@example.com"))]


def test_an_empty_header_row_names_the_row_to_use(tmp_path: Path) -> None:
    path = write(tmp_path / "late_header.csv", b"\n,,\nName,Email\nAnn,a@example.com\n")
    with pytest.raises(ConfigError) as caught:
        read(path, header_row=1)
    assert str(caught.value) == (
        f"{path}: row 1, the header row, is empty; the first row with values after it is "
        "row 3: pass --header-row 3 if it holds the column names"
    )
    _, rows = read(path, header_row=3)
    assert rows == [(4, ("Ann", "a@example.com"))]


def test_a_header_row_past_the_end_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"no values on row 9 .* last row with values is row 5"):
        read(DATA / "header_row_3.csv", header_row=9)


def test_a_file_with_only_a_header_has_no_rows(tmp_path: Path) -> None:
    table, rows = read(write(tmp_path / "header.csv", b"Name,Email\r\n\r\n"))
    assert (table.headers, rows) == (["Name", "Email"], [])


@pytest.mark.parametrize("name", ["empty.csv", "blank_lines_only.csv"])
def test_an_empty_file_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="is empty: it needs a header row"):
        read(DATA / name)


# -- file and option errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.csv", "missing.csv not found: check the path"),
        (
            "old.xls",
            "old.xls is an Excel 97-2003 .xls workbook, which cannot be read: open it "
            "in Excel and save it as .xlsx",
        ),
        (
            "data.json",
            "data.json: cannot read .json files: use a .csv, .tsv or .txt file or "
            "an .xlsx or .xlsm workbook",
        ),
        ("folder.csv", "folder.csv is a folder"),
    ],
)
def test_unreadable_inputs_are_config_errors(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "data.json").write_bytes(b"{}")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ConfigError) as caught:
        read(tmp_path / name)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        # what old ATSs call an Excel export: an HTML table named .xls
        (
            "export.xls",
            b"<html><body><table><tr><td>Name</td></tr></table></body></html>",
            "export.xls is not a spreadsheet: it looks like a web page (HTML); a table an ATS "
            "exported so opens in Excel, which saves it as .xlsx or CSV UTF-8",
        ),
        # an expired download link saves its sign-in page as the export
        (
            "export.csv",
            b"\xef\xbb\xbf\n  <!DOCTYPE html>\n<html lang='en'><title>Sign in</title></html>",
            "export.csv is not a spreadsheet: it looks like a web page (HTML); ",
        ),
        ("export.xls", b"Name\tEmail\r\nAnn\ta@example.com\r\n", "rename it to .tsv"),
        ("export.xls", b"", "export.xls is empty"),
    ],
    ids=["html table .xls", "sign-in page .csv", "tab-separated .xls", "empty .xls"],
)
def test_what_a_file_named_xls_or_a_web_page_really_is_is_said(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        read(write(tmp_path / name, content))
    assert message in str(caught.value)


def test_a_workbook_named_xls_is_told_to_be_renamed(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    shutil.copy(DATA.parent.parent / "samples" / "candidates.xlsx", path)
    with pytest.raises(ConfigError, match=r"export\.xls is an Excel workbook with a \.xls name"):
        read(path)


def test_options_for_the_other_kind_of_file_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"--sheet applies to \.xlsx workbooks only"):
        read(DATA / "ragged.csv", sheet="Candidates")
    with pytest.raises(ConfigError, match="--encoding applies to CSV files only"):
        read(DATA / "dates.xlsx", encoding="utf-8")
    with pytest.raises(ConfigError, match="--header-row must be 1 or more"):
        read(DATA / "ragged.csv", header_row=0)


def test_a_file_that_is_not_a_workbook_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "export.xlsx", b"Name,Email\nAnn,a@example.com\n")
    with pytest.raises(ConfigError, match=r"export\.xlsx is a text file, not an \.xlsx workbook"):
        read(path)


# -- XLSX ---------------------------------------------------------------------------------------


def xlsx_cases() -> list[tuple[Path, str, int]]:
    cases = []
    for path in XLSX_FIXTURES:
        workbook = openpyxl.load_workbook(path, read_only=True)
        cases += [
            (path, name, 3 if path.name == "offset.xlsx" else 1) for name in workbook.sheetnames
        ]
        workbook.close()
    return cases


@pytest.mark.parametrize(
    ("path", "sheet", "header_row"), xlsx_cases(), ids=lambda value: getattr(value, "name", value)
)
def test_calamine_and_openpyxl_give_the_same_rows(path: Path, sheet: str, header_row: int) -> None:
    loaded, loaded_rows = read(path, sheet=sheet, header_row=header_row, **LOAD)
    streamed, streamed_rows = read(path, sheet=sheet, header_row=header_row, **STREAM)
    assert streamed.engine == "openpyxl"
    has_error_cells = (path.name, sheet) == ("errors.xlsx", "Candidates")
    assert loaded.engine == ("openpyxl" if has_error_cells else "calamine")
    assert (loaded.headers, loaded_rows) == (streamed.headers, streamed_rows)
    assert streamed_rows


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_numbers_read_as_typed_never_as_floats_or_exponents(options: dict[str, int]) -> None:
    table, rows = read(DATA / "phones_as_numbers.xlsx", **options)
    assert (table.kind, table.sheet, table.encoding, table.delimiter) == (
        "xlsx",
        "Candidates",
        None,
        None,
    )
    assert rows == [
        (
            2,
            (
                "Ann",
                "447700112233",
                "07911123123",
                "000123",
                "4.47701E+11",
                "7",
                "0.1",
                "0.00001",
                "150000000000000000000",
                "-3.25",
                "TRUE",
            ),
        ),
        (
            3,
            (
                "  Bob  ",
                "447701000000",
                "+44 7911 123124",
                "000124",
                "4.47701E+11",
                "12",
                "0.6666666666666666",
                "0.000123",
                "10000000000000000",
                "-0.5",
                "FALSE",
            ),
        ),
    ]


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_dates_read_as_iso_8601(options: dict[str, int]) -> None:
    table, rows = read(DATA / "dates.xlsx", **options)
    assert table.headers == [
        "Name",
        "Born",
        "Interview",
        "Start Time",
        "Applied",
        "Midnight",
        "Serial",
        "Notice",
    ]
    assert rows == [
        (
            2,
            (
                "Ann",
                "1990-05-17",
                "2024-03-01T09:30:00",
                "09:30:00",
                "2024-03-01",
                "2024-03-04",
                "45352",
                "36:30:00",
            ),
        ),
        (
            3,
            (
                "Bob",
                "1985-12-31",
                "2024-02-29T17:45:15",
                "17:05:30",
                "2024-02-29",
                "2024-03-05",
                "45351.5",
                "01:30:00",
            ),
        ),
    ]


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_formulas_read_as_their_cached_values(options: dict[str, int]) -> None:
    _, rows = read(DATA / "formulas.xlsx", **options)
    assert rows == [
        (2, ("Ann", "Lee", "Ann Lee", "447700112233", "447700112233", "TRUE")),
        (3, ("Bob", "Ray", "Bob Ray", "447700112234", "447700112234", "FALSE")),
    ]


def test_a_formula_without_its_result_is_refused_naming_the_cell(tmp_path: Path) -> None:
    """openpyxl, like other libraries, writes formulas without calculating them: every reader
    would read such a cell as empty, though Excel shows a value."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Candidates"
    sheet.append(["First Name", "Last Name", "Email"])
    sheet.append(["Ann", "Lee", "ann@example.com"])
    sheet.append(["Bob", "Ray", '=LOWER("BOB@EXAMPLE.COM")'])
    workbook.save(tmp_path / "scripted.xlsx")
    with pytest.raises(ConfigError) as refused:
        read(tmp_path / "scripted.xlsx")
    assert str(refused.value) == (
        f'{tmp_path / "scripted.xlsx"}, sheet "Candidates": cell C3 holds a formula whose result '
        "was never stored (the program that wrote the file does not calculate formulas), so no "
        "reader can tell its value: open the file in Excel or LibreOffice and save it, which "
        "stores every result"
    )


@pytest.mark.parametrize(
    ("xml", "found"),
    [
        (b'<c r="C3"><f>A1*2</f><v /></c>', "C3"),  # openpyxl
        (b'<c r="C3"><f>A1*2</f></c>', "C3"),  # no result at all
        (b'<c r="AB12" s="1"><f t="shared" si="0"/></c>', "AB12"),
        (b'<c r="C3"><f>A1*2</f><v>4</v></c>', None),  # Excel
        (b'<c r="C3" t="str"><f>IF(A1,"","")</f><v></v></c>', None),  # Excel: an empty text
        (b'<c r="C3"><v/></c>', None),  # no formula
    ],
)
def test_the_sheet_scan_finds_a_formula_without_a_result(xml: bytes, found: str | None) -> None:
    # the cell cut at each of its tags, as a chunk of the stream may end at any tag
    cuts = [0] + [i for i in range(1, len(xml)) if xml[i : i + 1] == b"<"]
    for cut in cuts:
        scan = _FastScan()
        scan.feed(b'<sheetData><row r="3">' + xml[:cut])
        scan.feed(xml[cut:] + b"</row></sheetData>")
        assert scan.uncomputed_formula == found, cut


def test_error_cells_read_as_their_error_text_even_below_the_threshold() -> None:
    table, rows = read(DATA / "errors.xlsx", **LOAD)
    assert table.engine == "openpyxl"  # calamine reads error cells as ""
    assert rows == [(2, ("Ann", "#N/A", "#DIV/0!", "#N/A")), (3, ("Bob", "Cy", "2", "#REF!"))]


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_merged_cells_hold_their_value_in_the_top_left_cell_only(options: dict[str, int]) -> None:
    _, rows = read(DATA / "merged.xlsx", **options)
    assert rows == [
        (2, ("Sales", "Ann", "ann@example.com", "07911123001")),
        (3, ("", "Bob", "bob@example.com", "07911123002")),
        (4, ("Support", "Cy", "to be confirmed", "")),
    ]


def test_the_default_sheet_is_the_first_visible_one() -> None:
    table, rows = read(DATA / "hidden_sheet.xlsx")
    assert (table.sheet, table.headers, rows) == (
        "Candidates",
        ["Name", "Email"],
        [(2, ("Ann", "ann@example.com"))],
    )


@pytest.mark.parametrize(("asked", "sheet"), [("Lookup", "Lookup"), ("archive", "Archive")])
def test_a_sheet_can_be_named_hidden_or_not_in_any_case(asked: str, sheet: str) -> None:
    table, _ = read(DATA / "hidden_sheet.xlsx", sheet=asked)
    assert table.sheet == sheet


def test_an_unknown_sheet_lists_the_sheets() -> None:
    with pytest.raises(ConfigError) as caught:
        read(DATA / "hidden_sheet.xlsx", sheet="Candidates 2024")
    assert str(caught.value) == (
        f'{DATA / "hidden_sheet.xlsx"} has no sheet "Candidates 2024"; its sheets are: '
        '"Lookup" (hidden), "Candidates", "Archive"'
    )


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_a_used_range_of_1048576_rows_yields_only_the_real_rows(options: dict[str, int]) -> None:
    assert (DATA / "used_range_1048576.xlsx").stat().st_size < 10_000
    table, rows = read(DATA / "used_range_1048576.xlsx", **options)
    assert table.headers == ["Name", "Email", "Phone", "City", "Source"]
    assert [number for number, _ in rows] == [2, 3, 4, 5]
    assert rows[-1] == (5, ("Person 4", "p4@example.com", "07911123004", "London", "Referral"))


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_a_table_lower_down_keeps_sheet_rows_and_columns(options: dict[str, int]) -> None:
    with open_table(DATA / "offset.xlsx", header_row=3, **options) as table:
        assert table.headers == ["", "Name", "", "Email", "Phone"]
        rows = [(row.row_number, row.values, table.is_ragged(row)) for row in table.rows]
        unnamed = table.unnamed.notice() if table.unnamed else None
    # a sheet has no ragged rows: "stray", in G, is in a column without a header, as "x" in C
    assert rows == [
        (4, ("", "Ann", "x", "ann@example.com", "7911123001"), False),
        (5, ("", "", "", "", ""), False),
        (6, ("", "Bob", "", "bob@example.com", ""), False),
        (7, ("", "", "", "", ""), False),
        (8, ("", "Cy", "", "cy@example.com", ""), False),
    ]
    assert unnamed is not None
    assert "2 columns without a header hold values" in unnamed
    assert "column C (row 4); column G (row 8)" in unnamed


@pytest.mark.parametrize("options", [LOAD, STREAM], ids=["calamine", "openpyxl"])
def test_header_row_counts_sheet_rows_even_when_the_first_are_empty(
    options: dict[str, int],
) -> None:
    with pytest.raises(
        ConfigError,
        match=r'sheet "Candidates": row 1, the header row, is empty.*'
        r"pass --header-row 3",
    ):
        read(DATA / "offset.xlsx", header_row=1, **options)
    table, rows = read(DATA / "offset.xlsx", **options)
    assert (table.header_row, table.headers, rows[0][0]) == (
        3,
        ["", "Name", "", "Email", "Phone"],
        4,
    )


def test_chart_sheets_hold_no_rows_and_are_passed_over(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "Data"
    workbook.active.append(["Name"])
    workbook.active.append(["Ann"])
    workbook.create_chartsheet("Chart", 0)
    workbook.save(tmp_path / "chart_first.xlsx")
    table, rows = read(tmp_path / "chart_first.xlsx")
    assert (table.sheet, rows) == ("Data", [(2, ("Ann",))])
    workbook.remove(workbook["Data"])
    workbook.save(tmp_path / "chart_only.xlsx")
    with pytest.raises(ConfigError, match=r"chart_only\.xlsx has no worksheet to read"):
        read(tmp_path / "chart_only.xlsx")


def test_xlsm_is_read_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "macros.xlsm"
    shutil.copy(DATA / "merged.xlsx", path)
    table, rows = read(path)
    assert (table.kind, len(rows)) == ("xlsx", 3)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (447700112233.0, "447700112233"),
        (447700112233, "447700112233"),
        (0.1, "0.1"),
        (1e-05, "0.00001"),
        (1.5e20, "150000000000000000000"),
        (-2.5, "-2.5"),
        (True, "TRUE"),
        (False, "FALSE"),
        (None, ""),
        (" kept ", " kept "),
        (date(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1, 9, 30), "2024-03-01T09:30:00"),
        (datetime(2024, 3, 1, 9, 29, 59, 999_500), "2024-03-01T09:30:00"),
        (time(9, 30), "09:30:00"),
        (time(9, 29, 59, 600_000), "09:30:00"),
        (timedelta(hours=36, minutes=30), "36:30:00"),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_column_letters_are_the_spreadsheets() -> None:
    from importer.read.headers import column_letter

    assert [column_letter(p) for p in (0, 25, 26, 51, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "ZZ",
        "AAA",
    ]


def test_a_header_loses_invisible_characters_and_matches_across_case_and_spacing() -> None:
    from importer.read.headers import header_label, normalise_header

    assert header_label("\ufeff E-mail\u200b Address ") == "E-mail Address"
    assert normalise_header("\ufeffE-mail\u200b   ADDRESS ") == "e-mail address"


@pytest.mark.parametrize("streaming_threshold", [0, 10**9], ids=["openpyxl", "calamine"])
def test_the_rows_a_sheet_hides_are_known_and_read_like_the_others(
    tmp_path: Path, streaming_threshold: int
) -> None:
    """Excel's filter hides rows both readers read: the table says which, below its header."""
    book = filtered_workbook(tmp_path / "filtered.xlsx")
    with open_table(book, streaming_threshold=streaming_threshold) as table:
        numbers = [row.row_number for row in table.rows]
        assert (table.header_row, sorted(table.hidden_rows)) == (2, list(HIDDEN))
    assert numbers == [3, 4, 5, 6]
    # LibreOffice writes hidden="true"
    with zipfile.ZipFile(book) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b'hidden="1"', b'hidden="true"'
    )
    with zipfile.ZipFile(book, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    with open_table(book, streaming_threshold=streaming_threshold) as table:
        assert sorted(table.hidden_rows) == list(HIDDEN)
    with open_table(DATA.parent.parent / "samples" / "candidates.xlsx") as plain:
        assert plain.hidden_rows == frozenset()


@pytest.mark.parametrize(
    ("renumber", "named"),
    [
        ({b"3": b"2"}, 2),  # row 3 written as a second row 2
        ({b"2": b"4", b"4": b"2"}, 3),  # row 4 written before rows 2 and 3
    ],
    ids=["twice", "out of order"],
)
@pytest.mark.parametrize("streaming_threshold", [0, 10**9], ids=["openpyxl", "calamine"])
def test_a_sheet_writing_a_row_twice_or_out_of_order_is_refused_not_read_short(
    tmp_path: Path, renumber: dict[bytes, bytes], named: int, streaming_threshold: int
) -> None:
    """Readers keep one version of a row written twice and lose the other, without a word."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (("First Name", "Email"), ("Ann", "a@x.org"), ("Ben", "b@x.org"), ("Cy", "c@x.org")):
        sheet.append(row)
    path = tmp_path / "damaged.xlsx"
    book.save(path)
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"]
    for old, new in renumber.items():  # through a placeholder, so that swaps do not undo
        xml = re.sub(rb'(r="[A-Z]*)' + old + rb'"', rb"\1#" + new + rb'"', xml)
    parts["xl/worksheets/sheet1.xml"] = xml.replace(b"#", b"")
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    with (
        pytest.raises(ConfigError) as refused,
        open_table(path, streaming_threshold=streaming_threshold),
    ):
        pass
    assert f"row {named} is written twice in the file, or after a later row" in str(refused.value)


def test_cells_merged_over_several_data_rows_are_known(tmp_path: Path) -> None:
    """Excel shows a merge's value in each of its rows; the file holds it in the first only."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Company", "First Name", "Last Name"])
    for row in (("Acme", "Ada", "Lovelace"), (None, "Bob", "Smith"), ("Globex", "Cy", "Young")):
        sheet.append(row)
    sheet.merge_cells("A2:A3")  # two data rows: the second shows "Acme" and holds nothing
    sheet.merge_cells("B1:C1")  # the header's own merge is no data
    sheet.merge_cells("B4:C4")  # one row, two columns: each row still holds its value
    path = tmp_path / "merged.xlsx"
    book.save(path)
    with open_table(path, header_row=1) as table:
        values = [list(row.values) for row in table.rows]
        assert table.merged == ("A2:A3",)
    assert values[1][0] == ""


def test_a_merge_in_a_column_the_mapping_does_not_read_is_not_said() -> None:
    """Nothing of such a column is sent, merged or not: only merges in columns sent count."""
    headers = ["Team", "Name"]
    assert merged_notice(("A2:A3",), headers, unread=["Team"]) is None
    notice = merged_notice(("A2:A3", "B2:B3"), headers, unread=["Team"])
    assert notice is not None
    assert notice.startswith('the sheet merges cells over several rows: B2:B3 ("Name"); Excel')
