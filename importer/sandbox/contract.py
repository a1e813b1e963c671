"""The wire contract: request validation compiled from the OpenAPI YAML, and response bodies.

Validation is written here from the YAML rather than borrowed from
``importer.mapping.models``, so the sandbox catches the importer's own mistakes. Compiled once,
it is a tree of small closures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import orjson
import yaml

SPEC_FILE = "ats-create-candidate.yaml"
REQUEST_SCHEMA = "AtsCreateCandidateRequestDto"
MAX_PROBLEMS = 10
PROVIDER_URL = "https://ats.sandbox.invalid/api/v1/candidates"

# A check appends "path: problem" lines for the value at ``path``.
Check = Callable[[Any, str, list[str]], None]

_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
# RFC 3339 (what OpenAPI's date-time means): a time and an offset are required.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")
_CONTAINERS = {"object", "array"}
# Keywords that only document; anything not handled or listed here fails compilation, so a
# changed YAML cannot be silently under-validated.
_DOCUMENTATION = {"description", "example", "deprecated", "title", "x-speakeasy-unknown-values"}


class SchemaError(Exception):
    """The YAML uses a schema feature this validator does not implement."""


@cache
def load_spec() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(text, Loader=loader)
    return spec


@cache
def request_check() -> Check:
    schemas = load_spec()["components"]["schemas"]
    return compile_schema(schemas[REQUEST_SCHEMA], schemas)


def validate_request(body: Any) -> list[str]:
    """Every contract problem in a create-candidate body, each naming its field path."""
    problems: list[str] = []
    request_check()(body, "", problems)
    return problems


def problems_message(problems: list[str]) -> str:
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more else "")


def has_name(body: Mapping[str, Any]) -> bool:
    """The provider's rule: a ``name``, or both ``first_name`` and ``last_name``."""
    return bool(body.get("name")) or bool(body.get("first_name") and body.get("last_name"))


def compile_schema(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Check:
    """Turn one OpenAPI 3.1 schema object (with ``nullable``) into a check."""
    if "$ref" in schema:
        return compile_schema(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    known = {"type", "nullable", "enum", "format", "properties", "additionalProperties"}
    known |= {"items", "oneOf"} | _DOCUMENTATION
    unknown = set(schema) - known
    if unknown:
        raise SchemaError(f"unsupported schema keywords: {sorted(unknown)}")
    nullable = bool(schema.get("nullable"))
    checks: list[Check] = []
    if "oneOf" in schema:
        checks.append(_any_of([compile_schema(s, schemas) for s in schema["oneOf"]]))
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check([v for v in schema["enum"] if v is not None]))
    if "format" in schema:
        if schema["format"] != "date-time":
            raise SchemaError(f"unsupported format: {schema['format']}")
        checks.append(_date_time_check)
    if ("properties" in schema or "items" in schema) and schema.get("type") not in _CONTAINERS:
        raise SchemaError("properties and items need type object or array beside them")
    if "properties" in schema:
        properties = {name: compile_schema(s, schemas) for name, s in schema["properties"].items()}
        # Strict on purpose: a field the contract does not list is refused, not ignored, so a
        # misspelt field in a client shows up (unless the schema allows any properties).
        checks.append(_object_check(properties, schema.get("additionalProperties") is True))
    if schema.get("items"):
        checks.append(_items_check(compile_schema(schema["items"], schemas)))

    def check(value: Any, path: str, problems: list[str]) -> None:
        if value is None and nullable:
            return
        for one in checks:
            before = len(problems)
            one(value, path, problems)
            if len(problems) > before:
                return

    return check


def _type_check(type_name: str) -> Check:
    if type_name not in _JSON_TYPES:
        raise SchemaError(f"unsupported type: {type_name}")
    matches = _JSON_TYPES[type_name]

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not matches(value):
            problems.append(f"{_where(path)}: {_show(value)} is not of type {type_name}")

    return check


def _enum_check(allowed: list[Any]) -> Check:
    listing = ", ".join(str(v) for v in allowed)

    def check(value: Any, path: str, problems: list[str]) -> None:
        if value not in allowed:
            problems.append(f"{_where(path)}: {_show(value)} is not one of {listing}")

    return check


def _date_time_check(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, str) and _DATE_TIME.match(value):
        try:
            datetime.fromisoformat(value.upper())
            return
        except ValueError:
            pass
    problems.append(
        f"{_where(path)}: {_show(value)} is not a valid date-time "
        "(RFC 3339 with a time zone, e.g. 2021-01-01T01:01:01.000Z)"
    )


def _object_check(properties: dict[str, Check], open_ended: bool) -> Check:
    allowed = ", ".join(properties)

    def check(value: Any, path: str, problems: list[str]) -> None:
        for name, item in value.items():
            item_path = f"{path}.{name}" if path else name
            if name in properties:
                properties[name](item, item_path, problems)
            elif not open_ended:
                problems.append(f"{item_path}: unknown field (allowed: {allowed})")

    return check


def _items_check(item_check: Check) -> Check:
    def check(value: Any, path: str, problems: list[str]) -> None:
        for index, item in enumerate(value):
            item_check(item, f"{path}[{index}]", problems)

    return check


def _any_of(options: list[Check]) -> Check:
    # Read as anyOf: the YAML's oneOf lists both "string" and "date-time string", so a strict
    # oneOf would reject every date, which StackOne does not do.
    def check(value: Any, path: str, problems: list[str]) -> None:
        for option in options:
            scratch: list[str] = []
            option(value, path, scratch)
            if not scratch:
                return
        problems.append(f"{_where(path)}: {_show(value)} matches none of the allowed types")

    return check


def _where(path: str) -> str:
    return path or "body"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def timestamp(wall: float) -> str:
    """ISO 8601 with milliseconds and Z, as StackOne writes ``timestamp``."""
    moment = datetime.fromtimestamp(wall, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_body(status: int, message: str, wall: float, **extra: Any) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "timestamp": timestamp(wall), **extra}


def provider_error(status: int, message: str) -> dict[str, Any]:
    """One ``provider_errors`` entry: the ATS's own answer, passed through by StackOne."""
    return {
        "status": status,
        "url": PROVIDER_URL,
        "raw": {"error": message},
        "headers": {"content-type": "application/json"},
    }


def create_result(candidate_id: str, remote_id: str, wall: float) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "message": "Record created successfully.",
        "timestamp": timestamp(wall),
        "data": {"id": candidate_id, "remote_id": remote_id},
    }


_VIEW_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone_numbers",
    "social_links",
    "company",
    "title",
    "country",
    "hired_at",
    "custom_fields",
)


def candidate_view(
    candidate_id: str, remote_id: str, created_at: str, body_json: str
) -> dict[str, Any]:
    """A stored create request as ``GET /unified/ats/candidates`` shows the candidate."""
    body = orjson.loads(body_json)
    view: dict[str, Any] = {"id": candidate_id, "remote_id": remote_id}
    view["name"] = body.get("name") or " ".join(
        part for part in (body.get("first_name"), body.get("last_name")) if part
    )
    view.update((name, body.get(name)) for name in _VIEW_FIELDS)
    view["emails"] = [{"type": "personal", "value": body["email"]}] if body.get("email") else []
    view["created_at"] = created_at
    return view
