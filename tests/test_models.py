from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from importer.mapping.models import (
    PHONE_TYPES,
    CandidateCreate,
    CustomFields,
    PhoneNumber,
    SocialLink,
    field_errors,
    field_path,
)

# the repository's copy of the shared API contract (the sandbox validates against it too)
CONTRACT = Path(__file__).parents[1] / "importer" / "sandbox" / "ats-create-candidate.yaml"

FULL_BODY = {
    "passthrough": {"other_known_names": "John Doe"},
    "unified_custom_fields": {"my_project_custom_field_1": "REF-1236"},
    "phone_number": "+1234567890",
    "phone_numbers": [{"type": "mobile", "phone": "+447700112233"}],
    "name": "Romain Sestier",
    "first_name": "Romain",
    "last_name": "Sestier",
    "email": "sestier.romain123@gmail.com",
    "social_links": [{"type": "linkedin", "url": "https://www.linkedin.com/in/romainsestier/"}],
    "company": "Company Inc.",
    "title": "Software Engineer",
    "hired_at": "2021-01-01T01:01:01.000Z",
    "country": "United States",
    "custom_fields": [
        {
            "id": "8187e5da",
            "remote_id": "8187e5da",
            "name": "Training Completion Status",
            "value": "Completed",
            "value_id": "value_456",
            "remote_value_id": "e3cb75bf",
        }
    ],
}


def problems(body):
    with pytest.raises(ValidationError) as caught:
        CandidateCreate.model_validate(body)
    return [(p.field, p.message, p.value) for p in field_errors(caught.value)]


def test_every_contract_field_validates_unchanged():
    model = CandidateCreate.model_validate(FULL_BODY)
    assert model.model_dump(exclude_unset=True) == FULL_BODY


def test_models_mirror_the_openapi_contract():
    schemas = yaml.safe_load(CONTRACT.read_text())["components"]["schemas"]
    request = schemas["AtsCreateCandidateRequestDto"]["properties"]
    assert set(CandidateCreate.model_fields) == set(request)
    phone_enum = schemas["PhoneNumber"]["properties"]["type"]["enum"]
    assert set(PHONE_TYPES) == {value for value in phone_enum if value is not None}
    for model in (PhoneNumber, SocialLink, CustomFields):
        assert set(model.model_fields) == set(schemas[model.__name__]["properties"])


def test_unknown_fields_are_refused():
    assert problems({"emails": ["a@x.com"]}) == [
        ("emails", "is not a field of the request", ["a@x.com"])
    ]


def test_strict_types_never_coerce():
    assert problems({"first_name": 5, "phone_numbers": [{"phone": 447911123123}]}) == [
        ("phone_numbers[0].phone", "must be text", 447911123123),
        ("first_name", "must be text", 5),
    ]


def test_phone_type_must_be_in_the_enum():
    [(field, message, value)] = problems({"phone_numbers": [{"type": "cell", "phone": "+1"}]})
    assert (field, value) == ("phone_numbers[0].type", "cell")
    assert message == (
        "must be one of: personal, work, mobile, home, unknown, other or unmapped_value"
    )


@pytest.mark.parametrize("value", ["2024-03-01", "01/03/2024", "2024-02-30T00:00:00Z", "soon"])
def test_hired_at_must_be_a_date_time(value):
    assert problems({"hired_at": value}) == [
        ("hired_at", "must be a date-time like 2024-03-01T00:00:00.000Z", value)
    ]


@pytest.mark.parametrize("value", ["2024-03-01T00:00:00.000Z", "2024-03-01T09:30:00+01:00"])
def test_hired_at_accepts_rfc3339(value):
    assert CandidateCreate.model_validate({"hired_at": value}).hired_at == value


@pytest.mark.parametrize("value", ["text", 3, 2.5, True, {"a": [1, None]}, ["a", "b"], None])
def test_custom_field_value_is_any_json_value(value):
    body = {"custom_fields": [{"name": "X", "value": value}]}
    assert CandidateCreate.model_validate(body).model_dump(exclude_unset=True) == body


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": object()}, {1: "x"}])
def test_custom_field_value_must_be_json(value):
    [(field, message, _)] = problems({"custom_fields": [{"name": "X", "value": value}]})
    assert field == "custom_fields[0].value"
    assert message.startswith("must be text, a finite number")


def test_deprecated_phone_number_is_still_accepted():
    assert CandidateCreate.model_validate({"phone_number": "+1234567890"}).phone_number


def test_field_path_formats_list_indexes_and_nested_keys():
    assert field_path(("phone_numbers", 1, "type")) == "phone_numbers[1].type"
    assert field_path(("passthrough", "legacy_id")) == "passthrough.legacy_id"
    assert field_path(()) == ""
