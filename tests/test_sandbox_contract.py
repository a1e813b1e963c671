"""The sandbox's own reading of the create-candidate contract, without a server."""

import uuid

import pytest

from importer.sandbox.contract import (
    SchemaError,
    candidate_view,
    compile_schema,
    has_name,
    problems_message,
    validate_request,
)

FULL_BODY = {
    "passthrough": {"other_known_names": "John Doe", "nested": {"any": [1, 2]}},
    "unified_custom_fields": {"my_field": "REF-1"},
    "phone_number": "+1234567890",
    "phone_numbers": [{"type": "mobile", "phone": "+447700112233"}, {"type": None, "phone": None}],
    "name": "Romain Sestier",
    "first_name": "Romain",
    "last_name": "Sestier",
    "email": "sestier.romain123@gmail.com",
    "social_links": [{"type": "linkedin", "url": "https://www.linkedin.com/in/x/"}],
    "company": "Company Inc.",
    "title": "Software Engineer",
    "hired_at": "2021-01-01T01:01:01.000Z",
    "country": "United States",
    "custom_fields": [
        {"id": "1", "name": "Status", "value": "Completed"},
        {"name": "Score", "value": 4.5, "value_id": "v", "remote_value_id": "r"},
        {"name": "Flag", "value": True, "remote_id": "x"},
        {"name": "Obj", "value": {"a": 1}},
        {"name": "List", "value": [1, "a"]},
        {"name": "When", "value": "2021-01-01T00:00:00Z"},
    ],
}


def test_every_field_of_the_contract_is_accepted() -> None:
    assert validate_request(FULL_BODY) == []


def test_every_nullable_field_accepts_null() -> None:
    assert validate_request(dict.fromkeys(FULL_BODY)) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"name": "A", "nickname": "B"}, "nickname: unknown field (allowed: passthrough, "),
        ({"name": 5}, "name: 5 is not of type string"),
        ({"name": True}, "name: True is not of type string"),
        ({"name": "A", "phone_numbers": "+44"}, "phone_numbers: '+44' is not of type array"),
        (
            {"name": "A", "phone_numbers": [{"type": "cell", "phone": "1"}]},
            "phone_numbers[0].type: 'cell' is not one of personal, work, mobile, home, unknown,"
            " other, unmapped_value",
        ),
        (
            {"name": "A", "phone_numbers": [{"phone": 447700112233}]},
            "phone_numbers[0].phone: 447700112233 is not of type string",
        ),
        (
            {"name": "A", "social_links": [{"kind": "x"}]},
            "social_links[0].kind: unknown field (allowed: type, url)",
        ),
        (
            {"name": "A", "hired_at": "2021-01-01"},
            "hired_at: '2021-01-01' is not a valid date-time",
        ),
        (
            {"name": "A", "hired_at": "2021-01-01T00:00:00"},
            "hired_at: '2021-01-01T00:00:00' is not a valid date-time",
        ),
        (
            {"name": "A", "hired_at": "2021-13-01T00:00:00Z"},
            "hired_at: '2021-13-01T00:00:00Z' is not a valid date-time",
        ),
        ({"name": "A", "hired_at": 1609459200}, "hired_at: 1609459200 is not of type string"),
        ({"name": "A", "custom_fields": [{"value": None, "x": 1}]}, "custom_fields[0].x: unknown"),
        ({"name": "A", "passthrough": []}, "passthrough: [] is not of type object"),
        ([{"name": "A"}], "body: [{'name': 'A'}] is not of type object"),
    ],
)
def test_contract_problems_name_the_field(body: object, problem: str) -> None:
    problems = validate_request(body)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


@pytest.mark.parametrize(
    "value", ["2021-01-01T01:01:01Z", "2021-01-01T01:01:01.123456789+02:00", "2021-01-01t01:01:01z"]
)
def test_rfc3339_date_times_are_accepted(value: str) -> None:
    assert validate_request({"name": "A", "hired_at": value}) == []


def test_all_problems_are_reported_and_the_message_is_capped() -> None:
    body = {f"extra_{i}": i for i in range(12)} | {"name": 1}
    problems = validate_request(body)
    assert len(problems) == 13
    message = problems_message(problems)
    assert message.count("unknown field") == 10
    assert message.endswith("; and 3 more")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "Ada Lovelace"}, True),
        ({"first_name": "Ada", "last_name": "Lovelace"}, True),
        ({"first_name": "Ada"}, False),
        ({"name": "", "first_name": "Ada", "last_name": None}, False),
        ({"email": "ada@example.com"}, False),
    ],
)
def test_name_rule(body: dict[str, object], named: bool) -> None:
    assert has_name(body) is named


def test_unsupported_schema_keywords_fail_loudly() -> None:
    with pytest.raises(SchemaError, match="minLength"):
        compile_schema({"type": "string", "minLength": 1}, {})


def test_candidate_view_shows_the_stored_request_as_a_candidate() -> None:
    candidate_id = str(uuid.uuid4())
    view = candidate_view(
        candidate_id,
        "cand_000007",
        "2026-01-01T00:00:00.000Z",
        '{"first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com"}',
    )
    assert view["id"] == candidate_id
    assert view["remote_id"] == "cand_000007"
    assert view["name"] == "Ada Lovelace"
    assert view["email"] == "Ada@Example.com"
    assert view["emails"] == [{"type": "personal", "value": "Ada@Example.com"}]
