"""Pydantic request models mirroring ``AtsCreateCandidateRequestDto``, extra fields forbidden.

The models are strict: they check the body the mapping built and never coerce it, so the dict
that passed validation is exactly the JSON that is sent.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

PhoneType = Literal["personal", "work", "mobile", "home", "unknown", "other", "unmapped_value"]
PHONE_TYPES: tuple[str, ...] = get_args(PhoneType)

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def _date_time(value: str) -> str:
    """An RFC 3339 date-time with a time zone, as the contract's ``format: date-time`` says."""
    if _DATE_TIME.fullmatch(value):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise ValueError("must be a date-time like 2024-03-01T00:00:00.000Z")


def _json_value(value: Any) -> Any:
    """Any JSON value: text, a finite number, true/false, null, an object or a list of them."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, list):
        for item in value:
            _json_value(item)
        return value
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for item in value.values():
            _json_value(item)
        return value
    raise ValueError("must be text, a finite number, true/false, an object or a list")


DateTime = Annotated[str, AfterValidator(_date_time)]
JsonValue = Annotated[Any, AfterValidator(_json_value)]


MAX_REQUEST_BYTES = 1_000_000
"""Largest create-candidate body sent. StackOne publishes no request size limit; 1 MB is a
conservative guess under the 1 MiB many gateways enforce (aiohttp's default answers 413 past
it), so a row over it is rejected as ``too-large`` before it is sent, not after."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PhoneNumber(_Model):
    type: PhoneType | None = None
    phone: str | None = None


class SocialLink(_Model):
    type: str | None = None
    url: str | None = None


class CustomFields(_Model):
    id: str | None = None
    remote_id: str | None = None
    name: str | None = None
    value: JsonValue = None
    value_id: str | None = None
    remote_value_id: str | None = None


class CandidateCreate(_Model):
    """The body of ``POST /unified/ats/candidates``."""

    passthrough: dict[str, JsonValue] | None = None
    unified_custom_fields: dict[str, JsonValue] | None = None
    phone_number: str | None = None  # deprecated by the API in favour of phone_numbers
    phone_numbers: list[PhoneNumber] | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    social_links: list[SocialLink] | None = None
    company: str | None = None
    title: str | None = None
    hired_at: DateTime | None = None
    country: str | None = None
    custom_fields: list[CustomFields] | None = None


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem pydantic found, at a request field path such as ``phone_numbers[1].type``."""

    field: str
    message: str
    value: Any


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("phone_numbers", 1, "type")`` → ``"phone_numbers[1].type"``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


_MESSAGES = {
    "extra_forbidden": "is not a field of the request",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
}


def field_errors(error: ValidationError) -> list[FieldError]:
    """Every problem in ``error``, with its field path and a message a user can act on."""
    problems = []
    for detail in error.errors(include_url=False):
        kind = detail["type"]
        if kind == "literal_error":
            message = f"must be one of: {detail['ctx']['expected'].replace(chr(39), '')}"
        elif kind == "value_error":
            message = str(detail["ctx"]["error"])
        else:
            message = _MESSAGES.get(kind, detail["msg"])
        problems.append(FieldError(field_path(detail["loc"]), message, detail.get("input")))
    return problems
