"""Conversions between the three forms of a value (JSON in the files, OCPP text on the wire, typed in Python)
and the one validation routine every path goes through."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import jsonschema

from module.config.keys import KeySpec, Kind, Lookup

_INT_TEXT = re.compile(r"^[+-]?\d+$")


class InvalidValue(ValueError):
    """The value breaks a rule of its key; str() is the rule, never the value."""


def split_csv(text: str) -> list[str]:
    """OCPP comma separated list; blanks around items are tolerated, empty items are not."""
    if text.strip() == "":
        return []
    items = [item.strip() for item in text.split(",")]
    if "" in items:
        raise InvalidValue("empty item in comma separated list")
    return items


def parse_text(spec: KeySpec, text: str) -> Any:
    """A ChangeConfiguration value string -> typed value."""
    if spec.kind is Kind.BOOL:
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise InvalidValue("must be true or false")
        return lowered == "true"
    if spec.kind is Kind.INT:
        if not _INT_TEXT.match(text.strip()):
            raise InvalidValue("must be an integer")
        return int(text)
    if spec.kind is Kind.NUMBER:
        try:
            number = float(text)
        except ValueError:
            raise InvalidValue("must be a number") from None
        if not math.isfinite(number):
            raise InvalidValue("must be a finite number")
        return int(number) if number.is_integer() else number
    if spec.kind in (Kind.CSV, Kind.ARRAY):
        return split_csv(text)
    if spec.kind is Kind.OBJECT:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise InvalidValue("must be a JSON object") from None
    return text


def from_json(spec: KeySpec, raw: Any) -> Any:
    """A value read from a config file -> typed value; type errors raise InvalidValue."""
    expected_types: dict[Kind, type | tuple[type, ...]] = {
        Kind.INT: int,
        Kind.NUMBER: (int, float),
        Kind.BOOL: bool,
        Kind.STRING: str,
        Kind.CSV: str,
        Kind.ARRAY: list,
        Kind.OBJECT: dict,
    }
    expected = expected_types[spec.kind]
    wrong_bool = isinstance(raw, bool) and spec.kind is not Kind.BOOL
    if wrong_bool or not isinstance(raw, expected):
        raise InvalidValue(f"must be of type {spec.kind.value}")
    if spec.kind is Kind.CSV:
        return split_csv(str(raw))
    if spec.kind is Kind.ARRAY:
        items: list[Any] = list(raw)  # type: ignore[call-overload]  # a list, checked above
        if not all(isinstance(item, str) for item in items):
            raise InvalidValue("array items must be strings")
        return items
    return raw


def coerce(spec: KeySpec, value: Any) -> Any:
    """An internally supplied value (typed, or OCPP text) -> typed value."""
    if isinstance(value, str) and spec.kind is not Kind.STRING:
        return parse_text(spec, value)
    if spec.kind is Kind.CSV and isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise InvalidValue("list items must be strings")
        return list(value)
    return from_json(spec, value)


def to_json(spec: KeySpec, value: Any) -> Any:
    """Typed value -> the form stored in the files (libocpp's layout: CSV keys are strings)."""
    if spec.kind is Kind.CSV:
        return ",".join(value)
    return value


def to_text(spec: KeySpec, value: Any) -> str:
    """Typed value -> the OCPP KeyValue.value string."""
    if spec.kind is Kind.BOOL:
        return "true" if value else "false"
    if spec.kind in (Kind.CSV, Kind.ARRAY):
        return ",".join(value)
    if spec.kind is Kind.OBJECT:
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def validate(spec: KeySpec, value: Any, lookup: Lookup) -> None:
    """Raise InvalidValue naming the first broken rule of `spec` (bounds, lengths, members, cross-key rules)."""
    if spec.kind in (Kind.INT, Kind.NUMBER):
        if spec.minimum is not None and value < spec.minimum:
            raise InvalidValue(f"must be >= {_number(spec.minimum)}")
        if spec.maximum is not None and value > spec.maximum:
            raise InvalidValue(f"must be <= {_number(spec.maximum)}")
    if spec.kind in (Kind.STRING, Kind.CSV):
        length = len(value) if spec.kind is Kind.STRING else len(",".join(value))
        if spec.min_length is not None and length < spec.min_length:
            raise InvalidValue(f"must have at least {spec.min_length} characters")
        if spec.max_length is not None and length > spec.max_length:
            raise InvalidValue(f"must have at most {spec.max_length} characters")
    if spec.kind in (Kind.CSV, Kind.ARRAY):
        _validate_items(spec, value, lookup)
    if spec.kind is Kind.OBJECT and spec.object_schema is not None:
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(spec.object_schema).iter_errors(value))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "object"
            raise InvalidValue(f"{where}: {error.validator} {error.validator_value} violated")
    if spec.check is not None:
        problem = spec.check(value, lookup)
        if problem:
            raise InvalidValue(problem)


def _validate_items(spec: KeySpec, items: list[str], lookup: Lookup) -> None:
    for item in items:
        if spec.members is not None and item not in spec.members:
            raise InvalidValue(f"unknown item {item!r} (allowed: {','.join(sorted(spec.members))})")
        if spec.item_pattern is not None and not re.match(spec.item_pattern, item):
            raise InvalidValue(f"item {item!r} does not match {spec.item_pattern}")
    if len(set(items)) != len(items):
        raise InvalidValue("items must not repeat")
    if spec.max_items_key is not None:
        limit = lookup(spec.max_items_key)
        if limit is not None and len(items) > limit:
            raise InvalidValue(f"more than {spec.max_items_key}={limit} items")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
