"""Loading a mapping: YAML without tags or duplicate keys, schema problems as key paths, hints."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ValidationError,
)

from importer import rules
from importer.errors import ConfigError, MappingError
from importer.mapping.convert import constant, converter
from importer.mapping.models import field_path
from importer.mapping.schema import Mapping, Scalar
from importer.mapping.shipped import NAME, shipped_mappings, unknown_mapping
from importer.read.headers import normalise_header

# -- loading -------------------------------------------------------------------------------


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate a mapping file, or the shipped mapping of that name when no such file
    exists (``"greenhouse"``); ``MappingError`` lists the key path of every problem."""
    if _is_name(path) and not Path(path).exists():
        shipped = shipped_mappings()
        named = shipped.get(str(path))
        if named is None:
            raise unknown_mapping(str(path), shipped)
        return load_mapping_text(named.text(), named.label)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the mapping ({error.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the mapping is not UTF-8 text") from None
    return load_mapping_text(text, str(path))


def _is_name(path: str | Path) -> bool:
    """A bare word such as ``default``: no folder, no ``.yaml``; a file path never looks so."""
    text = str(path)
    return bool(NAME.fullmatch(text)) and not text.endswith((".yaml", ".yml"))


def load_mapping_text(text: str, source: str) -> Mapping:
    """Validate a mapping's YAML text; ``source`` names it in error messages."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(source, [(where, f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise MappingError(source, loader.duplicates)
    return parse_mapping(data, source)


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
    "on_invalid": "on_invalid applies only to phone, link, date and custom value entries: a name "
    "or an e-mail the importer cannot read always rejects the row",
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
        convert = converter(kind, spec)
        checks: list[tuple[str, Scalar]] = []
        for key in ("const", "default", "translate_default"):
            value = getattr(spec, key)
            if value is not None:
                checks.append((f"{path}.{key}", value))
        for source, target in (spec.translate or {}).items():
            checks.append((f"{path}.translate.{source}", target))
        for where, value in checks:
            try:
                constant(kind, value, convert)
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
