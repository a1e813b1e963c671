"""The conversion each kind of value gets, what ``on_invalid`` makes of a value it refuses, and
constants checked as they will be sent; and the steps before the conversion (a name's part,
case, translation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from importer import rules
from importer.errors import WarningCode
from importer.mapping.models import PHONE_TYPES
from importer.mapping.schema import (
    DateOptions,
    FieldSpec,
    Kind,
    PhoneFieldSpec,
    PhoneOptions,
    Scalar,
    ValueSpec,
)
from importer.rules.text import NO_VALUE

# -- value conversion ----------------------------------------------------------------------

Convert = Callable[[str], Any]


def converter(
    kind: Kind, spec: ValueSpec, country: tuple[str | None, str | None] | None = None
) -> Convert:
    """The conversion of the field's kind. ``country``: a row's (region, country cell) for
    phones, instead of the spec's region; region None when the cell names no known country."""
    if kind == "email":
        return rules.email_address
    if kind == "phone":
        phone = spec.phone if isinstance(spec, PhoneFieldSpec) else PhoneOptions()
        if phone.keep:
            return rules.plain_text
        region, cell = (phone.region, None) if country is None else country
        return rules.phone_reader(region, cell)
    if kind == "date-time":
        date = getattr(spec, "date", None) or DateOptions()
        formats = tuple(date.formats)
        if date.day_first is not None:
            formats += rules.DAY_FIRST_FORMATS if date.day_first else rules.MONTH_FIRST_FORMATS
        return rules.date_converter(formats, date.excel_serial)
    if kind == "url":
        return rules.web_address
    if kind == "number":
        return rules.number
    if kind == "boolean":
        return rules.boolean
    return rules.plain_text


def constant(kind: Kind, value: Scalar, convert: Convert) -> Any:
    """A const, default or translation target as it will be sent; raises on a bad one."""
    if isinstance(value, str):
        converted = convert(value.strip()) if value.strip() else value
        if kind == "phone-type" and converted and converted not in PHONE_TYPES:
            raise ValueError(f'"{value}" is not a phone type; use one of: {", ".join(PHONE_TYPES)}')
        return converted
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise ValueError("must be text (put it in quotes)")


def lenient(spec: ValueSpec, convert: Convert) -> Convert:
    """``convert`` as the spec's ``on_invalid`` says: a value it refuses is a reject (as is),
    sent as typed with a warning (keep), or left out with a warning (drop).

    Under keep, a value that must not be sent as typed (see ``RuleError.keepable``: text with no
    digits in a phone, digits Excel already destroyed) is left out instead: the mapping asked
    for the candidate to go ahead despite an unreadable value, and the rest of the record is
    as usable as with any other such value."""
    excuse = excuse_for(spec)
    if excuse is None:
        return convert

    def leniently(text: str) -> Any:
        try:
            return convert(text)
        except rules.RuleError as error:
            return excuse(text, error)

    return leniently


def excuse_for(spec: ValueSpec) -> Callable[[str, rules.RuleError], rules.Flagged] | None:
    """What ``on_invalid`` makes of a value ``text`` that the conversion refused with
    ``error``; None under reject (the refusal is a reject)."""
    policy = getattr(spec, "on_invalid", "reject")
    if policy == "reject":
        return None
    keep = policy == "keep"

    def excuse(text: str, error: rules.RuleError) -> rules.Flagged:
        if keep and error.keepable:
            message = f"{error.message}; sent as typed"
            return rules.Flagged(text, WarningCode.KEPT_AS_TYPED, message)
        return rules.Flagged(NO_VALUE, WarningCode.VALUE_DROPPED, f"{error.message}; left out")

    return excuse


def finisher(spec: ValueSpec, convert: Convert) -> Convert:
    """The rules after reading (name part, case, translation), then the conversion."""
    steps: list[Callable[[str], str]] = []
    if isinstance(spec, FieldSpec) and spec.name_part is not None:
        part = 0 if spec.name_part == "first" else 1
        steps.append(lambda text: rules.split_full_name(text)[part])
    if spec.lower and convert is rules.email_address:
        # An address is checked as typed and lower-cased after: a message about it quotes the
        # cell as the user wrote it, and the address sent is the same.
        convert = _lowered_email
    elif spec.lower:
        steps.append(rules.lower_case)
    elif spec.upper:
        steps.append(str.upper)
    elif spec.title:
        steps.append(rules.title_case)
    translation = (
        None
        if spec.translate is None
        else rules.Translation(spec.translate, spec.translate_default)
    )
    if not steps and translation is None:
        return convert
    if len(steps) == 1 and translation is None:
        (step,) = steps

        def finish_one(text: str) -> Any:  # "lower: true" and the like, on every cell
            text = step(text)
            return convert(text) if text else NO_VALUE

        return finish_one

    def finish(text: str) -> Any:
        for step in steps:
            text = step(text)
        if translation is not None and text:
            translated = translation(text)
            if not isinstance(translated, str):
                return translated  # a number or boolean, checked against the field when loaded
            text = translated.strip()
        return convert(text) if text else NO_VALUE

    return finish


def _lowered_email(text: str) -> str | rules.Flagged:
    address = rules.email_address(text)
    if isinstance(address, str):
        return rules.lower_case(address)
    return address._replace(value=rules.lower_case(address.value))
