"""Each shipped mapping imports its sample into the sandbox: the right rows created, the rest
rejected for a reason that names the row, the column and the value; multi-value cells split."""

import pytest

from importer.errors import WarningCode
from importer.mapping import load_mapping, normalise_header
from importer.mapping.shipped import shipped_mappings
from importer.suggest import LAYOUTS, Layout
from tests.sandboxed import MAPPINGS, SAMPLES, Imported, import_file

CREATED = ("created", "")

# sample, mapping, rows (from 2), the rows that are not created: row → (status, code)
EXPECTED = [
    ("greenhouse.csv", "greenhouse.yaml", 6, {}),
    ("lever.csv", "lever.yaml", 6, {4: ("rejected", "invalid-email")}),
    ("lever_migration.csv", "lever.yaml", 5, {4: ("rejected", "missing-name")}),
    ("recruitee.csv", "recruitee.yaml", 5, {}),
    ("smartrecruiters.csv", "smartrecruiters.yaml", 6, {5: ("rejected", "duplicate-in-file")}),
    ("workable.csv", "workable.yaml", 5, {4: ("rejected", "missing-name")}),
    ("personio.csv", "personio.yaml", 5, {4: ("rejected", "invalid-email")}),
    ("peopleforce.csv", "peopleforce.yaml", 5, {}),
    (
        "candidates.xlsx",
        "default.yaml",
        14,
        {
            4: ("rejected", "invalid-email"),
            6: ("skipped", "blank-row"),
            7: ("rejected", "invalid-date"),
            8: ("rejected", "duplicate-in-file"),
        },
    ),
]
# For the rejects that come from a cell: row → (column, value as typed)
CELLS = {
    "lever.csv": {4: ("Email", "sam.okafor@example")},
    "personio.csv": {4: ("Email address", "luca.bianchi@example")},
    "candidates.xlsx": {
        4: ("Email", "alan.turing@example"),
        7: ("Hired On", "next Tuesday"),
    },
}
# Rows created without a phone Excel had already destroyed: row → (column, value as typed)
DROPPED = {
    "recruitee.csv": {4: ("Phones", "2.21771E+11")},
    "candidates.xlsx": {12: ("Mobile", "8.18012E+11")},
}
# Rows created with a number sent as typed: row → (column, value as typed)
KEPT = {
    "greenhouse.csv": {5: ("Phone", "(415) 555-0199")},  # no + and no country
    "peopleforce.csv": {5: ("phone_numbers", "+380 44 123")},  # too short for Ukraine
}


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Imported]:
    """Every sample imported once through its mapping, shared by the tests below."""
    out = tmp_path_factory.mktemp("legacy")
    return {
        sample: import_file(SAMPLES / sample, out / sample, MAPPINGS / mapping)
        for sample, mapping, _, _ in EXPECTED
    }


@pytest.mark.parametrize(("sample", "mapping", "rows", "others"), EXPECTED)
def test_each_sample_imports_with_the_expected_outcome_per_row(
    imported: dict[str, Imported],
    sample: str,
    mapping: str,
    rows: int,
    others: dict[int, tuple[str, str]],
) -> None:
    result = imported[sample]
    expected = {number: others.get(number, CREATED) for number in range(2, rows + 2)}
    assert result.outcomes() == expected
    created = [number for number, outcome in expected.items() if outcome == CREATED]
    assert sorted(result.bodies) == sorted(result.result(n)["id"] for n in created)
    assert result.summary.exit_code == (1 if others else 0)
    rejected = {int(r["error_row"]) for r in result.rejects}
    assert rejected == {n for n, (status, _) in others.items() if status == "rejected"}


@pytest.mark.parametrize("sample", sorted(CELLS))
def test_rejects_name_the_column_and_the_value(imported: dict[str, Imported], sample: str) -> None:
    for row, (column, value) in CELLS[sample].items():
        message = imported[sample].message(row)
        assert f'column "{column}"' in message
        assert f'"{value}"' in message


@pytest.mark.parametrize("sample", sorted(KEPT))
def test_numbers_that_cannot_be_read_are_sent_as_typed_with_a_warning(
    imported: dict[str, Imported], sample: str
) -> None:
    result = imported[sample]
    for row, (column, value) in KEPT[sample].items():
        assert {"phone": value} in result.body(row)["phone_numbers"]
        warnings = result.result(row)["warnings"]
        assert warnings.startswith(f'kept-as-typed: column "{column}": "{value}"')
        assert warnings.endswith("; sent as typed")
    assert result.summary.counts.by_warning[WarningCode.KEPT_AS_TYPED] == len(KEPT[sample])


@pytest.mark.parametrize("sample", sorted(DROPPED))
def test_numbers_whose_digits_excel_destroyed_are_left_out_with_a_warning(
    imported: dict[str, Imported], sample: str
) -> None:
    result = imported[sample]
    for row, (column, value) in DROPPED[sample].items():
        assert value not in str(result.body(row))
        warnings = result.result(row)["warnings"]
        assert f'value-dropped: column "{column}": "{value}" is a number that Excel' in warnings
        assert warnings.endswith("; left out")


def test_greenhouse_multi_value_cells(imported: dict[str, Imported]) -> None:
    body = imported["greenhouse.csv"].body(3)
    assert body["email"] == "tomas.herrera@example.com"
    # the request takes one e-mail: the second is named in a warning, not dropped unseen
    warnings = imported["greenhouse.csv"].result(3)["warnings"]
    assert warnings.startswith('extra-values-dropped: column "Email"')
    assert '"t.herrera@example.org" not' in warnings
    assert body["phone_numbers"] == [{"phone": "+34612345678"}, {"phone": "+34912345678"}]
    assert body["social_links"] == [
        {"url": "https://github.com/therrera", "type": "github"},
        {"url": "https://www.linkedin.com/in/tomasherrera", "type": "linkedin"},
    ]
    assert imported["greenhouse.csv"].body(7)["email"] == "wei.zhang@example.com"
    assert imported["greenhouse.csv"].body(7)["social_links"][0]["type"] == "twitter"
    assert "Who gets credit" not in str(body)


def test_lever_multi_value_cells(imported: dict[str, Imported]) -> None:
    body = imported["lever.csv"].body(2)
    assert body["name"] == "Priya Nair"
    assert body["email"] == "priya.nair@example.com"
    assert body["social_links"] == [
        {"url": "https://www.linkedin.com/in/priyanair", "type": "linkedin"},
        {"url": "https://github.com/pnair", "type": "github"},
    ]
    customs = {item["name"]: item["value"] for item in body["custom_fields"]}
    assert customs["Sources"] == ["LinkedIn", "Referral"]
    assert customs["Tags"] == ["python", "remote"]
    lukas = imported["lever.csv"].body(3)
    assert lukas["phone_numbers"] == [{"phone": "+49301234567"}, {"phone": "+4915123456789"}]
    assert lukas["social_links"] == [
        {"url": "https://www.xing.com/profile/Lukas_Becker", "type": "xing"}
    ]


def test_lever_migration_template_uses_the_hyphenated_headers(
    imported: dict[str, Imported],
) -> None:
    result = imported["lever_migration.csv"]
    olivia = result.body(2)
    assert olivia["name"] == "Olivia Brown"
    customs = {item["name"]: item["value"] for item in olivia["custom_fields"]}
    assert customs["Date Added"] == "2022-03-14"
    assert customs["Archive Reason"] == "Hired"
    assert customs["Archive Date"] == "2022-05-02"
    assert result.body(5)["email"] == "liam.j@example.com"
    assert result.message(4) == 'the row has no name; fill in "Full-Name"'


def test_recruitee_link_types_come_from_the_domain(imported: dict[str, Imported]) -> None:
    body = imported["recruitee.csv"].body(6)
    assert [link["type"] for link in body["social_links"]] == ["behance", "linkedin", "twitter"]
    eva = imported["recruitee.csv"].body(2)
    assert eva["email"] == "eva.devries@example.nl"
    assert [p["phone"] for p in eva["phone_numbers"]] == ["+31201234567", "+31612345678"]


def test_smartrecruiters_second_application_of_a_candidate_names_the_first_row(
    imported: dict[str, Imported],
) -> None:
    result = imported["smartrecruiters.csv"]
    assert "already appears in row 2" in result.message(5)
    assert result.body(2) == {
        "first_name": "Amelia",
        "last_name": "Clarke",
        "email": "amelia.clarke@example.co.uk",
        "phone_numbers": [{"phone": "+441614960123"}],
        "custom_fields": [{"name": "Location", "value": "Manchester, GB"}],
    }


def test_workable_headline_is_the_title_and_skills_a_list(imported: dict[str, Imported]) -> None:
    body = imported["workable.csv"].body(2)
    assert body["title"] == "Staff Platform Engineer"
    assert [link["type"] for link in body["social_links"]] == ["linkedin", "github"]
    customs = {item["name"]: item["value"] for item in body["custom_fields"]}
    assert customs["Skills"] == ["Go", "Kubernetes", "Terraform"]
    assert "Job ID" not in customs


def test_personal_data_columns_are_not_sent(imported: dict[str, Imported]) -> None:
    for sample, words in (
        ("personio.csv", ("male", "12.05.1988")),
        ("peopleforce.csv", ("female", "1991-04-03")),
    ):
        for body in imported[sample].bodies.values():
            assert not any(word in str(body) for word in words), body
    dmytro = imported["peopleforce.csv"].body(3)
    assert [p["phone"] for p in dmytro["phone_numbers"]] == ["+380671234567", "+380447654321"]
    assert [link["type"] for link in dmytro["social_links"]] == ["linkedin", "facebook"]


def test_candidates_xlsx_numbers_and_dates_arrive_as_typed(imported: dict[str, Imported]) -> None:
    result = imported["candidates.xlsx"]
    ada = result.body(2)
    assert ada["phone_numbers"] == [
        {"phone": "+447911123123", "type": "mobile"},  # a number cell, read without ".0"
        {"phone": "+442079460958"},
    ]
    assert ada["hired_at"] == "2024-03-01T00:00:00.000Z"  # a date cell
    assert result.body(3)["hired_at"] == "2024-03-01T09:00:00.000Z"  # a date-time cell
    assert result.body(9)["phone_numbers"][0] == {"phone": "+34612345678", "type": "mobile"}
    assert result.body(10)["hired_at"] == "2022-06-30T00:00:00.000Z"  # day-first text
    assert result.body(11)["phone_numbers"] == [{"phone": "+2348031234567"}]  # national, NG
    assert result.body(13)["hired_at"] == "2023-04-01T00:00:00.000Z"  # an Excel serial
    assert result.body(5)["last_name"] == "Ångström"


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_each_layout_header_is_mapped_or_named_as_not_mapped(layout: Layout) -> None:
    """Nothing of a documented layout is dropped silently; the mapping binds to the layout."""
    mapping = load_mapping(layout.mapping)
    mapping.bind(layout.headers)
    read = {normalise_header(column) for column in mapping.columns()}
    text = shipped_mappings()[layout.mapping].text()
    comments = " ".join(line for line in text.splitlines() if line.startswith("#"))
    unaccounted = [
        h for h in layout.headers if normalise_header(h) not in read and h not in comments
    ]
    assert unaccounted == []


def test_every_shipped_mapping_has_a_sample() -> None:
    shipped = {path.name for path in MAPPINGS.glob("*.yaml")}
    tested = {mapping for _, mapping, _, _ in EXPECTED}
    assert shipped == tested
