import random
import re
import string
from datetime import datetime

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import (
    _maybe_strip_national_prefix_carrier_code,
    _test_number_length,
)

from importer import rules
from importer.errors import Code, WarningCode
from importer.rules import RuleError


def rejected(function, *args):
    with pytest.raises(RuleError) as caught:
        function(*args)
    return caught.value


# -- precision ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["4.47701E+11", "1E+15", "-1.5e-07", "4.47701e+11", "٤.٥E+11", "4,47701E+11"]
)
def test_scientific_notation_is_precision_lost(text):
    error = rejected(rules.check_precision, text)
    assert error.code == Code.PRECISION_LOST
    assert text in error.message
    assert "format the column as Text" in error.message


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("4.47911123456E+11", "447911123456"),
        ("4,47911123456E+11", "447911123456"),
        ("1.2345E+02", "123.45"),
        ("-4.4E+01", "-44"),
    ],
)
def test_scientific_notation_that_shows_every_digit_is_the_number_written_out(text, number):
    """A wide column or a format with more decimals shows every digit: nothing was lost."""
    assert rules.check_precision(text) == number


def test_a_phone_in_scientific_notation_with_every_digit_is_read():
    assert rules.phone_e164("4.47911123456E+11", "GB") == "+447911123456"
    assert rejected(rules.phone_e164, "4.47911E+11", "GB").code == Code.PRECISION_LOST


@pytest.mark.parametrize("text", ["3E8 Ltd", "E+11", "1E5", "007", "NA", "null", "1.5"])
def test_text_that_is_not_excel_scientific_notation_is_kept(text):
    assert rules.check_precision(text) == text


# -- invisible characters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent", "found"),
    [
        ("Love\x00lace", "Lovelace", "U+0000"),
        ("Ada\x00\x00", "Ada", "U+0000"),
        ("Acme\x7f Ltd\x01", "Acme Ltd", "U+0001, U+007F"),
        ("Caf\x85e", "Cafe", "U+0085"),  # C1, as latin-1 reads a byte Windows-1252 leaves out
        ("\x0bChief\x0cEngineer", "Chief Engineer", "U+000B, U+000C"),  # separators: a space
        ("Principal\x1fEngineer\x00", "Principal Engineer", "U+0000, U+001F"),
        # copied from a web page: a zero-width space (no space to see), a soft hyphen, a BOM
        ("\ufeffAda\u200bLove\u00adlace", "AdaLovelace", "U+00AD, U+200B, U+FEFF"),
    ],
)
def test_invisible_characters_are_taken_out_of_text_with_a_warning(text, sent, found):
    flagged = rules.plain_text(text)
    assert isinstance(flagged, rules.Flagged)
    assert flagged.value == sent
    assert flagged.code == WarningCode.INVISIBLE_REMOVED
    assert f"({found})" in flagged.message
    assert f'sent as "{sent}"' in flagged.message
    assert "\x00" not in flagged.message  # shown escaped, not as the invisible character
    assert "\\u" in flagged.message


@pytest.mark.parametrize("text", ["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#n/a"])
def test_an_excel_error_value_is_no_value(text):
    flagged = rules.plain_text(text)
    assert isinstance(flagged, rules.Flagged)
    assert (flagged.value, flagged.code) == (rules.NO_VALUE, WarningCode.VALUE_DROPPED)
    assert flagged.message.startswith(f'"{text}" is what Excel shows for a formula')


@pytest.mark.parametrize("text", ["#1 fan", "#N/A please", "# N/A", "#hashtag"])
def test_text_starting_with_a_hash_is_text(text):
    assert rules.plain_text(text) == text
    assert rules.excel_error(text) is None


def test_text_of_invisible_characters_alone_is_left_out():
    flagged = rules.plain_text("\x00\x00")
    assert isinstance(flagged, rules.Flagged)
    assert flagged.value is rules.NO_VALUE
    assert flagged.message.endswith("nothing else, so left out")


@pytest.mark.parametrize(
    "text",
    [
        "Ada Lovelace",
        "Line one\nline two\r\nthree",
        "Tab\there",
        "1\u00a0000 €",
        "Zoë",
        "日本",
        "👩\u200d💻",  # a joiner inside an emoji, as in Persian and Indic names: part of the text
        "\u05d3\u05d5\u05d3 (David)\u200f",  # a direction mark after Hebrew
    ],
)
def test_text_without_invisible_characters_is_sent_as_it_is(text):
    assert rules.plain_text(text) == text


def test_text_with_invisible_characters_is_still_refused_for_lost_precision():
    assert rejected(rules.plain_text, "4.47701E+11").code == Code.PRECISION_LOST


@pytest.mark.parametrize(
    "text",
    [
        "ada@example.com\u200b",
        "\ufeffada@example.com",
        "ada@exam\u00adple.com",
        "\u200eada@example.com",
        "ada\u2060@example.com",
    ],
)
def test_an_email_copied_with_invisible_characters_is_the_address_seen(text):
    flagged = rules.email_address(text)
    assert isinstance(flagged, rules.Flagged)
    assert (flagged.value, flagged.code) == ("ada@example.com", WarningCode.INVISIBLE_REMOVED)
    assert flagged.message.endswith("read as ada@example.com")


def test_an_email_without_its_invisible_characters_is_still_checked():
    assert rejected(rules.email_address, "ada@exa mple\u200b.com").code == Code.INVALID_EMAIL
    extracted = rules.email_address("Ada <ada@example.com\u200b>")
    assert isinstance(extracted, rules.Flagged)
    assert (extracted.value, extracted.code) == ("ada@example.com", WarningCode.EMAIL_EXTRACTED)
    assert "U+200B" in extracted.message


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("https://www.linkedin.com/in/ada\u200b", "https://www.linkedin.com/in/ada"),
        ("\ufefflinkedin.com/in/ada", "https://linkedin.com/in/ada"),
    ],
)
def test_a_link_copied_with_invisible_characters_is_the_link_seen(text, sent):
    flagged = rules.web_address(text)
    assert isinstance(flagged, rules.Flagged)
    assert (flagged.value, flagged.code) == (sent, WarningCode.INVISIBLE_REMOVED)


# -- split --------------------------------------------------------------------------------


def test_precision_check_refuses_exactly_what_the_pattern_matches():
    pieces = [*"19٤+-.,eE", "E+", "e-0", "x", "é", " ", "Ab"]
    generator = random.Random(5)
    for _ in range(5000):
        text = "".join(generator.choice(pieces) for _ in range(generator.randint(0, 8)))
        refused = rules.text._SCIENTIFIC.fullmatch(text) is not None
        assert refused == (_error_of(rules.check_precision, text) is not None), text


def _error_of(function, *args):
    try:
        function(*args)
    except RuleError as error:
        return error
    return None


def test_split_values_on_any_separator_strips_and_drops_empty_pieces():
    pattern = rules.separator_pattern([",", ";"])
    assert rules.split_values("a@x.com, b@y.com;; c@z.com ;", pattern) == [
        "a@x.com",
        "b@y.com",
        "c@z.com",
    ]


def test_split_values_without_a_separator_returns_the_cell():
    assert rules.split_values("+44 7911 123123", rules.separator_pattern([";"])) == [
        "+44 7911 123123"
    ]


@pytest.mark.parametrize("text", ["4,47701E+11", "4.47701E+11", " 1.234,50 ", "-1.234.567,8"])
def test_split_values_never_cuts_a_cell_that_is_one_number(text):
    assert rules.split_values(text, rules.separator_pattern([",", ".", " "])) == [text.strip()]


@pytest.mark.parametrize(
    ("text", "pieces"),
    [("1,5", ["1", "5"]), ("07700 900123,07700 900456", ["07700 900123", "07700 900456"])],
)
def test_split_values_still_splits_lists_of_numbers(text, pieces):
    assert rules.split_values(text, rules.separator_pattern([","])) == pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("+1 (202) 555-0143, ext 7", ["+1 (202) 555-0143 ext 7"]),
        ("+44 20 7946 0958,Ext. 123", ["+44 20 7946 0958 Ext. 123"]),
        ("0207 946 0958; x45; 07911 123123", ["0207 946 0958 x45", "07911 123123"]),
        ("020 7946 0958 / #12", ["020 7946 0958 #12"]),
        # not after a number: a value of its own, as before
        ("a@x.org, x1", ["a@x.org", "x1"]),
        ("ext 7, +44 20 7946 0958", ["ext 7", "+44 20 7946 0958"]),
    ],
)
def test_split_values_keeps_an_extension_with_its_number(text, pieces):
    assert rules.split_values(text, rules.separator_pattern([",", ";", "/"])) == pieces


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        # Outlook writes "Last, First" names and separates recipients with ";"
        ("Lovelace, Ada <ada@x.org>", ["Lovelace, Ada <ada@x.org>"]),
        (
            "Lovelace, Ada <ada@x.org>; Turing, Alan <alan@y.org>",
            ["Lovelace, Ada <ada@x.org>", "Turing, Alan <alan@y.org>"],
        ),
        # Gmail: "First Last" names separated by ","
        ("Ada L <ada@x.org>, Alan T <alan@y.org>", ["Ada L <ada@x.org>", "Alan T <alan@y.org>"]),
        ('"Doe, Jane" <jane@x.org>;', ['"Doe, Jane" <jane@x.org>']),
        # a bare address before a name is a value of its own, and so is what follows the last
        (
            "b@z.org, Lovelace, Ada <ada@x.org>, c@d.org",
            ["b@z.org", "Lovelace, Ada <ada@x.org>", "c@d.org"],
        ),
        ("x < y, a@b.org", ["x < y", "a@b.org"]),  # no address in brackets: split as always
    ],
)
def test_split_values_keeps_an_address_with_its_name(text, pieces):
    assert rules.split_values(text, rules.separator_pattern([",", ";"])) == pieces


def test_split_values_reads_a_hostile_cell_in_one_pass():
    """A megabyte cell with a "<" and an "@" but no address in brackets: a search for the name
    before each address, tried from every character, took 49 s for 160 KB (quadratic)."""
    pattern = rules.separator_pattern([",", ";"])
    cell = "a" * 1_000_000 + "<x@y, b@z.org"
    assert rules.split_values(cell, pattern) == ["a" * 1_000_000 + "<x@y", "b@z.org"]
    cell = "<x@" * 300_000 + ", b@z.org"
    assert rules.split_values(cell, pattern)[-1] == "b@z.org"


def test_split_values_on_spaces_keeps_a_name_with_its_address():
    pattern = rules.separator_pattern([",", ";", " "])
    assert rules.split_values("Ada Lovelace <ada@x.org> Alan <a@y.org>", pattern) == [
        "Ada Lovelace <ada@x.org>",
        "Alan <a@y.org>",
    ]


def test_separator_pattern_prefers_the_longest_separator():
    pattern = rules.separator_pattern([";", "; "])
    assert pattern.split("a; b") == ["a", "b"]


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Mary Ann  Smith", ("Mary Ann", "Smith")),
        ("Madonna", ("Madonna", "")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Núñez García, José Luis", ("José Luis", "Núñez García")),
        ("  ", ("", "")),
    ],
)
def test_split_full_name(text, expected):
    assert rules.split_full_name(text) == expected


def test_title_case_capitalises_words_and_keeps_the_rest():
    assert rules.title_case("senior VP of iOS at mcDonald's") == "Senior VP Of IOS At McDonald's"
    assert rules.title_case("jean-luc o'brien") == "Jean-Luc O'brien"


# -- translate ----------------------------------------------------------------------------


def test_translation_matches_keys_ignoring_case_and_spaces():
    translate = rules.Translation({" Mobile ": "mobile", "Work": "work"})
    assert translate("MOBILE") == "mobile"
    assert translate("work") == "work"


def test_translation_miss_names_the_accepted_values():
    error = rejected(rules.Translation({"Mobile": "mobile", "Work": "work"}), "Fax")
    assert error.code == Code.INVALID_VALUE
    assert '"Fax" is not one of the accepted values (Mobile, Work)' in error.message


def test_translation_miss_takes_the_default():
    assert rules.Translation({"Mobile": "mobile"}, "other")("Fax") == "other"


# -- e-mail -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane.doe@example.com", "jane.doe@example.com"),
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("Info@Example.com", "Info@example.com"),  # email-validator would lower-case "Info"
        ("zoë@bücher.de", "zoë@bücher.de"),
        ("a@xn--bcher-kva.ch", "a@bücher.ch"),
    ],
)
def test_email_normalises_the_domain_and_keeps_the_local_part(text, expected):
    assert rules.email_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bob@",
        "@example.com",
        "a..b@x.com",
        "a@localhost",
        "a@x.test",
        "a b@x.com",
    ],
)
def test_invalid_email_names_the_reason(text):
    error = rejected(rules.email_address, text)
    assert error.code == Code.INVALID_EMAIL
    assert f'"{text}" is not a valid e-mail address (' in error.message


@pytest.mark.parametrize(
    ("text", "address", "how"),
    [
        ("Jane Doe <jane@example.com>", "jane@example.com", "between < and >"),
        ('"Doe, Jane" <Jane@Example.COM>', "Jane@example.com", "between < and >"),
        ("<jane@example.com>", "jane@example.com", "between < and >"),
        ("Jane Doe < jane@example.com >", "jane@example.com", "between < and >"),
        ("jane@example.com <mailto:jane@example.com>", "jane@example.com", "between < and >"),
        ("mailto:jane@example.com", "jane@example.com", "a mailto: link's address"),
        ("MailTo:jane@example.com", "jane@example.com", "a mailto: link's address"),
    ],
)
def test_an_address_inside_a_name_or_a_link_is_read_with_a_warning(text, address, how):
    read = rules.email_address(text)
    assert isinstance(read, rules.Flagged)
    assert (read.value, read.code) == (address, WarningCode.EMAIL_EXTRACTED)
    assert read.message.startswith(f'"{text}" read as {address} (')
    assert how in read.message


@pytest.mark.parametrize(
    "text",
    [
        "Jane <j@x>",
        "Jane <Bob <b@x.com>>",
        "mailto:",
        "mailto:bob",
        "Jane <j@x.test>",
        "<<a@b.com>>",
        "mailto:mailto:a@b.com",  # unwrapped once, never again
        "mailto:" * 100_000 + "a@b.com",
        "Ada <mailto:mailto:a@b.com>",
    ],
    ids=lambda text: text[:30],
)
def test_a_wrapped_address_that_is_none_is_invalid(text):
    error = rejected(rules.email_address, text)
    assert error.code == Code.INVALID_EMAIL
    assert error.message.startswith(f'"{text}"')
    assert error.message.endswith("correct the address")


def _email_validator_form(text):
    try:
        validated = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    local = validated.local_part
    typed = text.rpartition("@")[0]
    return f"{typed if local == typed.lower() else local}@{validated.domain}"


def test_email_fast_path_agrees_with_email_validator():
    pieces = [*"abcdefABC09._-+'@", "--", "xn--", ".test", ".com", ".COM", ".Org", "ä", " "]
    generator = random.Random(7)
    samples = [
        "".join(generator.choice(pieces) for _ in range(generator.randint(3, 14))) + tail
        for tail in ("", "@example.com", ".org", "@a-b.co", "@x.local")
        for _ in range(600)
    ]
    samples += ["a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com", "a@b.c0m", "a@b.1"]
    samples += ["Jo@Example.COM", "jo@EXAMPLE.com", "jo@x.LOCAL", "jo@X.Test", "jo@x.c-m"]
    for text in samples:
        try:
            ours = rules.email_address(text)
        except RuleError:
            ours = None
        assert ours == _email_validator_form(text), text


# -- phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+44 7911 123456", "GB", "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("(202) 555-0143", "US", "+12025550143"),
        ("+1 202 555 0199", "GB", "+12025550199"),
        ("447911123456", "GB", "+447911123456"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958 ext. 123", "GB", "+442079460958 ext. 123"),
        ("079 123 45 67", "CH", "+41791234567"),
        ("0664 1234567", "AT", "+436641234567"),
        ("0049 1512 3456789", "GB", "+4915123456789"),
    ],
)
def test_phone_to_e164(text, region, expected):
    assert rules.phone_e164(text, region) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        # a German mobile that Excel stored as a number: valid only with its +
        ("4915123456789", "GB", "+4915123456789"),
        ("4915123456789", None, "+4915123456789"),
        # valid as a German number too, but its digits already carry Germany's code
        ("4915123456789", "DE", "+4915123456789"),
        ("447911123456", "FR", "+447911123456"),
        ("41791234567", "AT", "+41791234567"),
    ],
)
def test_digits_that_are_a_valid_number_with_a_plus_are_read_with_it_and_flagged(
    text, region, expected
):
    read = rules.phone_e164(text, region)
    assert isinstance(read, rules.Flagged)
    assert (read.value, read.code) == (expected, WarningCode.PHONE_PLUS_RESTORED)
    assert f'"{text}" read as {expected}' in read.message


def test_digits_valid_for_the_rows_region_are_never_read_as_another_country():
    # +2025550143 would be an Egyptian number; the row says US, where it is valid
    assert rules.phone_e164("2025550143", "US") == "+12025550143"


@pytest.mark.parametrize(
    ("text", "region", "where"),
    [
        ("079 123 45 67", "GB", "in GB"),  # Swiss, in a row read for the UK
        ("0664 1234567", "GB", "in GB"),  # Austrian
        ("07911 123456", "FR", "in FR"),  # a UK mobile in a row whose country is France
        ("+44 7700 900123", "GB", "for country code +44"),  # Ofcom's range for drama
        ("+49 1234", None, "for country code +49"),
    ],
)
def test_a_number_not_valid_where_the_row_says_is_never_rewritten(text, region, where):
    error = rejected(rules.phone_e164, text, region)
    assert (error.code, error.keepable) == (Code.INVALID_PHONE, True)
    assert where in error.message


def test_phone_without_country_code_and_region_says_how_to_fix():
    error = rejected(rules.phone_e164, "07911 123456", None)
    assert (error.code, error.keepable) == (Code.INVALID_PHONE, True)
    assert "set phone: {region: XX} in the mapping" in error.message


def test_phone_with_an_unknown_country_names_the_country():
    error = rejected(rules.phone_e164, "07911 123456", None, "Atlantis")
    assert 'the country "Atlantis" is not one the importer knows' in error.message


def test_the_rows_country_is_named_in_the_message():
    error = rejected(rules.phone_e164, "07911 123456", "FR", "France")
    assert 'in FR (the row\'s country "France")' in error.message


@pytest.mark.parametrize(
    ("text", "problem"),
    [("123", "too short"), ("12345", "missing its area code"), ("+44 7911 123456 456", "too long")],
)
def test_impossible_phone_is_invalid(text, problem):
    error = rejected(rules.phone_e164, text, "GB")
    assert error.code == Code.INVALID_PHONE
    assert problem in error.message


def test_an_unreadable_phone_repeated_down_the_column_is_parsed_once_and_refused_each_time():
    first = rejected(rules.phone_e164, "12", "SE", "Sweden")
    hits = rules.phone._remembered.cache_info().hits
    again = rejected(rules.phone_e164, "12", "SE", "Sweden")
    assert rules.phone._remembered.cache_info().hits == hits + 1
    assert again is not first
    assert (again.code, again.message, again.keepable) == (
        first.code,
        first.message,
        first.keepable,
    )
    assert _slow("12", "SE", "Sweden") == (first.code, first.message, first.keepable)


@pytest.mark.parametrize("text", ["not a phone", "ask the recruiter", "-"])
def test_text_without_digits_is_not_a_phone_and_cannot_be_kept(text):
    error = rejected(rules.phone_e164, text, "GB")
    assert (error.code, error.keepable) == (Code.INVALID_PHONE, False)


@pytest.mark.parametrize("text", ["4.47701E+11", "447911123123.0"])
def test_phone_mangled_by_excel_is_precision_lost(text):
    error = rejected(rules.phone_e164, text, "GB")
    assert (error.code, error.keepable) == (Code.PRECISION_LOST, False)


def _answer(read, *args):
    """What a reading gives: the value, or the error's code, message and keepability."""
    try:
        return read(*args)
    except RuleError as error:
        return (error.code, error.message, error.keepable)


def _slow(text, region, country=None):
    return _answer(rules.phone._read, text, region, country)


def _random_phone(generator, codes):
    grouping = ["", "", "", " ", "-", ".", "(", ") "]
    start = generator.choice(["+" + generator.choice(codes), "0", "00", ""])
    digits = "".join(generator.choice(string.digits) for _ in range(generator.randint(5, 14)))
    return "".join(c + generator.choice(grouping) for c in start + digits).strip()


def test_phone_fast_path_agrees_with_the_slow_path():
    generator = random.Random(11)
    regions = [*sorted(phonenumbers.SUPPORTED_REGIONS), None]
    codes = [str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE]
    checked = taken = 0
    while checked < 4000:
        text = _random_phone(generator, codes)
        if re.fullmatch(r"\+?\d+\.0+", text):
            continue  # a float artefact, refused before parsing (test above)
        region = generator.choice(regions)
        country = generator.choice([None, "Somewhere"])
        fast = _answer(rules.phone._plain_e164, text, region, country)
        slow = _slow(text, region, country)
        if fast is not None:
            assert fast == slow, (text, region)
            taken += 1
        assert _answer(rules.phone_e164, text, region, country) == slow, (text, region)
        checked += 1
    assert taken > 400


def test_phone_validity_is_phonenumbers_is_valid_number():
    generator = random.Random(17)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    numbers = []
    for code in codes:
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
            for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
                example = phonenumbers.example_number_for_type(region, kind)
                if example is not None:
                    numbers.append(example)
                    # Its region's leading digits with other endings: of the regions sharing
                    # a code, the one _valid must pick, or none of them.
                    head = str(example.national_number)[:-4]
                    for _ in range(3):
                        tail = "".join(generator.choice(string.digits) for _ in range(4))
                        numbers.append(
                            phonenumbers.PhoneNumber(
                                country_code=code, national_number=int(head + tail)
                            )
                        )
        for _ in range(12):
            national = "".join(
                generator.choice(string.digits) for _ in range(generator.randint(4, 13))
            )
            numbers.append(
                phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            )
    valid = 0
    for number in numbers:
        national = phonenumbers.national_significant_number(number)
        expected = phonenumbers.is_valid_number(number)
        assert rules.phone._valid(number.country_code, national) == expected, number
        valid += expected
    assert 0.2 * len(numbers) < valid < 0.9 * len(numbers)


def _national_numbers(region):
    """Each example number of a region as written at home: national prefix and all."""
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            yield example, national


def test_phone_plans_strip_and_measure_as_phonenumbers_does():
    generator = random.Random(13)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = PhoneMetadata.metadata_for_region(region)
        plan = rules.phone._Plan(metadata)
        numbers = ["", "0", "00"]
        numbers += [re.sub(r"\D", "", national) for _, national in _national_numbers(region)]
        prefix = metadata.national_prefix_for_parsing or ""
        for _ in range(60):
            lead = generator.choice(["", "0", "1", "8", "9", "15", re.sub(r"\D", "", prefix)[:3]])
            tail = "".join(generator.choice(string.digits) for _ in range(generator.randint(0, 18)))
            numbers.append(lead + tail)
        for number in numbers:
            _, stripped, _ = _maybe_strip_national_prefix_carrier_code(number, metadata)
            assert plan.strip(number) == stripped, (region, number)
            assert plan.length(number) == _test_number_length(number, metadata), (region, number)


def test_phone_fast_path_takes_every_regions_usual_forms_and_agrees_with_phonenumbers():
    taken = tried = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for example, national in _national_numbers(region):
            international = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            forms = ((national, region), (international, "GB"), (international, None))
            for text, parse_as in forms:
                ours = rules.phone_e164(text, parse_as)
                assert ours == _slow(text, parse_as), (text, parse_as)
                tried += 1
                taken += rules.phone._plain_e164(text, parse_as) is not None
    assert taken > 0.9 * tried


@pytest.mark.parametrize(
    ("cell", "region"),
    [
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("GBR", "GB"),
        ("england", "GB"),
        ("Germany", "DE"),
        ("Deutschland", "DE"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("SVIZZERA", "CH"),
        ("Österreich", "AT"),
        ("Osterreich", "AT"),
        ("España", "ES"),
        ("Sverige", "SE"),
        ("Italia", "IT"),
        ("Nederland", "NL"),
        ("Polska", "PL"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("Côte d’Ivoire", "CI"),
        ("NA", "NA"),  # Namibia
        (" France ", "FR"),
    ],
)
def test_country_cells_in_the_languages_people_write_them(cell, region):
    assert rules.region_of_country(cell) == region


@pytest.mark.parametrize("cell", ["Atlantis", "Kongo", "", "Europe", "EU?"])
def test_a_country_that_is_not_one_or_is_ambiguous_is_unknown(cell):
    assert rules.region_of_country(cell) is None


# -- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "formats", "serial", "expected"),
    [
        ("2024-03-01", (), False, "2024-03-01T00:00:00.000Z"),
        ("2024-03-01T10:20:30.5+01:00", (), False, "2024-03-01T09:20:30.500Z"),
        ("2024-03-01T10:20Z", (), False, "2024-03-01T10:20:00.000Z"),
        ("01/03/2024", rules.DAY_FIRST_FORMATS, False, "2024-03-01T00:00:00.000Z"),
        ("01/03/2024", rules.MONTH_FIRST_FORMATS, False, "2024-01-03T00:00:00.000Z"),
        ("1.3.24 14:30", rules.DAY_FIRST_FORMATS, False, "2024-03-01T14:30:00.000Z"),
        ("March 1, 2024", ("%B %d, %Y",), False, "2024-03-01T00:00:00.000Z"),
        ("45292", (), True, "2024-01-01T00:00:00.000Z"),
        ("45292.75", (), True, "2024-01-01T18:00:00.000Z"),
        ("10000", (), True, "1927-05-18T00:00:00.000Z"),  # the first serial read
        ("99999", (), True, "2173-10-13T00:00:00.000Z"),  # the last
        ("20240301", (), True, "2024-03-01T00:00:00.000Z"),  # too big for a serial: ISO basic
    ],
)
def test_date_time(text, formats, serial, expected):
    assert rules.date_time(text, formats, serial) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/03/00", "2000-03-01"),
        ("01/03/29", "2029-03-01"),  # Excel and strptime agree up to 29...
        ("01/03/69", "1969-03-01"),  # ...and from 69
        ("01/03/99", "1999-03-01"),
        ("1-Mar-85", "1985-03-01"),
    ],
)
def test_a_two_digit_year_is_read_where_excel_and_other_programs_agree(text, expected):
    assert rules.date_time(text, rules.DAY_FIRST_FORMATS) == f"{expected}T00:00:00.000Z"


@pytest.mark.parametrize("text", ["01/03/30", "01/03/68", "1.3.45 14:30", "1-Mar-50"])
def test_a_two_digit_year_excel_and_other_programs_put_in_other_centuries_is_refused(text):
    """Excel reads 30 as 1930, strptime (and with it most programs) as 2030: either is a guess."""
    with pytest.raises(rules.RuleError) as refused:
        rules.date_time(text, rules.DAY_FIRST_FORMATS)
    assert refused.value.code == Code.INVALID_DATE
    year = re.findall(r"\d\d(?= |$)", text)[0]
    assert f"Excel reads as 19{year} and other programs as 20{year}" in refused.value.message
    assert refused.value.message.endswith("write the year in full")


@pytest.mark.parametrize(
    "text",
    ["1 March 2024", "1 mar 2024", "March 1, 2024", "Mar 1 2024", "01-Mar-2024", "1-Mar-24"],
)
def test_a_date_with_the_months_name_is_read_without_formats(text):
    """The month's name says which number is the day, so no mapping has to ask for it."""
    assert rules.date_time(text) == "2024-03-01T00:00:00.000Z"
    # after the mapping's own formats, which may read the same text another way
    assert rules.date_time("01-Mar-24", ("%y-%b-%d",)) == "2001-03-24T00:00:00.000Z"


@pytest.mark.parametrize(
    "text",
    ["2024/03/01", "2024.03.01", "2024.03.01.", "2024. 03. 01.", "2024/3/1"],
)
def test_a_date_with_the_year_first_is_read_without_formats(text):
    """Japanese, Chinese, Korean and Hungarian exports: a four-digit year first, then the month."""
    assert rules.date_time(text) == "2024-03-01T00:00:00.000Z"
    assert rules.date_time(text, rules.MONTH_FIRST_FORMATS) == "2024-03-01T00:00:00.000Z"
    assert rules.date_time(text + " 09:30") == "2024-03-01T09:30:00.000Z"


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        # a date-time cell saved as text by an English-language Excel or ATS
        ("3/1/2024 12:00:00 AM", rules.MONTH_FIRST_FORMATS, "2024-03-01T00:00:00.000Z"),
        ("3/1/2024 1:05 PM", rules.MONTH_FIRST_FORMATS, "2024-03-01T13:05:00.000Z"),
        ("01/03/2024 12:30:15 pm", rules.DAY_FIRST_FORMATS, "2024-03-01T12:30:15.000Z"),
        ("Mar 1, 2024 9:30 AM", (), "2024-03-01T09:30:00.000Z"),
        ("2024/03/01 11:59:59 PM", (), "2024-03-01T23:59:59.000Z"),
    ],
)
def test_a_time_of_day_with_am_or_pm_is_read(text, formats, expected):
    assert rules.date_time(text, formats) == expected


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        # how Ruby on Rails writes a time as text, and the ATS exports built on it
        ("2024-03-01 14:32:11 UTC", (), "2024-03-01T14:32:11.000Z"),
        ("2024-03-01 14:32:11 utc", (), "2024-03-01T14:32:11.000Z"),
        ("2024-03-01 GMT", (), "2024-03-01T00:00:00.000Z"),
        ("01/03/2024 09:30 UTC", rules.DAY_FIRST_FORMATS, "2024-03-01T09:30:00.000Z"),
    ],
)
def test_a_date_with_its_time_zone_named_utc_is_read(text, formats, expected):
    """It turned the candidate away as invalid-date under the shipped mappings."""
    assert rules.date_time(text, formats) == expected


def test_a_time_zone_name_after_no_date_is_refused_as_typed():
    error = rejected(rules.date_time, "next week UTC", rules.DAY_FIRST_FORMATS)
    assert error.message.startswith('"next week UTC" is not a valid date')


def test_a_time_that_is_no_time_is_still_refused():
    with pytest.raises(rules.RuleError):
        rules.date_time("3/1/2024 13:00 PM", rules.MONTH_FIRST_FORMATS)


@pytest.mark.parametrize(
    ("text", "formats", "reads", "fix"),
    [
        ("12/31/2023", rules.DAY_FIRST_FORMATS, "2023-12-31 with the month first", "false"),
        ("31/12/2023", rules.MONTH_FIRST_FORMATS, "2023-12-31 with the day first", "true"),
    ],
)
def test_a_date_that_reads_only_the_other_way_round_says_how_to_read_the_file(
    text, formats, reads, fix
):
    # refused, not read: the file's dates that read both ways were read the mapping's way
    error = rejected(rules.date_time, text, formats)
    assert f"but reads as {reads}: " in error.message
    assert f"set date: {{day_first: {fix}}} in the mapping" in error.message


@pytest.mark.parametrize(
    ("text", "formats", "serial"),
    [
        ("31 Feb 2024", (), False),
        ("Mar 2024", (), False),  # no day
        ("31/02/2024", rules.DAY_FIRST_FORMATS, False),
        ("01/03/2024", (), False),  # ambiguous without day_first or formats
        ("45292", (), False),  # serials only when asked
        ("60", (), True),  # 1900-02-29 never existed; and no serial has fewer than 5 digits
        ("next Tuesday", (), True),
    ],
)
def test_invalid_date_names_accepted_forms(text, formats, serial):
    error = rejected(rules.date_time, text, formats, serial)
    assert error.code == Code.INVALID_DATE
    assert f'"{text}" is not a valid date in an accepted form (2024-03-31' in error.message
    assert ("an Excel serial number" in error.message) == serial


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("2024", "2024 is a year alone (as an Excel serial date it would be 1905-07-16)"),
        ("1", "a number is read as an Excel serial date only with five digits"),
        ("0", "a number is read as an Excel serial date only with five digits"),
        ("240301", "a number is read as an Excel serial date only with five digits"),
    ],
)
def test_a_number_that_is_no_excel_serial_date_of_these_times_is_refused(text, said):
    """A year typed alone, a lookup's 0 or 1, six digits: Excel would show 1905-07-16,
    1900-01-01, 2557-..., dates no one meant; they used to be sent."""
    error = rejected(rules.date_time, text, rules.DAY_FIRST_FORMATS, True)
    assert error.code == Code.INVALID_DATE
    assert f"an Excel serial number): {said}" in error.message
    # without excel_serial, a number is no date and nothing is said of serials
    assert "serial" not in rejected(rules.date_time, text, (), False).message


def test_date_converter_remembers_answers_and_rejects():
    convert = rules.date_converter(rules.DAY_FIRST_FORMATS, True)
    for text in ["01/03/2024", "31/02/2024", "45292", "soon"] * 3:
        expected = _error_of(rules.date_time, text, rules.DAY_FIRST_FORMATS, True)
        if expected is None:
            assert convert(text) == rules.date_time(text, rules.DAY_FIRST_FORMATS, True)
        else:
            error = rejected(convert, text)
            assert (error.code, error.message) == (expected.code, expected.message)


def _strptime_every_format(text, formats):
    for form in formats:
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    return None


def test_formats_skipped_for_a_missing_mark_could_not_have_read_the_text():
    formats = (
        *rules.DAY_FIRST_FORMATS,
        *rules.MONTH_FIRST_FORMATS,
        "%Y%m%d",
        "%d %B %Y",
        "%B %d, %Y",
        "%d.%m.%YT%H",
        "%Y/%j",
        "%d%%%m%%%Y",
        "%d (%m) %Y",
    )
    pieces = [*"0123/-.:, %()tT", "2024", "03", "31", "March", "mar", "\t"]
    generator = random.Random(17)
    texts = [
        "".join(generator.choice(pieces) for _ in range(generator.randint(1, 9)))
        for _ in range(3000)
    ]
    texts += ["1/3/2024", "01-03-24 10:20", "20240301", "1 March 2024", "MARCH 1, 2024"]
    texts += ["01.03.2024t10", "2024/061", "01%03%2024", "01 (03) 2024", "1\t/3/2024"]
    for text in texts:
        for form in formats:
            assert rules.dates._strptime_any(text, (form,)) == _strptime_every_format(text, (form,))


# -- links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://www.linkedin.com/in/jane", "https://www.linkedin.com/in/jane"),
        ("linkedin.com/in/jane", "https://linkedin.com/in/jane"),
        ("HTTP://Example.org:8080/a?b=c#d", "HTTP://Example.org:8080/a?b=c#d"),
        ("bücher.de", "https://bücher.de"),
    ],
)
def test_web_address(text, expected):
    assert rules.web_address(text) == expected


@pytest.mark.parametrize(
    "text", ["janedoe", "not a url", "ftp://x.com/file", "https://", "https://x.com/a b"]
)
def test_invalid_web_address(text):
    error = rejected(rules.web_address, text)
    assert error.code == Code.INVALID_URL
    assert f'"{text}" is not a web address' in error.message


def test_usual_web_addresses_are_ones_the_full_pattern_accepts_with_their_scheme():
    # mostly the usual pieces, so that most addresses are usual but some pieces are not
    schemes = ["http://", "https://"] * 4 + ["HTTPS://", "ftp://", "", "https:/"]
    labels = ["www", "a", "ab-c", "x0", "9"] * 4 + ["a--b", "-a", "a-", "", "é", "A", "a_b", "@"]
    tlds = ["com", "io", "x", "co-uk"] * 4 + ["c0m", "", "C", "0", "dev-"]
    paths = ["", "/", "/in/a.b-0", "/?q", "/é"] * 2 + ["/a b", ":80/", "?q=1", "#x", "/\t"]
    generator = random.Random(19)
    usual = 0
    for _ in range(20000):
        host = ".".join(generator.choice(labels) for _ in range(generator.randint(0, 3)))
        text = f"{generator.choice(schemes)}{host}.{generator.choice(tlds)}"
        text += generator.choice(paths)
        if rules.links._USUAL_URL.fullmatch(text):
            usual += 1
            match = rules.links._URL.fullmatch(text)
            assert match is not None, text
            assert match.group(1), text
    assert usual > 1000


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.linkedin.com/in/jane", "linkedin"),
        ("https://uk.linkedin.com/in/jane", "linkedin"),
        ("https://GitHub.com/jane", "github"),
        ("https://x.com/jane", "twitter"),
        ("https://jane.example.com", "website"),
        ("https://example.org/?next=github.com", "website"),
    ],
)
def test_link_type_from_domain(url, expected):
    assert rules.link_type(url) == expected


def test_link_type_table_can_be_extended():
    assert rules.link_type("https://bsky.app/jane", {"bsky.app": "bluesky"}) == "bluesky"


# -- number and boolean ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"), [("12", 12), ("007", 7), ("-3.5", -3.5), ("1e3", 1000.0), (".5", 0.5)]
)
def test_number(text, expected):
    value = rules.number(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text", ["five", "1,000", "1e999", "nan", "12 years"])
def test_invalid_number(text):
    assert rejected(rules.number, text).code == Code.INVALID_VALUE


@pytest.mark.parametrize(
    ("text", "expected"), [("Yes", True), ("TRUE", True), ("1", True), ("n", False), ("0", False)]
)
def test_boolean(text, expected):
    assert rules.boolean(text) is expected


def test_invalid_boolean_lists_the_accepted_words():
    error = rejected(rules.boolean, "maybe")
    assert error.code == Code.INVALID_VALUE
    assert "true, false, yes, no, 1, 0" in error.message
