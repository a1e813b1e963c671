import copy
import csv
import math
import random
from pathlib import Path

import pytest

from importer.errors import Code, ConfigError, MappingError, MissingColumnError
from importer.mapping import Mapping, load_mapping, parse_mapping
from importer.mapping.models import CandidateCreate
from importer.read.tables import SourceRow

ROOT = Path(__file__).parents[1]
SAMPLE_HEADERS = [
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


def bind(fields, headers, **top):
    return parse_mapping({"version": 1, "fields": fields, **top}, "test.yaml").bind(headers)


def prepare(mapper, *cells, row_number=2):
    return mapper.prepare(SourceRow(row_number, tuple(cells)))


def body_of(fields, headers, *cells, **top):
    prepared = prepare(bind(fields, headers, **top), *cells)
    assert prepared.rejects == ()
    # What is sent is exactly what the request model accepted, without coercion.
    validated = CandidateCreate.model_validate(prepared.body).model_dump(exclude_unset=True)
    assert validated == prepared.body
    return prepared.body


def rejects_of(fields, headers, *cells, **top):
    prepared = prepare(bind(fields, headers, **top), *cells)
    assert prepared.body is None
    assert prepared.email is None
    return [(r.code, r.field, r.column, r.value) for r in prepared.rejects]


def problems(data):
    with pytest.raises(MappingError) as caught:
        parse_mapping(data, "test.yaml")
    return caught.value.problems


def field_problems(fields, **top):
    return problems({"version": 1, "fields": fields, **top})


NAME = {"name": {"const": "Jane Doe"}}


# -- sources --------------------------------------------------------------------------------


def test_column_value_is_stripped_and_sent():
    assert body_of({"name": {"column": "Name"}}, ["Name"], "  Jane Doe ") == {"name": "Jane Doe"}


def test_strip_false_keeps_surrounding_spaces():
    fields = {**NAME, "title": {"column": "Title", "strip": False}}
    assert body_of(fields, ["Title"], " CTO ")["title"] == " CTO "


def test_first_non_empty_alternative_wins():
    fields = {**NAME, "email": {"column": ["Email", "E-mail", "Work Email"]}}
    headers = ["Email", "E-mail", "Work Email"]
    assert body_of(fields, headers, "", " N/A ", "b@y.com", empty_values=["N/A"]) == {
        "name": "Jane Doe",
        "email": "b@y.com",
    }


def test_template_joins_columns_and_drops_empty_parts():
    fields = {"name": {"template": "{First} {Middle} {Last}"}}
    mapper = bind(fields, ["First", "Middle", "Last"])
    assert prepare(mapper, "Ada", "", "Lovelace").body == {"name": "Ada Lovelace"}
    assert prepare(mapper, "Ada", "King", "Lovelace").body == {"name": "Ada King Lovelace"}
    assert prepare(mapper, "", "", "Lovelace").body == {"name": "Lovelace"}


def test_template_keeps_its_prefix_and_suffix_when_a_part_has_a_value():
    fields = {**NAME, "title": {"template": "Dr {First} {Last}, {Degree} (alumni)"}}
    mapper = bind(fields, ["First", "Last", "Degree"])
    assert prepare(mapper, "Ada", "King", "PhD").body["title"] == "Dr Ada King, PhD (alumni)"
    assert prepare(mapper, "", "King", "").body["title"] == "Dr King (alumni)"
    assert "title" not in prepare(mapper, "", "", "").body


def test_template_double_braces_are_literal_braces():
    fields = {**NAME, "title": {"template": "{{{Level}}}"}}
    assert body_of(fields, ["Level"], "L3")["title"] == "{L3}"


def test_const_is_sent_in_every_row():
    body = body_of({**NAME, "country": {"const": "United Kingdom"}}, [])
    assert body == {"name": "Jane Doe", "country": "United Kingdom"}


def test_default_fills_an_empty_cell():
    fields = {**NAME, "country": {"column": "Country", "default": "United Kingdom"}}
    mapper = bind(fields, ["Country"])
    assert prepare(mapper, "").body["country"] == "United Kingdom"
    assert prepare(mapper, "Spain").body["country"] == "Spain"


def test_required_empty_cell_is_required_value():
    fields = {**NAME, "email": {"column": "Email", "required": True}}
    assert rejects_of(fields, ["Email"], "  ") == [
        (Code.REQUIRED_VALUE, "email", "Email", "  "),
    ]
    [reject] = prepare(bind(fields, ["Email"]), "").rejects
    assert reject.message == 'column "Email": empty, but the mapping requires a value; fill it in'


# -- empty values -----------------------------------------------------------------------------


def test_only_fields_with_values_are_sent():
    fields = {
        "first_name": {"column": "First"},
        "last_name": {"column": "Last"},
        "company": {"column": "Company"},
        "phone_numbers": [{"column": "Phone", "phone": "keep"}],
        "custom_fields": [{"name": "Source", "column": "Source"}],
        "passthrough": {"legacy_id": {"column": "ID"}},
    }
    headers = ["First", "Last", "Company", "Phone", "Source", "ID"]
    assert body_of(fields, headers, "Ada", "Lovelace", "", " ", "", "") == {
        "first_name": "Ada",
        "last_name": "Lovelace",
    }


def test_empty_values_list_applies_after_strip_and_exactly():
    fields = {**NAME, "company": {"column": "Company"}, "title": {"column": "Title"}}
    mapper = bind(fields, ["Company", "Title"], empty_values=["N/A", "-"])
    assert prepare(mapper, " N/A ", "-").body == {"name": "Jane Doe"}
    assert prepare(mapper, "n/a", "--").body == {
        "name": "Jane Doe",
        "company": "n/a",
        "title": "--",
    }


def test_na_null_and_leading_zeros_survive_unless_listed_as_empty():
    fields = {
        **NAME,
        "country": {"column": "Country"},
        "company": {"column": "Company"},
        "passthrough": {"legacy_id": {"column": "ID"}},
    }
    body = body_of(fields, ["Country", "Company", "ID"], "NA", "null", "007")
    assert body == {
        "name": "Jane Doe",
        "country": "NA",
        "company": "null",
        "passthrough": {"legacy_id": "007"},
    }


def test_field_empty_values_override_the_mapping_list():
    fields = {**NAME, "country": {"column": "Country", "empty_values": ["Unknown"]}}
    mapper = bind(fields, ["Country"], empty_values=["NA"])
    assert prepare(mapper, "NA").body["country"] == "NA"
    assert "country" not in prepare(mapper, "Unknown").body


# -- text rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("lower", "senior vp of sales"),
        ("upper", "SENIOR VP OF SALES"),
        ("title", "Senior VP Of Sales"),
    ],
)
def test_case_rules(rule, expected):
    fields = {**NAME, "title": {"column": "Title", rule: True}}
    assert body_of(fields, ["Title"], "senior VP of Sales")["title"] == expected


def test_name_part_splits_a_full_name():
    fields = {
        "first_name": {"column": "Full name", "name_part": "first"},
        "last_name": {"column": "Full name", "name_part": "last"},
    }
    mapper = bind(fields, ["Full name"])
    assert prepare(mapper, "Mary Ann Smith").body == {
        "first_name": "Mary Ann",
        "last_name": "Smith",
    }
    assert prepare(mapper, "Lovelace, Ada").body == {"first_name": "Ada", "last_name": "Lovelace"}


def test_single_word_name_has_no_last_name_so_the_row_has_no_name():
    fields = {
        "first_name": {"column": "Full name", "name_part": "first"},
        "last_name": {"column": "Full name", "name_part": "last"},
    }
    assert rejects_of(fields, ["Full name"], "Madonna") == [
        (Code.MISSING_NAME, "name", "Full name / Full name", None)
    ]


def test_translate_is_case_insensitive_and_a_miss_names_the_allowed_values():
    fields = {
        **NAME,
        "phone_numbers": [
            {
                "column": "Phone",
                "phone": "keep",
                "type": {"column": "Kind", "translate": {"Mobile": "mobile", "Cell": "mobile"}},
            }
        ],
    }
    mapper = bind(fields, ["Phone", "Kind"])
    assert prepare(mapper, "+447911123123", " CELL ").body["phone_numbers"] == [
        {"phone": "+447911123123", "type": "mobile"}
    ]
    [reject] = prepare(mapper, "+447911123123", "Fax").rejects
    assert (reject.code, reject.field, reject.column, reject.value) == (
        Code.INVALID_VALUE,
        "phone_numbers[0].type",
        "Kind",
        "Fax",
    )
    assert reject.message == (
        'column "Kind": "Fax" is not one of the accepted values (Mobile, Cell); use one of them, '
        "or add it to translate in the mapping"
    )


def test_translate_default_takes_misses_and_an_empty_target_means_no_value():
    fields = {
        **NAME,
        "country": {
            "column": "Country",
            "translate": {"UK": "United Kingdom", "??": ""},
            "translate_default": "Elsewhere",
        },
    }
    mapper = bind(fields, ["Country"])
    assert prepare(mapper, "uk").body["country"] == "United Kingdom"
    assert prepare(mapper, "Mars").body["country"] == "Elsewhere"
    assert "country" not in prepare(mapper, "??").body


# -- conversions ----------------------------------------------------------------------------


def test_email_is_checked_and_normalised():
    fields = {**NAME, "email": {"column": "Email"}}
    assert body_of(fields, ["Email"], "Jane.Doe@Example.COM")["email"] == "Jane.Doe@example.com"
    assert rejects_of(fields, ["Email"], "jane@") == [
        (Code.INVALID_EMAIL, "email", "Email", "jane@")
    ]


def test_prepared_email_is_the_sent_email():
    fields = {**NAME, "email": {"column": "Email", "lower": True}}
    prepared = prepare(bind(fields, ["Email"]), "Jane@X.com")
    assert prepared.email == prepared.body["email"] == "jane@x.com"


def test_phone_region_and_keep():
    fields = {
        **NAME,
        "phone_number": {"column": "Home", "phone": {"region": "gb"}},
        "phone_numbers": [{"column": "Other", "phone": "keep", "type": "other"}],
    }
    body = body_of(fields, ["Home", "Other"], "020 7946 0958", "ext 12 (ask for Jo)")
    assert body["phone_number"] == "+442079460958"
    assert body["phone_numbers"] == [{"phone": "ext 12 (ask for Jo)", "type": "other"}]


def test_phone_region_column_reads_each_rows_country():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Phone", "phone": {"region": "GB", "region_column": ["Country", "Nation"]}}
        ],
    }
    mapper = bind(fields, ["Phone", "Country"])
    phones = [
        prepare(mapper, phone, country).body["phone_numbers"][0]["phone"]
        for phone, country in [
            ("087 123 4567", "Ireland"),
            ("030 1234567", "DE"),
            ("(202) 555-0143", "United States"),
            ("079 123 45 67", "Schweiz"),
            ("+44 7911 123123", "Atlantis"),
            ("07911 123456", ""),
        ]
    ]
    assert phones == [
        "+353871234567",
        "+49301234567",
        "+12025550143",
        "+41791234567",
        "+447911123123",
        "+447911123456",
    ]


def test_an_unknown_country_never_falls_back_to_the_mappings_region():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Phone", "phone": {"region": "GB", "region_column": "Country"}}
        ],
    }
    mapper = bind(fields, ["Phone", "Country"])
    (reject,) = prepare(mapper, "07911 123456", "Atlantis").rejects
    assert (reject.code, reject.column, reject.value) == ("invalid-phone", "Phone", "07911 123456")
    assert 'the country "Atlantis" is not one the importer knows' in reject.message


@pytest.mark.parametrize(
    ("on_invalid", "sent", "code"),
    [("keep", [{"phone": "07911 123456"}], "kept-as-typed"), ("drop", None, "value-dropped")],
)
def test_on_invalid_keeps_or_drops_a_number_with_a_warning(on_invalid, sent, code):
    phone = {"column": "Phone", "phone": {"region": "FR"}, "on_invalid": on_invalid}
    mapper = bind({**NAME, "phone_numbers": [phone, {"column": "Other"}]}, ["Phone", "Other"])
    prepared = prepare(mapper, "07911 123456", "+49 30 1234567")
    assert prepared.rejects == ()
    assert prepared.body["phone_numbers"][:-1] == (sent or [])
    assert prepared.body["phone_numbers"][-1] == {"phone": "+49301234567"}
    (warning,) = prepared.warnings
    assert (warning.code, warning.column, warning.value) == (code, "Phone", "07911 123456")
    assert warning.message.startswith('column "Phone": "07911 123456" is too long in FR')


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("ask Jo", "it has no digits"),
        ("4.47701E+11", "digits are lost"),
        ("4,47701E+11", "lost"),
        # a lookup's 0 under a Phone header: it was sent as a phone number "0"
        ("0", "it has 1 digit, and none has fewer than 3"),
        ("12", "it has 2 digits"),
    ],
)
def test_on_invalid_keep_leaves_out_what_is_no_phone_and_creates_the_candidate(cell, why):
    """Never sent as a phone, and no reason to turn the candidate away: left out, with a
    warning that says why."""
    phone = {"column": "Phone", "phone": {"region": "GB"}, "on_invalid": "keep"}
    prepared = prepare(bind({**NAME, "phone_numbers": [phone]}, ["Phone"]), cell)
    assert prepared.rejects == ()
    assert "phone_numbers" not in prepared.body
    (warning,) = prepared.warnings
    assert (warning.code, warning.column, warning.value) == ("value-dropped", "Phone", cell)
    assert why in warning.message


def test_on_invalid_reject_still_rejects_text_without_digits_in_a_phone():
    phone = {"column": "Phone", "phone": {"region": "GB"}}
    (reject,) = prepare(bind({**NAME, "phone_numbers": [phone]}, ["Phone"]), "ask Jo").rejects
    assert (reject.code, reject.value) == ("invalid-phone", "ask Jo")


def test_a_phone_read_with_its_lost_plus_is_sent_with_a_warning():
    phone = {"column": "Phone", "phone": {"region": "GB"}}
    prepared = prepare(bind({**NAME, "phone_numbers": [phone]}, ["Phone"]), "4915123456789")
    assert prepared.body["phone_numbers"] == [{"phone": "+4915123456789"}]
    (warning,) = prepared.warnings
    assert (warning.code, warning.field) == ("phone-plus-restored", "phone_numbers[0].phone")


def test_an_address_written_with_a_name_is_sent_alone_with_a_warning():
    mapper = bind({**NAME, "email": {"column": "Email", "lower": True}}, ["Email"])
    prepared = prepare(mapper, "Ada Lovelace <Ada@Example.org>")
    assert prepared.rejects == ()
    assert (prepared.body["email"], prepared.email) == ("ada@example.org", "ada@example.org")
    (warning,) = prepared.warnings
    assert (warning.code, warning.field, warning.column) == ("email-extracted", "email", "Email")
    assert warning.value == "Ada Lovelace <Ada@Example.org>"
    assert warning.message.startswith('column "Email": "Ada Lovelace <Ada@Example.org>" read as ')


def test_an_outlook_address_with_a_last_first_name_is_read_in_a_column_split_on_commas():
    email = {"column": "Email", "split": [",", ";"], "lower": True}
    mapper = bind({**NAME, "email": email}, ["Email"])
    prepared = prepare(mapper, "Lovelace, Ada <Ada@Example.org>; Turing, Alan <alan@x.org>")
    assert (prepared.rejects, prepared.body["email"]) == ((), "ada@example.org")
    (warning,) = prepared.warnings
    # the second address is not sent (the request has one e-mail), and the warning says so
    assert warning.message == (
        'column "Email": "Lovelace, Ada <Ada@Example.org>" read as Ada@example.org '
        '(the address between < and >; the name is not sent); column "Email": the field takes '
        'one value and the cell holds 2: "Lovelace, Ada <Ada@Example.org>" is sent, '
        '"Turing, Alan <alan@x.org>" not; to keep it, map the column again as a custom field'
    )


def test_a_field_of_one_value_names_the_values_of_its_cell_it_does_not_send():
    email = {"column": "Email", "split": [",", ";"], "lower": True}
    mapper = bind({**NAME, "email": email}, ["Email"])
    two = prepare(mapper, "ada@example.org; ada.l@work.example")
    assert two.body["email"] == "ada@example.org"
    assert [(w.code, w.column, w.value) for w in two.warnings] == [
        ("extra-values-dropped", "Email", "ada@example.org; ada.l@work.example")
    ]
    assert two.warnings[0].message == (
        'column "Email": the field takes one value and the cell holds 2: "ada@example.org" is '
        'sent, "ada.l@work.example" not; to keep it, map the column again as a custom field'
    )
    # nothing is lost: the same address twice, an empty piece
    for cell in ("ada@example.org, ADA@example.org", "ada@example.org;", "; ada@example.org"):
        same = prepare(mapper, cell)
        assert (same.body["email"], same.warnings) == ("ada@example.org", ()), cell


def test_an_address_lower_cased_by_the_mapping_is_quoted_as_typed_in_its_reject():
    mapper = bind({**NAME, "email": {"column": "Email", "lower": True}}, ["Email"])
    (reject,) = prepare(mapper, "Alan.Turing@Example").rejects
    assert (reject.code, reject.value) == ("invalid-email", "Alan.Turing@Example")
    assert reject.message.startswith('column "Email": "Alan.Turing@Example" is not a valid e-mail')
    assert prepare(mapper, "Alan.Turing@Example.ORG").body["email"] == "alan.turing@example.org"


def test_lower_case_writes_the_turkish_dotted_capital_i_as_a_plain_i():
    """str.lower makes "İ" an "i" and a combining dot: another address, and a name with a
    character more."""
    fields = {
        "first_name": {"column": "First", "lower": True},
        "last_name": {"column": "Last"},
        "email": {"column": "Email", "lower": True},
    }
    body = body_of(
        fields, ["First", "Last", "Email"], "İLKER", "Yıldız", "İlker.Yıldız@Example.com"
    )
    assert body["first_name"] == "ilker"
    assert body["email"] == "ilker.yıldız@example.com"
    assert "\u0307" not in body["first_name"] + body["email"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"column": "Hired", "as": "date-time", "on_invalid": "keep", "name": "H"}, "cannot take"),
        ({"column": "P", "phone": "keep", "on_invalid": "drop"}, "has no effect"),
    ],
)
def test_on_invalid_keep_only_where_the_field_takes_free_text(entry, problem):
    group = "custom_fields" if "as" in entry else "phone_numbers"
    [(path, message)] = problems({"version": 1, "fields": {**NAME, group: [entry]}})
    assert path == f"fields.{group}[0]"
    assert problem in message


def test_on_invalid_is_not_offered_for_identity_fields():
    [(path, message)] = problems(
        {"version": 1, "fields": {"name": {"column": "N", "on_invalid": "keep"}}}
    )
    assert (path, message.split(":")[0]) == (
        "fields.name.on_invalid",
        "on_invalid applies only to phone, link, date and custom value entries",
    )


def test_a_hire_date_that_cannot_be_read_is_dropped_with_a_warning_never_kept():
    hired = {"column": "Hired", "date": {"day_first": True}, "on_invalid": "drop"}
    mapping = bind({**NAME, "hired_at": hired}, ["Hired"])
    prepared = prepare(mapping, "next Tuesday")
    assert "hired_at" not in prepared.body
    assert [w.code for w in prepared.warnings] == ["value-dropped"]
    assert prepare(mapping, "09/01/2024").body["hired_at"] == "2024-01-09T00:00:00.000Z"
    [(path, message)] = problems(
        {"version": 1, "fields": {**NAME, "hired_at": {**hired, "on_invalid": "keep"}}}
    )
    assert path == "fields.hired_at"
    assert "which a date field cannot take: use reject or drop" in message


def test_a_link_that_cannot_be_read_is_dropped_with_a_warning():
    link = {"column": "Site", "on_invalid": "drop"}
    prepared = prepare(bind({**NAME, "social_links": [link]}, ["Site"]), "not a url at all")
    assert "social_links" not in prepared.body
    assert [w.code for w in prepared.warnings] == ["value-dropped"]


def test_a_cell_of_words_split_on_spaces_is_one_warning_not_one_a_word():
    link = {"column": "Links", "split": [",", " "], "type": "from_domain", "on_invalid": "drop"}
    mapper = bind({**NAME, "social_links": [link]}, ["Links"])
    (warning,) = prepare(mapper, "see CV on request").warnings
    assert (warning.code, warning.column, warning.value) == (
        "value-dropped",
        "Links",
        "see CV on request",
    )
    assert warning.message.startswith('column "Links": "see CV on request" is not a web address')
    # a cell with an address in it keeps it, and a warning for each word that is none
    prepared = prepare(mapper, "https://github.com/ada see CV")
    assert prepared.body["social_links"] == [{"type": "github", "url": "https://github.com/ada"}]
    assert [w.message.split('"')[3] for w in prepared.warnings] == ["see", "CV"]


def test_a_custom_number_that_cannot_be_read_is_kept_as_typed():
    custom = {"name": "Score", "column": "Score", "as": "number", "on_invalid": "keep"}
    prepared = prepare(bind({**NAME, "custom_fields": [custom]}, ["Score"]), "about 7")
    assert prepared.body["custom_fields"] == [{"name": "Score", "value": "about 7"}]
    assert [w.code for w in prepared.warnings] == ["kept-as-typed"]


def test_phone_region_column_missing_from_the_file_falls_back_to_region():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Phone", "phone": {"region": "GB", "region_column": "Country"}}
        ],
    }
    assert body_of(fields, ["Phone"], "07911 123123")["phone_numbers"] == [
        {"phone": "+447911123123"}
    ]


@pytest.mark.parametrize("cell", ["4.47701E+11", "447911123123.0"])
def test_phone_mangled_by_excel_is_precision_lost(cell):
    fields = {**NAME, "phone_numbers": [{"column": "Mobile", "phone": {"region": "GB"}}]}
    assert rejects_of(fields, ["Mobile"], cell) == [
        (Code.PRECISION_LOST, "phone_numbers[0].phone", "Mobile", cell)
    ]


def test_id_mangled_by_excel_is_precision_lost():
    fields = {**NAME, "passthrough": {"legacy_id": {"column": "Candidate ID"}}}
    assert rejects_of(fields, ["Candidate ID"], "1.23457E+15") == [
        (Code.PRECISION_LOST, "passthrough.legacy_id", "Candidate ID", "1.23457E+15")
    ]


def test_hired_at_dates():
    fields = {
        **NAME,
        "hired_at": {
            "column": "Hired",
            "date": {"formats": ["%d %b %Y"], "day_first": True, "excel_serial": True},
        },
    }
    mapper = bind(fields, ["Hired"])
    dates = [
        prepare(mapper, cell).body["hired_at"]
        for cell in ["2024-03-01", "01/03/2024", "45292", "5 Mar 2024"]
    ]
    assert dates == [
        "2024-03-01T00:00:00.000Z",
        "2024-03-01T00:00:00.000Z",
        "2024-01-01T00:00:00.000Z",
        "2024-03-05T00:00:00.000Z",
    ]
    assert rejects_of(fields, ["Hired"], "31/02/2024") == [
        (Code.INVALID_DATE, "hired_at", "Hired", "31/02/2024")
    ]


def test_hired_at_without_options_takes_iso_dates_only():
    fields = {**NAME, "hired_at": {"column": "Hired"}}
    assert body_of(fields, ["Hired"], "2024-03-01")["hired_at"] == "2024-03-01T00:00:00.000Z"
    assert rejects_of(fields, ["Hired"], "01/03/2024")[0][0] == Code.INVALID_DATE


def test_social_links_type_constant_from_domain_and_from_a_column():
    fields = {
        **NAME,
        "social_links": [
            {"column": "LinkedIn", "type": "linkedin"},
            {"column": "Site"},
            {"column": "Other", "type": {"column": "Other type", "lower": True}},
            {"column": "Bsky", "type": "from_domain"},
        ],
    }
    headers = ["LinkedIn", "Site", "Other", "Other type", "Bsky"]
    body = body_of(
        fields,
        headers,
        "linkedin.com/in/jane",
        "https://github.com/jane",
        "https://jane.dev",
        "Blog",
        "https://bsky.app/jane",
        link_types={"bsky.app": "bluesky"},
    )
    assert body["social_links"] == [
        {"url": "https://linkedin.com/in/jane", "type": "linkedin"},
        {"url": "https://github.com/jane", "type": "github"},
        {"url": "https://jane.dev", "type": "blog"},
        {"url": "https://bsky.app/jane", "type": "bluesky"},
    ]


def test_invalid_url_is_rejected_with_its_column():
    fields = {**NAME, "social_links": [{"column": "LinkedIn", "type": "linkedin"}]}
    assert rejects_of(fields, ["LinkedIn"], "jane doe") == [
        (Code.INVALID_URL, "social_links[0].url", "LinkedIn", "jane doe")
    ]


def test_custom_fields_typed_values():
    fields = {
        **NAME,
        "custom_fields": [
            {"name": "Source", "column": "Source"},
            {"name": "Years", "column": "Years", "as": "number"},
            {"id": "cf_1", "column": "Remote", "as": "boolean", "translate": {"Ja": True}},
            {"name": "Available", "column": "From", "as": "date-time", "date": {"day_first": True}},
            {"name": "Skills", "column": "Skills", "split": ","},
        ],
    }
    headers = ["Source", "Years", "Remote", "From", "Skills"]
    body = body_of(fields, headers, "Referral", "007", "ja", "01/03/2024", "python, sql")
    assert body["custom_fields"] == [
        {"name": "Source", "value": "Referral"},
        {"name": "Years", "value": 7},
        {"id": "cf_1", "value": True},
        {"name": "Available", "value": "2024-03-01T00:00:00.000Z"},
        {"name": "Skills", "value": ["python", "sql"]},
    ]


def test_custom_field_of_the_wrong_type_is_invalid_value():
    fields = {**NAME, "custom_fields": [{"name": "Years", "column": "Years", "as": "number"}]}
    assert rejects_of(fields, ["Years"], "five") == [
        (Code.INVALID_VALUE, "custom_fields[0].value", "Years", "five")
    ]


def test_passthrough_and_unified_custom_fields():
    fields = {
        **NAME,
        "passthrough": {
            "legacy_id": {"column": "ID"},
            "score": {"column": "Score", "as": "number"},
        },
        "unified_custom_fields": {
            "referrer": {"column": "Referrer"},
            "batch": {"const": "2024-Q1"},
        },
    }
    body = body_of(fields, ["ID", "Score", "Referrer"], "00123", "4.5", "Grace")
    assert body["passthrough"] == {"legacy_id": "00123", "score": 4.5}
    assert body["unified_custom_fields"] == {"referrer": "Grace", "batch": "2024-Q1"}


# -- multi-value cells ----------------------------------------------------------------------


def test_several_emails_in_a_cell_send_the_first():
    fields = {**NAME, "email": {"column": "Emails", "split": [",", ";"]}}
    assert body_of(fields, ["Emails"], " , a@x.com, b@y.com")["email"] == "a@x.com"
    assert body_of(fields, ["Emails"], "a@x.com;")["email"] == "a@x.com"
    assert body_of(fields, ["Emails"], ";N/A, a@x.com", empty_values=["N/A"])["email"] == "a@x.com"


def test_several_phones_in_a_cell_are_all_sent_with_the_entry_type():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Phones", "split": ";", "type": "mobile", "phone": {"region": "GB"}},
            {"column": "Work", "type": "work", "phone": {"region": "GB"}},
        ],
    }
    body = body_of(fields, ["Phones", "Work"], "+1 202 555 0143; 07911 123123;", "020 7946 0958")
    assert body["phone_numbers"] == [
        {"phone": "+12025550143", "type": "mobile"},
        {"phone": "+447911123123", "type": "mobile"},
        {"phone": "+442079460958", "type": "work"},
    ]


def test_a_number_written_with_a_slash_after_its_area_code_is_one_phone():
    """ "030/12345678" is how German and Austrian numbers have long been written: split on "/",
    neither piece is a number, and read whole the cell is one."""
    fields = {
        **NAME,
        "phone_numbers": [{"column": "Phones", "split": [",", "/"], "phone": {"region": "DE"}}],
    }
    assert body_of(fields, ["Phones"], "030/12345678")["phone_numbers"] == [
        {"phone": "+493012345678"}
    ]
    # two numbers, each one by itself, stay two
    assert body_of(fields, ["Phones"], "0171 1234567/030 7654321")["phone_numbers"] == [
        {"phone": "+491711234567"},
        {"phone": "+49307654321"},
    ]
    # pieces that are no number, and read whole none either: each is still named
    fields["phone_numbers"][0]["on_invalid"] = "keep"
    warnings = prepare(bind(fields, ["Phones"]), "12/34").warnings
    assert [warning.value for warning in warnings] == ["12/34", "12/34"]
    assert ['"12"' in warnings[0].message, '"34"' in warnings[1].message] == [True, True]


def test_several_links_in_a_cell_get_their_type_from_the_domain():
    fields = {**NAME, "social_links": [{"column": "Links", "split": [",", " "]}]}
    body = body_of(
        fields, ["Links"], "https://github.com/jane, linkedin.com/in/jane https://jane.dev"
    )
    assert body["social_links"] == [
        {"url": "https://github.com/jane", "type": "github"},
        {"url": "https://linkedin.com/in/jane", "type": "linkedin"},
        {"url": "https://jane.dev", "type": "website"},
    ]


def test_a_bad_value_in_a_split_cell_is_reported_at_its_index():
    fields = {
        **NAME,
        "phone_numbers": [{"column": "Phones", "split": ";", "phone": {"region": "GB"}}],
    }
    assert rejects_of(fields, ["Phones"], "07911 123123; 12; 07911 123456") == [
        (Code.INVALID_PHONE, "phone_numbers[1].phone", "Phones", "07911 123123; 12; 07911 123456")
    ]


# -- validation and rejects -----------------------------------------------------------------


def test_every_problem_of_a_row_is_reported_together():
    fields = {
        "first_name": {"column": "First"},
        "last_name": {"column": "Last"},
        "email": {"column": "Email"},
        "hired_at": {"column": "Hired"},
        "phone_numbers": [
            {"column": "Phone", "phone": {"region": "GB"}, "type": {"column": "Kind"}}
        ],
        "social_links": [{"column": "Site"}],
    }
    headers = ["First", "Last", "Email", "Hired", "Phone", "Kind", "Site"]
    cells = ("Ada", "", "ada@", "soon", "07911 123123", "Cell", "x y")
    assert rejects_of(fields, headers, *cells) == [
        (Code.INVALID_EMAIL, "email", "Email", "ada@"),
        (Code.INVALID_DATE, "hired_at", "Hired", "soon"),
        (Code.INVALID_URL, "social_links[0].url", "Site", "x y"),
        (Code.INVALID_VALUE, "phone_numbers[0].type", "Kind", "Cell"),
        (Code.MISSING_NAME, "name", "First / Last", None),
    ]


def test_request_model_errors_name_the_field_the_column_and_the_cell():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Mobile", "phone": "keep", "type": "mobile"},
            {"column": "Phone", "phone": "keep", "type": {"column": "Phone Type"}},
        ],
    }
    prepared = prepare(
        bind(fields, ["Mobile", "Phone", "Phone Type"]), "+1 555", "+44 20", " Cell "
    )
    [reject] = prepared.rejects
    assert (reject.row_number, reject.code, reject.field, reject.column, reject.value) == (
        2,
        Code.INVALID_VALUE,
        "phone_numbers[1].type",
        "Phone Type",
        " Cell ",
    )
    assert reject.message == (
        'column "Phone Type": "Cell" cannot be sent as phone_numbers[1].type, which must be one '
        "of: personal, work, mobile, home, unknown, other or unmapped_value; correct the cell or "
        "translate it in the mapping"
    )


def test_missing_name_names_the_columns_that_give_one():
    fields = {
        "name": {"column": "Full Name"},
        "first_name": {"column": "First"},
        "last_name": {"column": "Last"},
    }
    [reject] = prepare(bind(fields, ["Full Name", "First", "Last"]), "", "Ada", "").rejects
    assert (reject.code, reject.field) == (Code.MISSING_NAME, "name")
    assert reject.message == (
        "the row has a first name but no last name, and the API needs both, or a full name; "
        'fill in "Last" or "Full Name"'
    )
    [reject] = prepare(bind(fields, ["Full Name", "First", "Last"]), "", "", "").rejects
    assert reject.message == 'the row has no name; fill in "Full Name", or both "First" and "Last"'


def test_name_alone_or_first_and_last_name_are_enough():
    fields = {
        "name": {"column": "Name"},
        "first_name": {"column": "First"},
        "last_name": {"column": "Last"},
    }
    mapper = bind(fields, ["Name", "First", "Last"])
    assert prepare(mapper, "Ada Lovelace", "", "").rejects == ()
    assert prepare(mapper, "", "Ada", "Lovelace").rejects == ()


def test_reject_messages_name_the_column_value_and_fix():
    fields = {**NAME, "email": {"column": "E-mail"}}
    [reject] = prepare(bind(fields, ["E-mail"]), "bob@", row_number=7).rejects
    assert reject.row_number == 7
    assert reject.message.startswith('column "E-mail": "bob@" is not a valid e-mail address (')
    assert reject.message.endswith("; correct the address")


# -- headers --------------------------------------------------------------------------------


def test_headers_match_ignoring_case_spaces_and_bom():
    fields = {**NAME, "email": {"column": "E-mail Address"}, "company": {"column": "company"}}
    headers = ["\ufeff  e-MAIL   address ", "COMPANY\u200b"]
    prepared = prepare(bind(fields, headers), "a@x.com", "Acme")
    assert prepared.body == {"name": "Jane Doe", "email": "a@x.com", "company": "Acme"}
    [reject] = prepare(bind(fields, headers), "a@", "Acme").rejects
    assert reject.column == "e-MAIL   address"


def test_missing_columns_are_all_listed_with_the_file_headers():
    fields = {
        "name": {"column": "Full Name"},
        "email": {"column": ["Email", "E-mail"]},
        "title": {"template": "{Level} {Role}"},
        "company": {"column": "Company"},
    }
    with pytest.raises(MissingColumnError) as caught:
        parse_mapping({"version": 1, "fields": fields}, "m.yaml").bind(
            ["\ufeffName", "Role", "Company"], source="people.csv"
        )
    assert caught.value.missing == ["Full Name", "Email", "E-mail", "Level"]
    assert str(caught.value) == (
        'mapped columns "Full Name", one of "Email" / "E-mail", "Level" not found in people.csv; '
        "the headers are: Name, Role, Company"
    )


def test_one_alternative_is_enough_and_optional_columns_may_all_be_missing():
    fields = {
        "name": {"column": ["Full Name", "Name"]},
        "email": {"column": ["Email", "E-mail"], "optional_column": True},
        "title": {"template": "{Level} {Role}", "optional_column": True},
        "phone_numbers": [
            {"column": "Mobile", "optional_column": True, "type": {"column": "Kind"}}
        ],
    }
    body = body_of(fields, ["Name", "Role"], "Ada", "Engineer")
    assert body == {"name": "Ada", "title": "Engineer"}


def test_an_optional_entry_still_needs_its_type_column():
    fields = {
        **NAME,
        "phone_numbers": [
            {"column": "Mobile", "optional_column": True, "type": {"column": "Kind"}}
        ],
    }
    with pytest.raises(MissingColumnError) as caught:
        bind(fields, ["Mobile"])
    assert caught.value.missing == ["Kind"]


def test_a_column_matching_two_headers_names_both_positions():
    fields = {**NAME, "email": {"column": "Email"}}
    with pytest.raises(ConfigError) as caught:
        parse_mapping({"version": 1, "fields": fields}, "m.yaml").bind(
            ["Email", "Name", "EMAIL "], source="people.csv"
        )
    assert str(caught.value) == (
        'people.csv: the header row has the same column twice: "Email" matches column 1 (A) '
        '"Email" and column 3 (C) "EMAIL"; rename one of them'
    )


def test_a_file_that_can_never_give_a_name_is_a_missing_column():
    fields = {
        "name": {"column": ["Full Name", "Name"], "optional_column": True},
        "first_name": {"column": "First Name", "optional_column": True},
        "last_name": {"column": "Last Name", "optional_column": True},
        "email": {"column": "Email"},
    }
    with pytest.raises(MissingColumnError) as caught:
        bind(fields, ["Email", "First Name"])
    assert caught.value.missing == ["Full Name", "Name", "Last Name"]


def test_a_mapping_without_any_name_field_cannot_bind():
    mapping = parse_mapping({"version": 1, "fields": {"email": {"column": "Email"}}}, "m.yaml")
    with pytest.raises(ConfigError) as caught:
        mapping.bind(["Email"])
    assert str(caught.value) == (
        "m.yaml: no field gives a name; map name, or first_name and last_name "
        "(the API needs a name for every candidate)"
    )


def test_duplicate_headers_that_are_not_mapped_are_fine():
    assert body_of(NAME, ["Notes", "Notes"], "a", "b") == {"name": "Jane Doe"}


def test_columns_lists_every_column_the_mapping_reads_once():
    mapping = parse_mapping(
        {
            "version": 1,
            "fields": {
                "name": {"template": "{First} {Last}"},
                "first_name": {"column": "first"},
                "email": {"column": ["Email", "E-mail"]},
                "phone_numbers": [
                    {
                        "column": "Phone",
                        "phone": {"region_column": "Country"},
                        "type": {"column": "Kind"},
                    }
                ],
            },
        },
        "m.yaml",
    )
    assert mapping.columns() == ["First", "Last", "Email", "E-mail", "Phone", "Country", "Kind"]


# -- loading --------------------------------------------------------------------------------


def test_load_mapping_reads_yaml_and_remembers_its_source(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\nfields:\n  email: {column: E-mail, lower: true}\n", encoding="utf-8"
    )
    mapping = load_mapping(path)
    assert isinstance(mapping, Mapping)
    assert mapping.source == str(path)
    assert mapping.columns() == ["E-mail"]


def test_typo_in_a_rule_name_suggests_the_rule():
    assert field_problems({"email": {"column": "Email", "lowr": True}}) == [
        ("fields.email.lowr", "unknown key; did you mean 'lower'?")
    ]


def test_typo_in_a_field_name_suggests_the_field():
    assert field_problems({"emial": {"column": "Email"}}) == [
        ("fields.emial", "unknown key; did you mean 'email'?")
    ]


def test_unknown_key_lists_the_allowed_keys():
    [(path, message)] = problems({"version": 1, "fields": {}, "zzz": 1})
    assert path == "zzz"
    assert (
        message == "unknown key; the keys allowed here are: "
        "version, header_row, sheet, empty_values, key, account, link_types, fields"
    )


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            {"company": {"column": "C", "date": {}}},
            "fields.company.date",
            "date applies only to hired_at",
        ),
        (
            {"email": {"column": "E", "phone": "keep"}},
            "fields.email.phone",
            "phone applies only to",
        ),
        (
            {"hired_at": {"column": "H", "formats": ["%d"]}},
            "fields.hired_at.formats",
            "formats goes inside date",
        ),
        (
            {"phone_numbers": [{"column": "P", "region": "GB"}]},
            "fields.phone_numbers[0].region",
            "region goes inside phone",
        ),
        (
            {"passthrough": {"x": {"column": "X", "name": "X"}}},
            "fields.passthrough.x.name",
            "name applies only to custom_fields",
        ),
    ],
)
def test_misplaced_keys_say_where_they_belong(fields, path, message):
    [(got_path, got_message)] = field_problems(fields)
    assert got_path == path
    assert got_message.startswith(message)


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"email": {}}, "fields.email", "give exactly one of column, template or const"),
        (
            {"email": {"column": "E", "const": "x"}},
            "fields.email",
            "give exactly one of column, template or const (found column and const)",
        ),
        (
            {"title": {"column": "T", "lower": True, "upper": True}},
            "fields.title",
            "use only one of lower, upper and title",
        ),
        (
            {"email": {"column": "E", "required": True, "default": "x@y.com"}},
            "fields.email",
            "use required or default, not both",
        ),
        (
            {"country": {"column": "C", "translate_default": "X"}},
            "fields.country",
            "translate_default needs a translate table",
        ),
        (
            {"country": {"const": "UK", "optional_column": True}},
            "fields.country",
            "optional_column needs column or template",
        ),
        (
            {"country": {"column": "C", "translate": {"uk": "GB", "UK ": "United Kingdom"}}},
            "fields.country",
            'translate has "uk" and "UK "',
        ),
        ({"email": {"column": []}}, "fields.email.column", "must name at least one column"),
        ({"email": {"column": 2024}}, "fields.email.column", "must be a list"),
        ({"email": {"column": [2024]}}, "fields.email.column[0]", "must be text (put it in quotes"),
        (
            {"email": {"column": "E", "split": ""}},
            "fields.email.split",
            "must be a non-empty separator",
        ),
        ({"name": {"template": "{First} {Last"}}, "fields.name.template", 'unmatched "{"'),
        (
            {"name": {"template": "Jane"}},
            "fields.name.template",
            "a template needs at least one {Column}",
        ),
        (
            {"name": {"column": "N", "name_part": "middle"}},
            "fields.name.name_part",
            "must be one of: first or last",
        ),
        (
            {"hired_at": {"column": "H", "date": {"formats": ["%Q"]}}},
            "fields.hired_at.date.formats[0]",
            "unknown strptime directive %Q",
        ),
        (
            {"phone_number": {"column": "P", "phone": {"region": "UK"}}},
            "fields.phone_number.phone.region",
            'unknown region "UK"; the code for the United Kingdom is GB',
        ),
        (
            {"phone_number": {"column": "P", "phone": "E164"}},
            "fields.phone_number.phone",
            "write phone: keep, or phone: {region: GB}",
        ),
        (
            {"phone_number": {"column": "P", "phone": {"keep": True, "region": "GB"}}},
            "fields.phone_number.phone",
            "keep sends numbers as typed",
        ),
        ({"phone_numbers": {"column": "P"}}, "fields.phone_numbers", "must be a list"),
        (
            {"custom_fields": [{"column": "S"}]},
            "fields.custom_fields[0]",
            "a custom field needs its name",
        ),
        (
            {"custom_fields": [{"name": "S", "column": "S", "as": "text"}]},
            "fields.custom_fields[0].as",
            "must be one of: string, number, boolean or date-time",
        ),
        (
            {"custom_fields": [{"name": "S", "column": "S", "date": {}}]},
            "fields.custom_fields[0]",
            "date applies only with as: date-time",
        ),
        ({"email": {"column": "E", "strip": "yes"}}, "fields.email.strip", "must be true or false"),
        (
            {"email": {"column": "E", "default": ["a"]}},
            "fields.email.default",
            "must be text, a number or true/false",
        ),
    ],
)
def test_schema_problems_have_key_paths(fields, path, message):
    found = field_problems(fields)
    assert [p for p, _ in found] == [path], found
    assert found[0][1].startswith(message), found


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"hired_at": {"const": "soon"}}, "fields.hired_at.const", '"soon" is not a valid date'),
        (
            {"email": {"column": "E", "default": "nobody"}},
            "fields.email.default",
            '"nobody" is not a valid e-mail',
        ),
        (
            {"phone_numbers": [{"column": "P", "type": "mobil"}]},
            "fields.phone_numbers[0].type.const",
            '"mobil" is not a phone type; use one of: personal, work',
        ),
        (
            {
                "phone_numbers": [
                    {"column": "P", "type": {"column": "T", "translate": {"Cell": "cell"}}}
                ]
            },
            "fields.phone_numbers[0].type.translate.Cell",
            '"cell" is not a phone type',
        ),
        (
            {"company": {"column": "C", "translate": {"Acme": 5}}},
            "fields.company.translate.Acme",
            "must be text (put it in quotes)",
        ),
        (
            {"custom_fields": [{"name": "N", "column": "N", "as": "number", "default": "many"}]},
            "fields.custom_fields[0].default",
            '"many" is not a number',
        ),
        (
            {"social_links": [{"const": "not a url"}]},
            "fields.social_links[0].const",
            '"not a url" is not a web address',
        ),
    ],
)
def test_values_the_field_could_never_send_fail_at_load(fields, path, message):
    found = field_problems(fields)
    assert [p for p, _ in found] == [path], found
    assert found[0][1].startswith(message), found


def test_typed_constants_keep_their_type():
    fields = {
        **NAME,
        "custom_fields": [
            {"name": "Remote", "const": True, "as": "boolean"},
            {"name": "Level", "column": "Level", "as": "number", "default": 3},
        ],
    }
    assert body_of(fields, ["Level"], "")["custom_fields"] == [
        {"name": "Remote", "value": True},
        {"name": "Level", "value": 3},
    ]


def test_every_problem_is_reported_at_once():
    found = problems(
        {
            "version": 2,
            "empty_values": "N/A",
            "fields": {
                "email": {"column": "Email", "lowr": True},
                "hired_at": {"column": "Hired", "date": {"day_frist": True}},
                "phone_numbers": [{"column": "P", "type": "mobile"}, {"colum": "Q"}],
            },
        }
    )
    assert [path for path, _ in found] == [
        "version",
        "empty_values",
        "fields.email.lowr",
        "fields.hired_at.date.day_frist",
        "fields.phone_numbers[1].colum",
    ]


def test_missing_version_and_fields():
    assert problems({}) == [
        ("version", "required key is missing"),
        ("fields", "required key is missing"),
    ]


@pytest.mark.parametrize("data", [None, [], "version: 1"])
def test_a_mapping_must_be_a_yaml_mapping(data):
    assert problems(data) == [
        ("(top level)", "a mapping file is a YAML mapping with version and fields")
    ]


def test_key_must_name_a_mapped_field_or_column():
    assert field_problems({**NAME, "email": {"column": "Email"}}, key="legacy_id") == [
        ("key", '"legacy_id" is neither a mapped field (such as email) nor a mapped column')
    ]
    fields = {**NAME, "passthrough": {"legacy_id": {"column": "Candidate ID"}}}
    assert parse_mapping({"version": 1, "fields": fields, "key": "passthrough.legacy_id"}, "m").key
    assert parse_mapping({"version": 1, "fields": fields, "key": "candidate id"}, "m").key


def test_duplicate_yaml_keys_are_errors(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\nfields:\n  email: {column: Email}\n  name: {column: Name}\n"
        "  email: {column: E-mail}\n",
        encoding="utf-8",
    )
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    assert caught.value.problems == [("line 5", "duplicate key 'email' (first on line 3)")]


def test_yaml_anchors_and_merges_are_allowed(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "version: 1\nfields:\n  name: {const: Jane}\n  phone_numbers:\n"
        "    - {column: A, phone: &uk {region: GB}}\n    - {column: B, phone: *uk}\n"
        "  email: &e {column: Email}\n  company:\n    <<: *e\n    column: Company\n",
        encoding="utf-8",
    )
    mapping = load_mapping(path)
    assert mapping.columns() == ["Email", "Company", "A", "B"]


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("version: 1\nfields:\n  email: {column: Email\n", encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(path)
    [(where, message)] = caught.value.problems
    assert where.startswith("line ")
    assert message.startswith("not valid YAML: ")


def test_unreadable_mapping_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the mapping"):
        load_mapping(tmp_path / "nope.yaml")


def test_mapping_error_message_lists_every_path():
    with pytest.raises(MappingError) as caught:
        parse_mapping({"version": 1, "fields": {"email": {"column": "E", "lowr": True}}}, "m.yaml")
    assert (
        str(caught.value)
        == "m.yaml: invalid mapping\n  fields.email.lowr: unknown key; did you mean 'lower'?"
    )


# -- the shipped default mapping --------------------------------------------------------------


def test_default_mapping_maps_the_sample_headers():
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    mapper = mapping.bind(SAMPLE_HEADERS, source="samples/candidates.csv")
    prepared = prepare(
        mapper,
        "Ada",
        "Lovelace",
        "Ada.Lovelace@Example.com",
        "+44 20 7946 0958",
        "07911 123123; 07911 123124",
        "Analytical Engines",
        "Principal Engineer",
        "United Kingdom",
        "https://www.linkedin.com/in/ada",
        "https://ada.example.com",
        "01/03/2024",
        "Referral",
    )
    assert prepared.body == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada.lovelace@example.com",
        "company": "Analytical Engines",
        "title": "Principal Engineer",
        "country": "United Kingdom",
        "hired_at": "2024-03-01T00:00:00.000Z",
        "phone_numbers": [
            {"phone": "+447911123123", "type": "mobile"},
            {"phone": "+447911123124", "type": "mobile"},
            {"phone": "+442079460958"},
        ],
        "social_links": [
            {"url": "https://www.linkedin.com/in/ada", "type": "linkedin"},
            {"url": "https://ada.example.com", "type": "website"},
        ],
        "custom_fields": [{"name": "Source", "value": "Referral"}],
    }


def test_default_mapping_binds_to_files_with_only_some_headers():
    mapping = load_mapping(ROOT / "mappings" / "default.yaml")
    mapper = mapping.bind(["Full Name", "E-mail", "Job Title", "GitHub", "Notes"])
    prepared = prepare(
        mapper,
        "Grace Hopper",
        "grace@navy.mil",
        "Admiral",
        "github.com/grace",
        "Met at a conference",
    )
    assert prepared.body == {
        "name": "Grace Hopper",
        "email": "grace@navy.mil",
        "title": "Admiral",
        "social_links": [{"url": "https://github.com/grace", "type": "github"}],
        "custom_fields": [{"name": "Notes", "value": "Met at a conference"}],
    }


# -- the model check that proven values skip --------------------------------------------------

# Cells of every shape the rules meet: good, empty, wrong, mangled by Excel, split.
TRICKY_CELLS = [
    "",
    " ",
    "N/A",
    "-",
    "None",
    "Ada",
    " Ada Lovelace ",
    "Lovelace, Ada",
    "ada@example.com",
    "Ada@Example.COM; b@x.org",
    "ada@",
    "a@x.test",
    "+44 7911 123123",
    "07911 123123, 020 7946 0958",
    "(202) 555-0143",
    "12",
    "4.47701E+11",
    "447911123123.0",
    "not a phone",
    "2024-03-01",
    "01/03/2024",
    "31/02/2024",
    "45292",
    "next Tuesday",
    "https://www.linkedin.com/in/ada",
    "github.com/ada https://ada.dev",
    "x y",
    "mobile",
    "Cell",
    "WORK",
    "United Kingdom",
    "US",
    "Narnia",
    "7",
    "3.5",
    "1e400",
    "yes",
    "0",
    "true",
    "Ja",
]
TYPED_FIELDS = {
    "name": {"column": "Name", "required": True, "title": True},
    "email": {"column": "Email", "split": [",", ";"], "lower": True},
    "hired_at": {"column": "Hired", "date": {"day_first": True, "excel_serial": True}},
    "phone_numbers": [
        {
            "column": "Phone",
            "split": ",",
            "phone": {"region": "GB", "region_column": "Country"},
            "type": {
                "column": "Kind",
                "translate": {"Cell": "mobile"},
                "translate_default": "other",
            },
        },
        {"column": "Phone", "phone": "keep", "type": "work"},
    ],
    "social_links": [{"column": "Links", "split": " "}, {"column": "Site", "type": "website"}],
    "custom_fields": [
        {"name": "Years", "column": "Years", "as": "number", "default": 0},
        {"id": "cf_1", "column": "Remote", "as": "boolean", "translate": {"Ja": True, "no": False}},
        {"name": "From", "column": "Hired", "as": "date-time", "date": {"formats": ["%d/%m/%Y"]}},
        {"name": "Tags", "column": "Links", "split": " "},
    ],
    "passthrough": {
        "score": {"column": "Remote", "as": "number", "translate": {"Ja": 1.5, "no": "2"}}
    },
    "unified_custom_fields": {"batch": {"const": "2024-Q1"}, "n": {"const": 3, "as": "number"}},
}
TYPED_HEADERS = ["Name", "Email", "Hired", "Phone", "Kind", "Country", "Links", "Site"]
TYPED_HEADERS += ["Years", "Remote"]
TYPED_ROWS = [
    ["ada", "Ada@X.org", "01/03/2024", "07911 123123", "Cell", "UK", "github.com/a", "", "3", "ja"],
    ["b c", "b@y.com", "2024-01-01", "+1 202 555 0143", "work", "US", "", "b.dev", "", "no"],
]


def _mappers():
    """Every shipped mapping bound to its sample's headers with the sample's rows, and a
    mapping that uses every rule."""
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        mapping = load_mapping(path)
        stem = "candidates" if path.stem == "default" else path.stem
        for sample in sorted((ROOT / "samples").glob(f"{stem}*.csv")):
            with sample.open(encoding="utf-8-sig", newline="") as f:
                headers, *rows = csv.reader(f)
            rows = [row for row in rows if len(row) == len(headers)]
            yield sample.name, mapping.bind(headers), rows
    yield "typed", bind(TYPED_FIELDS, TYPED_HEADERS), TYPED_ROWS


@pytest.mark.parametrize(("name", "mapper", "rows"), list(_mappers()))
def test_prepare_without_the_model_check_agrees_with_it(name, mapper, rows):
    assert not mapper._check_model, "every value these mappings give is proven"
    checked = copy.copy(mapper)
    checked._check_model = True
    generator = random.Random(name)
    sent = 0
    for number in range(2, 2000):
        # a row of the sample with a few cells made tricky
        cells = list(generator.choice(rows))
        for _ in range(generator.randint(0, 2)):
            cells[generator.randrange(len(cells))] = generator.choice(TRICKY_CELLS)
        row = SourceRow(number, tuple(cells))
        prepared = mapper.prepare(row)
        assert prepared == checked.prepare(row), cells
        sent += prepared.body is not None
    assert 200 < sent < 1900


@pytest.mark.parametrize(
    ("fields", "headers", "cells", "field"),
    [
        # a phone type as typed in its cell: only the model knows the accepted types
        (
            {"phone_numbers": [{"column": "P", "phone": "keep", "type": {"column": "T"}}]},
            ["P", "T"],
            ("+44 20", "Cell"),
            "phone_numbers[0].type",
        ),
        # YAML's .inf is a float that no JSON body can hold
        (
            {"passthrough": {"x": {"const": math.inf, "as": "number"}}},
            ["P"],
            ("",),
            "passthrough.x",
        ),
        (
            {"custom_fields": [{"name": "n", "column": "N", "as": "number", "default": -math.inf}]},
            ["N"],
            ("",),
            "custom_fields[0].value",
        ),
    ],
)
def test_values_not_proven_are_checked_by_the_model(fields, headers, cells, field):
    mapper = bind({**NAME, **fields}, headers)
    assert mapper._check_model
    [reject] = prepare(mapper, *cells).rejects
    assert (reject.code, reject.field) == (Code.INVALID_VALUE, field)


def test_an_extension_split_off_by_a_comma_is_sent_with_its_number():
    # the shipped mappings' phone columns split on "," and ";"
    headers = ["Name", "Email", "Phone", "Country"]
    mapper = load_mapping(Path("mappings/default.yaml")).bind(headers)
    prepared = prepare(mapper, "Ada", "ada@example.com", "+1 202 555 0143, ext 7", "United States")
    assert prepared.warnings == ()
    assert prepared.body["phone_numbers"] == [{"phone": "+12025550143 ext. 7"}]


def test_excel_error_values_are_no_value_in_every_kind_of_field():
    headers = ["First Name", "Last Name", "Email", "Hired On", "Phone", "Country", "LinkedIn"]
    mapper = load_mapping(Path("mappings/default.yaml")).bind(headers)
    row = ["Ada", "Lovelace", "#N/A", "#VALUE!", "#REF!", "United Kingdom", "#N/A"]
    prepared = prepare(mapper, *row)
    assert prepared.rejects == ()
    assert prepared.body == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "United Kingdom",
    }
    dropped = [(w.code, w.column) for w in prepared.warnings]
    assert ("value-dropped", "Email") in dropped
    assert ("value-dropped", "Hired On") in dropped
    assert ("value-dropped", "Phone") in dropped
    # a name that is an Excel error is no name: the candidate cannot be created without one
    no_surname = prepare(mapper, "Ada", "#N/A", "ada@example.com", "", "", "", "")
    assert [r.code for r in no_surname.rejects] == ["missing-name"]
    # ... and the reject says why the cell that is there is no name, not only "fill in"
    assert no_surname.rejects[0].message == (
        "the row has a first name but no last name, and the API needs both, or a full name; "
        'fill in "Last Name"; column "Last Name": '
        '"#N/A" is what Excel shows for a formula it could not compute, not a value: left out'
    )
    empty = prepare(mapper, "", "Lovelace", "ada@example.com", "", "", "", "")
    assert empty.rejects[0].message == (
        "the row has a last name but no first name, and the API needs both, or a full name; "
        'fill in "First Name"'
    )


def test_a_key_cell_that_is_no_value_is_no_key():
    from importer.run.keys import RowKey

    mapping = parse_mapping(
        {
            "version": 1,
            "key": "Candidate ID",
            "empty_values": ["", "N/A"],
            "fields": {
                "name": {"column": "Name"},
                "custom_fields": [{"name": "Legacy ID", "column": "Candidate ID"}],
            },
        },
        "test.yaml",
    )
    keys = RowKey(mapping, ["Name", "Candidate ID"])
    cells = {"L-1": "L-1", " L-2 ": "L-2", "": None, "N/A": None, "#N/A": None, "#REF!": None}
    for cell, key in cells.items():
        # rows sharing #N/A are not one person: no key, so no duplicate-in-file between them
        assert keys.of(SourceRow(2, ("Ada", cell)), None) == key, cell


def test_the_columns_a_mapping_does_not_read_are_every_other_header():
    mapping = parse_mapping(
        {
            "version": 1,
            "key": "Candidate ID",
            "account": {"column": "Account"},
            "fields": {
                "name": {"template": "{First} {Last}"},
                "phone_numbers": [{"column": "Phone", "phone": {"region_column": "Country"}}],
                "custom_fields": [{"name": "Legacy ID", "column": "Candidate ID"}],
            },
        },
        "test",
    )
    headers = ["First", "Last", "phone", "COUNTRY", "Candidate ID", "Account", "Email", "", "Zip"]
    # "Email": the default key names a field this mapping does not give, not a column it reads
    assert mapping.unread(headers) == ["Email", "Zip"]
    assert mapping.unread(headers, also=["EMAIL"]) == ["Zip"]


def test_values_on_lines_of_their_own_in_a_cell_are_several_values():
    """Alt+Enter in Excel puts a second phone or address on a line of its own in the cell: the
    shipped mappings split there too (an e-mail cell of two lines was invalid-email)."""
    headers = ["First Name", "Last Name", "Email", "Phone", "Country", "Links"]
    mapper = load_mapping(Path("mappings/default.yaml")).bind(headers)
    row = (
        "Ada",
        "Lovelace",
        "ada@example.org\nada@work.example",
        "07911 123456\r\n020 7946 0958",
        "UK",
        "https://linkedin.com/in/ada\nhttps://github.com/ada",
    )
    prepared = prepare(mapper, *row)
    assert prepared.rejects == ()
    assert prepared.body["email"] == "ada@example.org"
    assert prepared.body["phone_numbers"] == [
        {"phone": "+447911123456"},
        {"phone": "+442079460958"},
    ]
    assert [link["type"] for link in prepared.body["social_links"]] == ["linkedin", "github"]
    assert [w.code for w in prepared.warnings] == ["extra-values-dropped"]
