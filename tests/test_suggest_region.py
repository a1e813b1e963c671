"""suggest-mapping's default region: told from the sample's national numbers when no country
column gives one, said in a comment, and left out when the sample does not point to one country."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import pytest

from importer.rules.phone import national_e164, phone_e164
from importer.suggest import regions, suggest_for_file, suggest_mapping
from importer.suggest.regions import guess_region
from tests.sandboxed import import_file

# National numbers as people in each country write them: trunk prefix, usual groups.
NATIONAL = {
    "GB": [
        "07400 123456",
        "07824 123456",
        "020 7123 4567",
        "0161 496 0123",
        "0113 496 0000",
        "07700 123456",
        "07557 123456",
        "0131 496 0600",
    ],
    "DE": [
        "030 12345678",
        "0151 23456789",
        "089 1234567",
        "0170 1234567",
        "040 23456789",
        "0221 1234567",
        "0160 9876543",
        "069 12345678",
    ],
    "FR": [
        "06 12 34 56 78",
        "01 42 68 53 00",
        "07 81 23 45 67",
        "04 72 10 30 30",
        "06 98 76 54 32",
        "05 56 00 66 00",
        "03 88 15 15 15",
        "02 40 41 90 00",
    ],
    "US": [
        "(212) 555-2368",
        "(415) 555-0132",
        "(312) 555-0175",
        "(617) 555-0143",
        "(206) 555-0100",
        "(305) 555-0199",
        "(702) 555-0123",
        "(646) 555-0187",
    ],
    # Swiss mobiles are also Swedish numbers as typed; the landlines tell them apart.
    "CH": [
        "079 123 45 67",
        "078 234 56 78",
        "044 668 18 00",
        "031 322 21 11",
        "022 418 20 00",
        "061 267 11 11",
        "076 345 67 89",
        "041 228 51 11",
    ],
    "AT": [
        "0664 1234567",
        "0676 2345678",
        "0699 12345678",
        "01 5322300",
        "0316 8720",
        "0512 53600",
        "0650 1234567",
        "0732 7720",
    ],
}
INTERNATIONAL = ["+44 7400 123999", "+49 30 98765432"]


def comments(text: str) -> str:
    """The YAML's comment lines as one line of text, for phrases wrapped across lines."""
    lines = (line.strip() for line in text.splitlines())
    return " ".join(line.removeprefix("# ") for line in lines if line.startswith("#"))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def people(phones: list[str]) -> list[list[str]]:
    return [[f"Person {i}", f"p{i}@example.com", phone] for i, phone in enumerate(phones)]


def test_the_sample_numbers_are_valid_where_the_tests_say() -> None:
    for region, numbers in NATIONAL.items():
        for text in numbers:
            number = phonenumbers.parse(text, region)
            assert phonenumbers.is_valid_number_for_region(number, region), (region, text)


@pytest.mark.parametrize("region", sorted(NATIONAL))
def test_national_numbers_with_no_country_column_give_the_region(
    tmp_path: Path, region: str
) -> None:
    phones = NATIONAL[region] + INTERNATIONAL
    source = write_csv(tmp_path / "people.csv", ["Name", "Email", "Phone"], people(phones))
    suggestion = suggest_for_file(source)
    assert suggestion.phone_region is not None
    assert suggestion.phone_region.region == region
    assert f"; numbers without + read as {region} numbers (the sample's)" in suggestion.describe()
    text = suggestion.to_yaml()
    assert f"phone: {{region: {region}}}, on_invalid: keep}}" in text
    assert (
        f"numbers without + (the file has no country column) are read as {region} numbers: "
        f"8 of the 8 national numbers in the sample are valid there and written as {region} "
        "writes them (next: "
    ) in comments(text)

    mapping = tmp_path / "people.yaml"
    mapping.write_text(text, encoding="utf-8")
    imported = import_file(source, tmp_path / "out", mapping)
    assert imported.summary.counts.created == len(phones)
    assert imported.summary.counts.warned == 0
    code = phonenumbers.country_code_for_region(region)
    for row, typed in enumerate(phones, start=2):
        (sent,) = imported.body(row)["phone_numbers"]
        region_of_row = None if typed.startswith("+") else region
        expected = phonenumbers.parse(typed, region_of_row)
        assert sent["phone"] == phonenumbers.format_number(expected, 0)  # E.164
        if region_of_row is not None:
            assert sent["phone"].startswith(f"+{code}")


def test_a_sample_of_two_countries_is_ambiguous_and_numbers_are_kept_as_typed(
    tmp_path: Path,
) -> None:
    phones = NATIONAL["GB"][:4] + NATIONAL["FR"][:4]
    source = write_csv(tmp_path / "mixed.csv", ["Name", "Email", "Phone"], people(phones))
    suggestion = suggest_for_file(source)
    assert suggestion.phone_region is not None
    assert suggestion.phone_region.region is None
    text = suggestion.to_yaml()
    assert "region:" not in text.replace("region: XX", "")
    assert (
        "numbers without + and a country code (the file has no country column) are sent as "
        "typed, with a warning (the sample does not point to one country: "
    ) in comments(text)
    mapping = tmp_path / "mixed.yaml"
    mapping.write_text(text, encoding="utf-8")
    imported = import_file(source, tmp_path / "out", mapping)
    counts = imported.summary.counts
    assert (counts.created, counts.rejected) == (8, 0)
    assert dict(counts.by_warning) == {"kept-as-typed": 8}
    assert [imported.body(row)["phone_numbers"][0]["phone"] for row in range(2, 10)] == phones


@pytest.mark.parametrize(
    ("numbers", "described"),
    [
        # every Swiss mobile is also a Swedish number written the Swedish way
        (
            ["079 123 45 67", "078 234 56 78", "076 345 67 89", "079 987 65 43"],
            "the sample does not point to one country: 4 of the 4 national numbers fit CH; "
            "4 fit SE, counting digits that do once a leading 0 is put back",
        ),
        # digits typed in one block: 0 and ten digits is a British and an Indian number
        (
            ["07400123456", "07824123456", "02071234567", "07700123456"],
            "the sample does not point to one country: 4 of the 4 national numbers fit GB; "
            "4 fit IN, counting digits that do once a leading 0 is put back",
        ),
        (INTERNATIONAL, "the numbers in the sample carry + and their country code"),
        (["12", "n/a", "call me"], "no number in the sample is a valid national number"),
    ],
)
def test_samples_that_point_to_no_country_give_no_region(
    numbers: list[str], described: str
) -> None:
    guess = guess_region(numbers)
    assert guess.region is None
    assert guess.describe().startswith(described)
    suggestion = suggest_mapping(["Name", "Phone"], [["A", n] for n in numbers])
    assert "phone" not in suggestion.to_mapping_dict()["fields"]["phone_numbers"][0]


@pytest.mark.parametrize(
    ("fits", "region"),
    [
        ({"a": ("GB",), "b": ("GB",), "c": ("GB", "FR"), "d": ("FR",)}, "GB"),  # 3 to 2
        ({"a": ("GB",), "b": ("GB", "FR"), "c": ("GB", "FR"), "d": ("FR",)}, None),  # 3 to 3
        ({"a": ("GB",), "b": ("GB", "FR"), "c": ("GB", "FR"), "d": ("GB", "FR")}, None),  # 4 to 3
        ({"a": ("GB",), "b": ("GB",), "c": ("GB",), "d": ("GB", "FR"), "e": ("FR",)}, "GB"),
        ({"a": ("GB",), "b": ("GB",), "c": ("FR",), "d": ("DE",), "e": ("IT",)}, None),
        ({"a": ("GB",), "b": ("GB",), "c": ("FR",), "d": ("DE",)}, None),  # 2 of 4: no majority
        ({"a": ("GB",), "b": ("GB",), "c": ("FR",), "d": ()}, "GB"),  # d fits nowhere: no say
        ({"a": ("GB", "JE"), "b": ("JE",), "c": ("JE",)}, "JE"),  # one code: the most named
    ],
)
def test_the_region_fits_a_majority_and_no_other_fits_three_quarters_as_many(
    monkeypatch: pytest.MonkeyPatch, fits: dict[str, tuple[str, ...]], region: str | None
) -> None:
    monkeypatch.setattr(regions, "_readings", lambda text: (fits[text], ()))
    assert guess_region(list(fits)).region == region


def test_a_number_that_may_have_lost_its_trunk_prefix_is_evidence_for_neither(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "7400123456": a Luxembourg number as typed, or a British one whose 0 Excel dropped
    readings = {"a": (("LU",), ("GB",)), "b": (("LU",), ("GB",)), "c": (("LU",), ("GB",))}
    monkeypatch.setattr(regions, "_readings", readings.__getitem__)
    guess = guess_region(list(readings))
    assert (guess.region, guess.ranked) == (None, (("LU", 3), ("GB", 3)))
    monkeypatch.undo()
    excel = ["7400122460", "7400124711", "7400120017", "7400129003"]
    assert guess_region(excel).region is None


def test_a_country_column_leaves_the_region_to_rows_that_give_none(tmp_path: Path) -> None:
    rows = [
        ["Ann", "ann@example.com", "France", NATIONAL["FR"][0]],
        *([f"P{i}", f"p{i}@example.com", "", phone] for i, phone in enumerate(NATIONAL["DE"])),
        ["Bo", "bo@example.com", "Schweiz", NATIONAL["CH"][2]],
    ]
    header = ["Name", "Email", "Country", "Phone"]
    source = write_csv(tmp_path / "partly.csv", header, rows)
    text = suggest_for_file(source).to_yaml()
    assert "phone: {region: DE, region_column: [Country]}" in text
    assert "numbers without + in rows with no country are read as DE numbers: 8 of the 8" in (
        comments(text)
    )
    mapping = tmp_path / "partly.yaml"
    mapping.write_text(text, encoding="utf-8")
    imported = import_file(source, tmp_path / "out", mapping)
    sent = [imported.body(row)["phone_numbers"][0]["phone"] for row in range(2, 12)]
    assert [phone[:3] for phone in sent] == ["+33", *["+49"] * 8, "+41"]


def test_a_country_in_every_row_needs_no_region() -> None:
    rows = [["Ann", "France", "06 12 34 56 78"], ["Bo", "UK", "07400 123456"]]
    suggestion = suggest_mapping(["Name", "Country", "Phone"], rows)
    assert suggestion.phone_region is None
    assert suggestion.to_mapping_dict()["fields"]["phone_numbers"][0]["phone"] == {
        "region_column": ["Country"]
    }
    assert "numbers without + and a country code are read for the row's country" in comments(
        suggestion.to_yaml()
    )


def test_a_column_chosen_as_phone_or_country_is_told_from_the_sample_again() -> None:
    rows = [[f"P{i}", phone, ""] for i, phone in enumerate(NATIONAL["AT"])]
    suggestion = suggest_mapping(["Name", "Tel privat", "Herkunft"], rows)
    assert suggestion.phone_region is None  # "Tel privat" matches no alias: a custom field
    chosen = suggestion.choose("Tel privat", "phone_numbers")
    assert chosen.phone_region is not None
    assert chosen.phone_region.region == "AT"
    # an empty country column leaves every row to the region
    with_country = chosen.choose("Herkunft", "country")
    assert with_country.phone_region == chosen.phone_region
    assert with_country.choose("Tel privat", None).phone_region is None


def test_a_national_reading_is_what_the_phone_rule_sends() -> None:
    for region, numbers in NATIONAL.items():
        for text in numbers:
            assert national_e164(text, region) == phone_e164(text, region)
    # written with + or an international prefix, with the country code, or invalid: not national
    for text in ["+44 7400 123456", "0044 7400 123456", "447400123456", "07400 12345", "Tel"]:
        assert national_e164(text, "GB") is None
