"""The mapping file's schema: pydantic models of every entry, field group and option."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Literal, Self

import phonenumbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    model_validator,
)

from importer.read.headers import normalise_header
from importer.read.hyperlinks import LINK_SUFFIX

if TYPE_CHECKING:
    from importer.mapping.rows import RowMapper


Scalar = str | int | float | bool
OnInvalid = Literal["reject", "keep", "drop"]
"""What a value the field's rule cannot read does to its row: rejects it, is sent as typed with
a warning, or is left out with a warning. Only for fields that do not identify the candidate."""
Kind = Literal[
    "text", "email", "phone", "phone-type", "date-time", "url", "number", "boolean", "link-type"
]


# -- the YAML schema -----------------------------------------------------------------------


def _scalar(value: object) -> Scalar:
    if isinstance(value, str | bool | int | float):
        return value
    raise ValueError("must be text, a number or true/false")


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _names(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("must name at least one column")
    if any(not name.strip() for name in value):
        raise ValueError("a column name cannot be empty")
    return value


def _separators(value: list[str]) -> list[str]:
    if not value or any(not separator for separator in value):
        raise ValueError('must be a non-empty separator such as "," or a list of them')
    return value


_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")


def template_parts(template: str) -> tuple[str, list[tuple[str, str]], str]:
    """Split a template into (prefix, [(separator, column)...], suffix); ``{{ }}`` are braces."""
    parts: list[tuple[str, str]] = []
    literal = ""
    prefix: str | None = None
    for match in _TEMPLATE_TOKEN.finditer(template):
        token = match.group()
        if match.group(1) is not None:
            name = match.group(1).strip()
            if not name:
                raise ValueError("{} needs a column name inside, like {First Name}")
            if prefix is None:
                prefix, literal = literal, ""
            parts.append((literal, name))
            literal = ""
        elif token in ("{", "}"):
            raise ValueError(f'unmatched "{token}"; write {{{{ or }}}} for a literal brace')
        else:
            literal += token[0] if token in ("{{", "}}") else token
    if prefix is None:
        raise ValueError("a template needs at least one {Column}; use const for fixed text")
    return prefix, parts, literal


def _template(value: str) -> str:
    template_parts(value)
    return value


_STRPTIME_DIRECTIVES = set("aAbBcdfHIjmMpSUwWyYzZGuV%")


def _strptime_format(value: str) -> str:
    directives = re.findall(r"%(.?)", value)
    unknown = sorted({d for d in directives if d not in _STRPTIME_DIRECTIVES})
    if unknown:
        raise ValueError(f"unknown strptime directive {', '.join('%' + d for d in unknown)}")
    if not [d for d in directives if d != "%"]:
        raise ValueError('a date format needs directives such as "%d/%m/%Y"')
    return value


def _region(value: str) -> str:
    region = value.upper()
    if region == "UK":
        raise ValueError('unknown region "UK"; the code for the United Kingdom is GB')
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f'unknown region "{value}"; use a two-letter country code such as GB')
    return region


def _phone_shorthand(value: object) -> object:
    if value == "keep":
        return {"keep": True}
    if isinstance(value, str):
        raise ValueError("write phone: keep, or phone: {region: GB}")
    return value


def _type_shorthand(value: object) -> object:
    return {"const": value} if isinstance(value, str) else value


ScalarValue = Annotated[Scalar, PlainValidator(_scalar)]
Columns = Annotated[list[str], BeforeValidator(_as_list), AfterValidator(_names)]
Separators = Annotated[list[str], BeforeValidator(_as_list), AfterValidator(_separators)]
Template = Annotated[str, AfterValidator(_template)]
StrptimeFormat = Annotated[str, AfterValidator(_strptime_format)]
Region = Annotated[str, AfterValidator(_region)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def problems(self) -> list[str]:
        """Conflicts between keys; every one is reported at once."""
        return []

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ValueSpec(_Spec):
    """A source plus the text rules; also the ``type:`` of phone and link entries."""

    column: Columns | None = None
    template: Template | None = None
    const: ScalarValue | None = None
    optional_column: bool = False
    strip: bool = True
    empty_values: list[str] | None = None
    lower: bool = False
    upper: bool = False
    title: bool = False
    translate: dict[str, ScalarValue] | None = None
    translate_default: ScalarValue | None = None
    default: ScalarValue | None = None
    required: bool = False

    def problems(self) -> list[str]:
        problems = super().problems()
        sources = [k for k in ("column", "template", "const") if getattr(self, k) is not None]
        if len(sources) != 1:
            found = f" (found {' and '.join(sources)})" if sources else ""
            problems.append(f"give exactly one of column, template or const{found}")
        if self.lower + self.upper + self.title > 1:
            problems.append("use only one of lower, upper and title")
        if self.required and self.default is not None:
            problems.append("use required or default, not both: with a default nothing is missing")
        if self.translate_default is not None and self.translate is None:
            problems.append("translate_default needs a translate table")
        if self.optional_column and self.const is not None:
            problems.append("optional_column needs column or template")
        if self.translate:
            folded: dict[str, str] = {}
            for key in self.translate:
                other = folded.setdefault(key.strip().casefold(), key)
                if other != key:
                    problems.append(
                        f'translate has "{other}" and "{key}", which match the same cells'
                    )
        return problems


class FieldSpec(ValueSpec):
    split: Separators | None = None
    name_part: Literal["first", "last"] | None = None


class DateOptions(_Spec):
    formats: list[StrptimeFormat] = Field(default_factory=list)
    day_first: bool | None = None
    excel_serial: bool = False


class PhoneOptions(_Spec):
    region: Region | None = None
    region_column: Columns | None = None
    keep: bool = False

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.keep and (self.region or self.region_column):
            problems.append("keep sends numbers as typed, so a region has no effect: drop one")
        return problems


PhoneRule = Annotated[PhoneOptions, BeforeValidator(_phone_shorthand)]
TypeRule = Annotated[ValueSpec, BeforeValidator(_type_shorthand)]


class DateFieldSpec(FieldSpec):
    date: DateOptions = DateOptions()
    on_invalid: OnInvalid = "reject"

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.on_invalid == "keep":
            problems.append(
                "on_invalid: keep sends a value as typed, which a date field cannot take: "
                "use reject or drop"
            )
        return problems


class PhoneFieldSpec(FieldSpec):
    phone: PhoneRule = PhoneOptions()
    on_invalid: OnInvalid = "reject"

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.phone.keep and self.on_invalid != "reject":
            problems.append(
                "phone: keep sends every number as typed, so on_invalid has no effect: drop one"
            )
        return problems


class PhoneEntry(PhoneFieldSpec):
    type: TypeRule | None = None


class LinkEntry(FieldSpec):
    type: TypeRule | None = None
    on_invalid: OnInvalid = "reject"


class TypedFieldSpec(FieldSpec):
    as_: Literal["string", "number", "boolean", "date-time"] = Field("string", alias="as")
    date: DateOptions | None = None
    on_invalid: OnInvalid = "reject"

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.date is not None and self.as_ != "date-time":
            problems.append("date applies only with as: date-time")
        if self.on_invalid == "keep" and self.as_ == "date-time":
            problems.append(
                "on_invalid: keep sends a value as typed, which a date-time field cannot take: "
                "use reject or drop"
            )
        return problems


class CustomFieldEntry(TypedFieldSpec):
    name: str | None = None
    id: str | None = None
    remote_id: str | None = None

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.name is None and self.id is None and self.remote_id is None:
            problems.append("a custom field needs its name (or id / remote_id)")
        return problems


class Fields(_Spec):
    name: FieldSpec | None = None
    first_name: FieldSpec | None = None
    last_name: FieldSpec | None = None
    email: FieldSpec | None = None
    company: FieldSpec | None = None
    title: FieldSpec | None = None
    country: FieldSpec | None = None
    phone_number: PhoneFieldSpec | None = None
    hired_at: DateFieldSpec | None = None
    phone_numbers: list[PhoneEntry] = Field(default_factory=list)
    social_links: list[LinkEntry] = Field(default_factory=list)
    custom_fields: list[CustomFieldEntry] = Field(default_factory=list)
    passthrough: dict[str, TypedFieldSpec] = Field(default_factory=dict)
    unified_custom_fields: dict[str, TypedFieldSpec] = Field(default_factory=dict)


SCALAR_KINDS: dict[str, Kind] = {
    "name": "text",
    "first_name": "text",
    "last_name": "text",
    "email": "email",
    "company": "text",
    "title": "text",
    "country": "text",
    "phone_number": "phone",
    "hired_at": "date-time",
}
AS_KINDS: dict[str, Kind] = {
    "string": "text",
    "number": "number",
    "boolean": "boolean",
    "date-time": "date-time",
}
NAME_FIELDS = ("name", "first_name", "last_name")


class AccountSpec(_Spec):
    """Which column names each row's linked account (``x-account-id``)."""

    column: str = Field(min_length=1)


class Mapping(_Spec):
    """A mapping file: where each request field comes from. ``bind`` it to a file's headers."""

    version: Literal[1]
    header_row: int | None = Field(None, ge=1)
    """The spreadsheet row holding the column names; None: found in the file."""
    sheet: str | None = Field(None, min_length=1)
    """The workbook sheet to read; None: the first visible one. A CSV file has no sheets: it
    is read whatever this says, as a mapping made from a workbook serves its CSV export too."""
    empty_values: list[str] = Field(default_factory=lambda: [""])
    key: str = "email"
    account: AccountSpec | None = None
    """Rows go to the account their cell in this column names; None: the run's one account."""
    link_types: dict[str, str] = Field(default_factory=dict)
    fields: Fields
    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        """Where the mapping came from (a path, or what the caller of parse_mapping said)."""
        return self._source

    def specs(self) -> Iterator[tuple[str, ValueSpec, Kind]]:
        """Every value spec with its key path and the kind of value it produces."""
        fields = self.fields
        for name, kind in SCALAR_KINDS.items():
            spec = getattr(fields, name)
            if spec is not None:
                yield f"fields.{name}", spec, kind
        for i, phone in enumerate(fields.phone_numbers):
            yield f"fields.phone_numbers[{i}]", phone, "phone"
            if phone.type is not None:
                yield f"fields.phone_numbers[{i}].type", phone.type, "phone-type"
        for i, link in enumerate(fields.social_links):
            yield f"fields.social_links[{i}]", link, "url"
            if link.type is not None:
                yield f"fields.social_links[{i}].type", link.type, "link-type"
        for i, custom in enumerate(fields.custom_fields):
            yield f"fields.custom_fields[{i}]", custom, AS_KINDS[custom.as_]
        for group in ("passthrough", "unified_custom_fields"):
            for key, typed in getattr(fields, group).items():
                yield f"fields.{group}.{key}", typed, AS_KINDS[typed.as_]

    def columns(self) -> list[str]:
        """Every column name the mapping reads, in mapping order, each once (with the twins of
        links a link entry reads, ``read_columns``)."""
        seen: dict[str, str] = {}
        for _, spec, kind in self.specs():
            for name in read_columns(columns_of(spec), links=kind == "url"):
                seen.setdefault(normalise_header(name), name)
        return list(seen.values())

    def unread(self, headers: Sequence[str], also: Sequence[str] = ()) -> list[str]:
        """The headers no field reads (the key is one of them), nor the account column, nor
        ``also``: in file order, blank headers left out."""
        names = [*self.columns(), *also]
        if self.account is not None:
            names.append(self.account.column)
        read = {normalise_header(name) for name in names}
        return [
            header for header in headers if header.strip() and normalise_header(header) not in read
        ]

    def bind(self, headers: Sequence[str], source: str = "") -> RowMapper:
        """Compile the mapping against a header row.

        Raises ``MissingColumnError`` naming every mapped column the headers lack, and
        ``ConfigError`` when a mapped column matches two headers.
        """
        from importer.mapping.rows import RowMapper

        return RowMapper(self, headers, source)


def read_columns(names: Sequence[str], *, links: bool) -> list[str]:
    """The columns an entry naming ``names`` reads, in the order it tries them. A link entry
    (``links``) reads first the twin a workbook's reader gives a column whose cells link
    somewhere they do not show ("Profile" linking to a LinkedIn page): that address is the
    link, where the text shown is no web address."""
    if not links:
        return list(names)
    return [column for name in names for column in (f"{name}{LINK_SUFFIX}", name)]


def columns_of(spec: ValueSpec) -> list[str]:
    names = []
    if spec.column is not None:
        names += spec.column
    if spec.template is not None:
        names += [name for _, name in template_parts(spec.template)[1]]
    if isinstance(spec, PhoneFieldSpec) and spec.phone.region_column:
        names += spec.phone.region_column
    return names
