"""Mappings: YAML → validated ``Mapping`` → ``RowMapper`` bound to a header row → request bodies.

A mapping says, for each request field, where its value comes from and which rules clean it.
The full reference with examples is docs/mapping.md; in short::

    version: 1                    required; the schema version of this file
    empty_values: ["", "N/A"]     cells that count as empty after stripping (exact, case-sensitive;
                                  "" is always empty); default [""]; a field may override it
    key: email                    the field or column that identifies a row across runs
    link_types: {bsky.app: bluesky}   extra domain → social link type pairs for type: from_domain
    fields:                       keys are request fields:
      name / first_name / last_name / email / company / title / country / phone_number
      hired_at                    + date: {formats: [...], day_first: true, excel_serial: true}
      phone_numbers: [entry...]   + phone: {region: GB, region_column: Country} | keep,
                                    type: mobile | {column: Phone Type, translate: {...}}
      social_links: [entry...]    + type: linkedin | from_domain (the default) | {column: ...}
      custom_fields: [entry...]   + name / id / remote_id, as: string|number|boolean|date-time
      passthrough / unified_custom_fields: {key: entry}   + as, date

Every entry takes exactly one source and any of the rules, applied in this order:

    column: Email | [Email, E-mail]   the cell; from a list, the first non-empty one
    template: "{First Name} {Last Name}"   columns joined; empty parts and their separators drop
    const: "value"                same value in every row
    optional_column: true         no error when none of the columns is in the file: the entry
                                  is left out (alternatives in a list may always be missing as
                                  long as one of them exists)
    strip: true                   (default) trim surrounding whitespace
    empty_values: [...]           this entry's own empty-cell list
    split: "," | [",", ";"]       several values in one cell: scalar fields take the first,
                                  list entries make one item per value, custom values a list
    name_part: first | last       "Last, First" or "First Middle Last" → one part
    lower / upper / title: true   change case (title keeps "McDonald" and "VP" as typed)
    translate: {Cell: mobile}     case-insensitive table; a miss is invalid-value ...
    translate_default: other      ... unless this is given
    default: "value"              used when the cell is empty
    required: true                an empty cell is a required-value reject

Then the value is converted for its field (e-mail check, phone to E.164, date-time, URL,
number, boolean), the body holds only fields with values, and ``CandidateCreate`` validates it;
when the mapping can only give values the model accepts (see ``_proven``), the conversions have
already done so and the model is not run.
"""

from __future__ import annotations

import difflib
import math
import re
import types
import typing
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Self

import phonenumbers
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from importer import rules
from importer.errors import Code, ConfigError, MappingError, MissingColumnError, Reject
from importer.models import PHONE_TYPES, CandidateCreate, field_errors, field_path
from importer.readers import SourceRow

Scalar = str | int | float | bool
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


class PhoneFieldSpec(FieldSpec):
    phone: PhoneRule = PhoneOptions()


class PhoneEntry(PhoneFieldSpec):
    type: TypeRule | None = None


class LinkEntry(FieldSpec):
    type: TypeRule | None = None


class TypedFieldSpec(FieldSpec):
    as_: Literal["string", "number", "boolean", "date-time"] = Field("string", alias="as")
    date: DateOptions | None = None

    def problems(self) -> list[str]:
        problems = super().problems()
        if self.date is not None and self.as_ != "date-time":
            problems.append("date applies only with as: date-time")
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


_SCALAR_KINDS: dict[str, Kind] = {
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
_AS_KINDS: dict[str, Kind] = {
    "string": "text",
    "number": "number",
    "boolean": "boolean",
    "date-time": "date-time",
}
_NAME_FIELDS = ("name", "first_name", "last_name")


class Mapping(_Spec):
    """A mapping file: where each request field comes from. ``bind`` it to a file's headers."""

    version: Literal[1]
    empty_values: list[str] = Field(default_factory=lambda: [""])
    key: str = "email"
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
        for name, kind in _SCALAR_KINDS.items():
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
            yield f"fields.custom_fields[{i}]", custom, _AS_KINDS[custom.as_]
        for group in ("passthrough", "unified_custom_fields"):
            for key, typed in getattr(fields, group).items():
                yield f"fields.{group}.{key}", typed, _AS_KINDS[typed.as_]

    def columns(self) -> list[str]:
        """Every column name the mapping reads, in mapping order, each once."""
        seen: dict[str, str] = {}
        for _, spec, _ in self.specs():
            for name in _columns_of(spec):
                seen.setdefault(normalise_header(name), name)
        return list(seen.values())

    def bind(self, headers: Sequence[str], source: str = "") -> RowMapper:
        """Compile the mapping against a header row.

        Raises ``MissingColumnError`` naming every mapped column the headers lack, and
        ``ConfigError`` when a mapped column matches two headers.
        """
        return RowMapper(self, headers, source)


def _columns_of(spec: ValueSpec) -> list[str]:
    names = []
    if spec.column is not None:
        names += spec.column
    if spec.template is not None:
        names += [name for _, name in template_parts(spec.template)[1]]
    if isinstance(spec, PhoneFieldSpec) and spec.phone.region_column:
        names += spec.phone.region_column
    return names


# -- loading -------------------------------------------------------------------------------


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file; ``MappingError`` lists the key path of every problem."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the mapping ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the mapping is not UTF-8 text") from None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(str(path), [(where, f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise MappingError(str(path), loader.duplicates)
    return parse_mapping(data, str(path))


class _Loader(yaml.SafeLoader):
    """A safe loader that reports duplicate keys, which plain YAML silently overwrites."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable):
                if key in seen:
                    self.duplicates.append(
                        (f"line {line}", f"duplicate key {key!r} (first on line {seen[key]})")
                    )
                seen.setdefault(key, line)
        return super().construct_mapping(node, deep=deep)


def parse_mapping(data: object, source: str) -> Mapping:
    """Validate an already-loaded mapping (a dict); ``source`` names it in error messages."""
    if not isinstance(data, dict):
        raise MappingError(
            source, [("(top level)", "a mapping file is a YAML mapping with version and fields")]
        )
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as error:
        raise MappingError(source, _schema_problems(error)) from None
    problems = _value_problems(mapping)
    if problems:
        raise MappingError(source, problems)
    mapping._source = source
    return mapping


# Keys that are valid somewhere else, so a misplaced one gets a hint instead of "unknown".
_PLACES = {
    "date": "date applies only to hired_at, and to custom values with as: date-time",
    "phone": "phone applies only to phone_number and phone_numbers entries",
    "type": "type applies only to phone_numbers and social_links entries",
    "as": "as applies only to custom_fields, passthrough and unified_custom_fields entries",
    "name": "name applies only to custom_fields entries",
    "id": "id applies only to custom_fields entries",
    "remote_id": "remote_id applies only to custom_fields entries",
    "split": "split does not apply to a type",
    "name_part": "name_part does not apply to a type",
    "formats": "formats goes inside date: {formats: [...]}",
    "day_first": "day_first goes inside date: {day_first: true}",
    "excel_serial": "excel_serial goes inside date: {excel_serial: true}",
    "region": "region goes inside phone: {region: GB}",
    "region_column": "region_column goes inside phone: {region_column: Country}",
    "keep": "keep is written phone: keep",
}


def _schema_problems(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        kind = detail["type"]
        if kind == "extra_forbidden":
            message = _unknown_key(loc)
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "value_error":
            message = str(detail["ctx"]["error"])
        elif kind == "literal_error":
            expected = str(detail["ctx"]["expected"]).replace("'", "")
            message = f"must be one of: {expected}"
        elif kind == "string_type":
            message = "must be text (put it in quotes if YAML reads it as a number, yes/no or null)"
        elif kind == "bool_type":
            message = "must be true or false"
        elif kind == "list_type":
            message = "must be a list, like [a, b]"
        elif kind in ("dict_type", "model_type"):
            message = "must be a mapping of keys to values, like {column: Email}"
        else:
            message = detail["msg"]
        problems.append((field_path(loc) or "(top level)", message))
    return problems


def _unknown_key(loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    allowed = (
        [info.alias or name for name, info in model.model_fields.items()]
        if model is not None
        else []
    )
    if key in _PLACES:
        return _PLACES[key]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    return f"unknown key; the keys allowed here are: {', '.join(allowed)}"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    current: Any = Mapping
    for part in loc:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            by_alias = {info.alias or name: info for name, info in current.model_fields.items()}
            if part not in by_alias:
                return None
            current = by_alias[str(part)].annotation
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _value_problems(mapping: Mapping) -> list[tuple[str, str]]:
    """Constants, defaults and translations that the field could never send."""
    problems = []
    for path, spec, kind in mapping.specs():
        convert = _converter(kind, spec)
        checks: list[tuple[str, Scalar]] = []
        for key in ("const", "default", "translate_default"):
            value = getattr(spec, key)
            if value is not None:
                checks.append((f"{path}.{key}", value))
        for source, target in (spec.translate or {}).items():
            checks.append((f"{path}.translate.{source}", target))
        for where, value in checks:
            try:
                _constant(kind, value, convert)
            except rules.RuleError as error:
                problems.append((where, error.message))
            except ValueError as error:
                problems.append((where, str(error)))
    mapped = {path.removeprefix("fields.") for path, _, _ in mapping.specs()}
    columns = {normalise_header(name) for name in mapping.columns()}
    if "key" in mapping.model_fields_set and not (
        mapping.key in mapped or normalise_header(mapping.key) in columns
    ):
        problems.append(
            (
                "key",
                f'"{mapping.key}" is neither a mapped field (such as email) nor a mapped column',
            )
        )
    return problems


# -- value conversion ----------------------------------------------------------------------

Convert = Callable[[str], Any]


def _converter(kind: Kind, spec: ValueSpec, region: str | None = None) -> Convert:
    """The conversion of the field's kind; ``region`` overrides the phone region of the spec."""
    if kind == "email":
        return rules.email_address
    if kind == "phone":
        phone = spec.phone if isinstance(spec, PhoneFieldSpec) else PhoneOptions()
        if phone.keep:
            return rules.check_precision
        region = region or phone.region
        return lambda text: rules.phone_e164(text, region)
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
    return rules.check_precision


def _constant(kind: Kind, value: Scalar, convert: Convert) -> Any:
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


# -- binding: compile the mapping against a header row ---------------------------------------


def normalise_header(text: str) -> str:
    """The form headers are matched in: no BOM, inner whitespace collapsed, case-folded."""
    return " ".join(text.replace("\ufeff", "").replace("\u200b", "").split()).casefold()


def _column_letter(position: int) -> str:
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


class _Headers:
    """Finds mapped columns in a header row and collects what is missing or ambiguous."""

    def __init__(self, headers: Sequence[str]) -> None:
        self.labels = [h.replace("\ufeff", "").replace("\u200b", "").strip() for h in headers]
        self.positions: dict[str, list[int]] = {}
        for position, label in enumerate(self.labels):
            self.positions.setdefault(normalise_header(label), []).append(position)
        self.missing: list[str] = []
        # lists of alternative columns of which none is in the file (any one would do)
        self.alternatives: list[tuple[str, ...]] = []
        self.ambiguous: dict[str, str] = {}

    def find(self, name: str) -> int | None:
        positions = self.positions.get(normalise_header(name))
        if not positions:
            return None
        if len(positions) > 1:
            where = " and ".join(
                f'column {p + 1} ({_column_letter(p)}) "{self.labels[p]}"' for p in positions
            )
            self.ambiguous[normalise_header(name)] = f'"{name}" matches {where}'
        return positions[0]


class _Empty:
    """No value: the field is left out of the body."""


_NO_VALUE = _Empty()


@dataclass(frozen=True, slots=True)
class _Failure:
    code: Code
    message: str
    column: str | None
    value: str | None


Read = Callable[[Sequence[str]], tuple[str, int]]
Run = Callable[[Sequence[str]], Any]


@dataclass(frozen=True, slots=True)
class _Program:
    """One value spec compiled: ``run`` gives the value (or _NO_VALUE, a _Failure, or for a multi
    program a list of values and failures); ``origin`` says which column and cell it came from.
    ``proven``: every value it gives is one that ``CandidateCreate`` accepts where it goes."""

    run: Run
    origin: Callable[[Sequence[str]], Origin]
    proven: bool


def _constant_program(value: Any, multi: bool, proven: bool) -> _Program:
    def origin(row: Sequence[str]) -> Origin:
        return None, None, "the mapping's const"

    if multi:
        values = [value]
        return _Program(lambda row: values, origin, proven)
    return _Program(lambda row: value, origin, proven)


def _proven(kind: Kind, spec: ValueSpec, constants: list[Any]) -> bool:
    """Whether the request model accepts every value a spec can give, so that rows made only
    of such values need no model check (a test compares prepare with and without it).

    Each kind's conversion gives text (for hired_at, an RFC 3339 date-time), a finite number
    or true/false, which is what the model's fields take; loading the mapping checked its
    constants and translations the same way. Two things are left: a phone type taken from a
    cell as typed (the model knows the accepted types), and a number constant that is not
    finite (YAML's .inf), which only the model refuses.
    """
    if kind == "phone-type" and spec.const is None and spec.translate is None:
        return False
    return all(not isinstance(value, float) or math.isfinite(value) for value in constants)


Origin = tuple[str | None, str | None, str]
Describe = Callable[[Sequence[str], int], Origin]


def _reader(
    spec: ValueSpec, headers: _Headers, empty: frozenset[str]
) -> tuple[Read, Describe, int | None] | None:
    """Compile how a spec reads its text from a row (stripped, "" when empty) and how to name
    where it came from: (header text, cell text, phrase for messages); then the position of
    its one column when that is all ``read`` does, to be read inline. None when the spec's
    columns are absent and it is optional."""
    labels = headers.labels
    strip = spec.strip
    if spec.column is not None:
        names = spec.column
        positions = [p for p in (headers.find(name) for name in names) if p is not None]
        if not positions:
            if not spec.optional_column:
                headers.missing.extend(names)
                if len(names) > 1:
                    headers.alternatives.append(tuple(names))
            return None
        all_labels = " / ".join(labels[p] for p in positions)
        all_phrase = "columns " + " / ".join(f'"{labels[p]}"' for p in positions)
        if len(positions) == 1:
            all_phrase = f'column "{all_labels}"'

        def describe(row: Sequence[str], position: int) -> Origin:
            if position < 0:
                return all_labels, "", all_phrase
            return labels[position], row[position], f'column "{labels[position]}"'

        if len(positions) == 1:
            (only,) = positions
            if strip:

                def read(row: Sequence[str]) -> tuple[str, int]:
                    text = row[only].strip()
                    return ("" if text in empty else text), only

                return read, describe, only

            def read_unstripped(row: Sequence[str]) -> tuple[str, int]:
                text = row[only]
                return ("" if text.strip() in empty else text), only

            return read_unstripped, describe, None

        def read_first(row: Sequence[str]) -> tuple[str, int]:
            for position in positions:
                text = row[position]
                if text.strip() not in empty:
                    return (text.strip() if strip else text), position
            return "", -1

        return read_first, describe, None

    assert spec.template is not None
    prefix, parts, suffix = template_parts(spec.template)
    found = [(separator, headers.find(name), name) for separator, name in parts]
    absent = [name for _, position, name in found if position is None]
    if absent and not spec.optional_column:
        headers.missing.extend(absent)
        return None
    pieces = [(separator, position) for separator, position, _ in found if position is not None]
    if not pieces:
        return None
    label = " + ".join(labels[p] for _, p in pieces)
    phrase = "columns " + " + ".join(f'"{labels[p]}"' for _, p in pieces)

    def render(row: Sequence[str]) -> tuple[str, int]:
        # Only the separator before a non-empty part is kept, so an empty part never leaves
        # a doubled space or a dangling comma behind.
        text = ""
        for separator, position in pieces:
            value = row[position].strip()
            if value not in empty:
                text = f"{text}{separator}{value}" if text else value
        return (f"{prefix}{text}{suffix}" if text else ""), -1

    def describe_template(row: Sequence[str], position: int) -> Origin:
        return label, render(row)[0], phrase

    return render, describe_template, None


def _finisher(spec: ValueSpec, convert: Convert) -> Convert:
    """The rules after reading (name part, case, translation), then the conversion."""
    steps: list[Callable[[str], str]] = []
    if isinstance(spec, FieldSpec) and spec.name_part is not None:
        part = 0 if spec.name_part == "first" else 1
        steps.append(lambda text: rules.split_full_name(text)[part])
    if spec.lower:
        steps.append(str.lower)
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
            return convert(text) if text else _NO_VALUE

        return finish_one

    def finish(text: str) -> Any:
        for step in steps:
            text = step(text)
        if translation is not None and text:
            translated = translation(text)
            if not isinstance(translated, str):
                return translated  # a number or boolean, checked against the field when loaded
            text = translated.strip()
        return convert(text) if text else _NO_VALUE

    return finish


def _compile(
    spec: ValueSpec, kind: Kind, headers: _Headers, empty_values: list[str], multi: bool = False
) -> _Program | None:
    """Compile one spec into a program; None when its columns are absent and it is optional.

    A multi program (list entries, and custom values with ``split``) returns every value of a
    split cell; a single one returns the first.
    """
    convert = _converter(kind, spec)
    if spec.const is not None:
        value = _constant(kind, spec.const, convert)
        return _constant_program(value, multi, _proven(kind, spec, [value]))
    listed = spec.empty_values if spec.empty_values is not None else empty_values
    empty = frozenset(value.strip() for value in listed) | {""}
    reader = _reader(spec, headers, empty)
    if reader is None:
        return None
    read, describe, only = reader
    finish = _finisher(spec, convert)
    finish_for = _regional(spec, kind, headers)
    default = _NO_VALUE if spec.default is None else _constant(kind, spec.default, convert)
    constants = [
        value
        for value in (default, spec.translate_default, *(spec.translate or {}).values())
        if value is not _NO_VALUE and value is not None and not isinstance(value, str)
    ]
    proven = _proven(kind, spec, constants)
    required = spec.required
    separators = None
    if isinstance(spec, FieldSpec) and spec.split:
        separators = rules.separator_pattern(spec.split)

    def failure(row: Sequence[str], position: int, error: rules.RuleError) -> _Failure:
        column, value, phrase = describe(row, position)
        return _Failure(error.code, f"{phrase}: {error.message}", column, value)

    def missing(row: Sequence[str], position: int) -> _Failure:
        column, value, phrase = describe(row, position)
        message = f"{phrase}: empty, but the mapping requires a value; fill it in"
        return _Failure(Code.REQUIRED_VALUE, message, column, value)

    def origin(row: Sequence[str]) -> Origin:
        return describe(row, read(row)[1])

    def fallback(row: Sequence[str], position: int) -> Any:
        """The value of an empty cell: the default, a required-value failure, or none."""
        if default is not _NO_VALUE:
            return default
        if required:
            return missing(row, position)
        return _NO_VALUE

    # These run for every mapped cell of every row, hence ``only`` read inline, and a version
    # for the usual spec (one column, one value, no region column) without the other steps.
    if not multi and only is not None and separators is None and finish_for is None:

        def run_cell(row: Sequence[str]) -> Any:
            text = row[only].strip()
            if text not in empty:
                try:
                    value = finish(text)
                except rules.RuleError as error:
                    return failure(row, only, error)
                if value is not _NO_VALUE:
                    return value
            return fallback(row, only)

        return _Program(run_cell, origin, proven)

    if not multi:

        def run(row: Sequence[str]) -> Any:
            if only is None:
                text, position = read(row)
            else:
                text, position = row[only].strip(), only
                if text in empty:
                    text = ""
            if text and separators is not None:
                pieces = rules.split_values(text, separators)
                text = pieces[0] if pieces else ""
                if text in empty:
                    text = next((piece for piece in pieces if piece not in empty), "")
            if text:
                try:
                    value = (finish if finish_for is None else finish_for(row))(text)
                except rules.RuleError as error:
                    return failure(row, position, error)
                if value is not _NO_VALUE:
                    return value
            return fallback(row, position)

        return _Program(run, origin, proven)

    def run_multi(row: Sequence[str]) -> list[Any]:
        if only is None:
            text, position = read(row)
        else:
            text, position = row[only].strip(), only
            if text in empty:
                text = ""
        values: list[Any] = []
        if text:
            finish_row = finish if finish_for is None else finish_for(row)
            for piece in (text,) if separators is None else rules.split_values(text, separators):
                if piece in empty:
                    continue
                try:
                    value = finish_row(piece)
                except rules.RuleError as error:
                    values.append(failure(row, position, error))
                    continue
                if value is not _NO_VALUE:
                    values.append(value)
        if not values and (value := fallback(row, position)) is not _NO_VALUE:
            values.append(value)
        return values

    return _Program(run_multi, origin, proven)


# Distinct region cells whose finisher is remembered: a country column has few values, and a
# column of anything else must not grow the table without end.
_REGION_CELLS = 1024


def _regional(
    spec: ValueSpec, kind: Kind, headers: _Headers
) -> Callable[[Sequence[str]], Convert] | None:
    """For ``phone: {region_column: Country}``: the finisher for the region a row's country
    names; None when the spec has no region column or the file lacks it (``region`` applies)."""
    if kind != "phone" or not isinstance(spec, PhoneFieldSpec) or not spec.phone.region_column:
        return None
    found = [headers.find(name) for name in spec.phone.region_column]
    position = next((p for p in found if p is not None), None)
    if position is None:
        return None
    regions = rules.country_regions()
    default = spec.phone.region
    finishers: dict[str | None, Convert] = {}
    by_cell: dict[str, Convert] = {}

    def finish_for(row: Sequence[str]) -> Convert:
        cell = row[position]
        finish = by_cell.get(cell)
        if finish is None:
            region = regions.get(cell.strip().casefold(), default)
            finish = finishers.get(region)
            if finish is None:
                finish = finishers[region] = _finisher(spec, _converter(kind, spec, region))
            if len(by_cell) < _REGION_CELLS:
                by_cell[cell] = finish
        return finish

    return finish_for


class Prepared(NamedTuple):
    """One row mapped and validated: the body to send, or every problem that stops it.

    A named tuple: one is made per row, several times faster than a frozen dataclass."""

    row_number: int
    body: dict[str, Any] | None
    email: str | None
    rejects: tuple[Reject, ...]


Problems = list[tuple[str, _Failure]]
Trace = dict[str, Origin]


class RowMapper:
    """A mapping compiled against one header row; ``prepare`` maps and validates a row.

    Compiling resolves every column to its position and every rule to a function once, so
    preparing a row reads cells by index and calls only the rules the mapping names.
    """

    def __init__(self, mapping: Mapping, headers: Sequence[str], source: str = "") -> None:
        found = _Headers(headers)
        empty = mapping.empty_values
        fields = mapping.fields

        def compile_(spec: ValueSpec, kind: Kind, multi: bool = False) -> _Program | None:
            return _compile(spec, kind, found, empty, multi)

        self._scalars: list[tuple[str, Run, _Program]] = []
        for name, kind in _SCALAR_KINDS.items():
            spec = getattr(fields, name)
            if spec is not None and (program := compile_(spec, kind)) is not None:
                self._scalars.append((name, program.run, program))
        self._phones: list[tuple[_Program, _Program | None]] = []
        for phone in fields.phone_numbers:
            if (program := compile_(phone, "phone", multi=True)) is not None:
                type_ = None if phone.type is None else compile_(phone.type, "phone-type")
                self._phones.append((program, type_))
        self._links: list[tuple[_Program, _Program | None]] = []
        for link in fields.social_links:
            if (program := compile_(link, "url", multi=True)) is not None:
                derived = link.type is None or link.type.const == "from_domain"
                type_ = None if derived or link.type is None else compile_(link.type, "link-type")
                self._links.append((program, type_))
        self._link_types = {
            **rules.LINK_TYPES,
            **{k.lower(): v for k, v in mapping.link_types.items()},
        }
        self._custom: list[tuple[_Program, dict[str, str], bool]] = []
        for custom in fields.custom_fields:
            multi = custom.split is not None
            if (program := compile_(custom, _AS_KINDS[custom.as_], multi)) is not None:
                names = {"id": custom.id, "remote_id": custom.remote_id, "name": custom.name}
                base = {key: value for key, value in names.items() if value is not None}
                self._custom.append((program, base, multi))
        self._groups: list[tuple[str, list[tuple[str, str, _Program, bool]]]] = []
        for group in ("passthrough", "unified_custom_fields"):
            entries = []
            for key, typed in getattr(fields, group).items():
                multi = typed.split is not None
                if (program := compile_(typed, _AS_KINDS[typed.as_], multi)) is not None:
                    entries.append((key, f"{group}.{key}", program, multi))
            if entries:
                self._groups.append((group, entries))

        named = {name for name, _, _ in self._scalars if name in _NAME_FIELDS}
        if "name" not in named and not {"first_name", "last_name"} <= named:
            # Every row would be a missing-name reject: better to send nothing and say why.
            unbound = [getattr(fields, name) for name in _NAME_FIELDS if name not in named]
            found.missing.extend(
                c for spec in unbound if spec is not None for c in _columns_of(spec)
            )
            if not found.missing:
                raise ConfigError(
                    f"{mapping.source or 'the mapping'}: no field gives a name; map name, or "
                    "first_name and last_name (the API needs a name for every candidate)"
                )
        if found.missing:
            raise MissingColumnError(
                list(dict.fromkeys(found.missing)),
                found.labels,
                source,
                list(dict.fromkeys(found.alternatives)),
            )
        if found.ambiguous:
            where = f"{source}: " if source else ""
            raise ConfigError(
                f"{where}the header row has the same column twice: "
                + "; ".join(found.ambiguous.values())
                + "; rename one of them"
            )
        self._missing_name = _missing_name_failure(mapping, found)
        programs = [program for _, _, program in self._scalars]
        programs += [p for pair in (*self._phones, *self._links) for p in pair if p is not None]
        programs += [program for program, _, _ in self._custom]
        programs += [program for _, entries in self._groups for _, _, program, _ in entries]
        # When every value is proven, a body with no problem is one the model accepts: its
        # check would build a model instance per row only to throw it away.
        self._check_model = not all(program.proven for program in programs)

    def prepare(self, row: SourceRow) -> Prepared:
        """Map one row to a validated request body, or to every problem that stops it.

        ``row.values`` must line up with the header row given to ``bind`` (the pipeline turns
        ragged rows into rejects before they get here).
        """
        values = row.values
        problems: Problems = []
        body = self._build(values, problems, None)
        if self._check_model:
            try:
                CandidateCreate.model_validate(body)
            except ValidationError as error:
                problems.extend(self._locate(values, error))
        if (
            "name" not in body
            and ("first_name" not in body or "last_name" not in body)
            and not any(field in _NAME_FIELDS for field, _ in problems)
        ):
            problems.append(("name", self._missing_name))
        if problems:
            number = row.row_number
            rejects = tuple(
                Reject(number, f.code, f.message, field, f.column, f.value) for field, f in problems
            )
            return Prepared(number, None, None, rejects)
        return Prepared(row.row_number, body, body.get("email"), ())

    def source_of(self, field: str, row: SourceRow) -> tuple[str | None, str | None]:
        """The column (header) and the cell, as typed, that gave a single-value field its value."""
        for name, _, program in self._scalars:
            if name == field:
                column, cell, _ = program.origin(row.values)
                return column, cell
        return None, None

    def _build(self, row: Sequence[str], problems: Problems, trace: Trace | None) -> dict[str, Any]:
        """The body with every value that converted; failed list items stay as {} so that
        indexes match the field paths. ``trace`` (when given) collects where values came from."""
        body: dict[str, Any] = {}
        for name, run, program in self._scalars:
            value = run(row)
            if value is _NO_VALUE:
                continue
            if type(value) is _Failure:
                problems.append((name, value))
                continue
            body[name] = value
            if trace is not None:
                trace[name] = program.origin(row)
        if self._phones:
            phones = self._build_items(self._phones, "phone_numbers", "phone", row, problems, trace)
            if phones:
                body["phone_numbers"] = phones
        if self._links:
            links = self._build_items(self._links, "social_links", "url", row, problems, trace)
            if links:
                body["social_links"] = links
        if self._custom:
            customs = self._build_custom(row, problems, trace)
            if customs:
                body["custom_fields"] = customs
        for group, entries in self._groups:
            values: dict[str, Any] = {}
            for key, path, program, multi in entries:
                value = _settle(program.run(row), multi)
                if value is _NO_VALUE:
                    continue
                if type(value) is _Failed:
                    problems.extend((path, failure) for failure in value.failures)
                    continue
                values[key] = value
                if trace is not None:
                    trace[path] = program.origin(row)
            if values:
                body[group] = values
        return body

    def _build_items(
        self,
        entries: list[tuple[_Program, _Program | None]],
        field: str,
        value_key: str,
        row: Sequence[str],
        problems: Problems,
        trace: Trace | None,
    ) -> list[dict[str, Any]]:
        """``phone_numbers`` or ``social_links``: one item per value of every entry's cell(s).

        A link entry without a ``type`` takes it from the link's domain; a phone has none then.
        """
        derive_link_type = field == "social_links"
        items: list[dict[str, Any]] = []
        for program, type_program in entries:
            values = program.run(row)
            if not values:
                continue
            kind = _NO_VALUE if type_program is None else type_program.run(row)
            for value in values:
                if type(value) is _Failure:
                    problems.append((f"{field}[{len(items)}].{value_key}", value))
                    items.append({})
                    continue
                item = {value_key: value}
                if type_program is None:
                    if derive_link_type:
                        item["type"] = rules.link_type(value, self._link_types)
                elif type(kind) is _Failure:
                    problems.append((f"{field}[{len(items)}].type", kind))
                    kind = _NO_VALUE  # one reject for the cell, not one per value in it
                elif kind is not _NO_VALUE:
                    item["type"] = kind
                if trace is not None:
                    path = f"{field}[{len(items)}]"
                    trace[f"{path}.{value_key}"] = program.origin(row)
                    if type_program is not None:
                        trace[f"{path}.type"] = type_program.origin(row)
                items.append(item)
        return items

    def _build_custom(
        self, row: Sequence[str], problems: Problems, trace: Trace | None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for program, base, multi in self._custom:
            value = _settle(program.run(row), multi)
            if value is _NO_VALUE:
                continue
            if type(value) is _Failed:
                path = f"custom_fields[{len(items)}].value"
                problems.extend((path, failure) for failure in value.failures)
                items.append({})
                continue
            if trace is not None:
                trace[f"custom_fields[{len(items)}].value"] = program.origin(row)
            items.append({**base, "value": value})
        return items

    def _locate(self, row: Sequence[str], error: ValidationError) -> Problems:
        """Turn the request model's complaints back into the user's columns and cells."""
        trace: Trace = {}
        self._build(row, [], trace)
        located: Problems = []
        for problem in field_errors(error):
            column, value, phrase = _origin_of(trace, problem.field)
            code = Code.INVALID_DATE if problem.field == "hired_at" else Code.INVALID_VALUE
            message = (
                f'{phrase}: "{problem.value}" cannot be sent as {problem.field}, which '
                f"{problem.message}; correct the cell or translate it in the mapping"
            )
            located.append((problem.field, _Failure(code, message, column, value)))
        return located


@dataclass(frozen=True, slots=True)
class _Failed:
    """A typed value that failed: every failure of its cell."""

    failures: list[_Failure]


def _settle(out: Any, multi: bool) -> Any:
    """A typed program's output as its value (a list when ``multi``), _NO_VALUE, or _Failed."""
    if multi:
        if not out:
            return _NO_VALUE
        failures = [item for item in out if type(item) is _Failure]
        return _Failed(failures) if failures else out
    if type(out) is _Failure:
        return _Failed([out])
    return out


def _origin_of(trace: Trace, field: str) -> Origin:
    path = field
    while path:
        if path in trace:
            return trace[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None, None, field


def _missing_name_failure(mapping: Mapping, headers: _Headers) -> _Failure:
    """The reject for a row without a name, naming the columns that could give one."""

    def columns(name: str) -> list[str]:
        spec = getattr(mapping.fields, name)
        if spec is None:
            return []
        found = [headers.find(column) for column in _columns_of(spec)]
        return [headers.labels[p] for p in found if p is not None]

    name, first, last = columns("name"), columns("first_name"), columns("last_name")
    choices = []
    if name:
        choices.append(" or ".join(f'"{label}"' for label in name))
    if first and last:
        choices.append(f'both "{first[0]}" and "{last[0]}"')
    if choices:
        message = f"the row has no name; fill in {', or '.join(choices)}"
    else:
        message = (
            "the mapping gives no name: map name, or first_name and last_name (the API needs one)"
        )
    labels = name + first + last
    return _Failure(Code.MISSING_NAME, message, " / ".join(labels) or None, None)
