"""A compiled yes/no check mirroring jsonschema's Draft 4/6 rules for the keywords the OCA schemas use.

Most payloads are valid, and jsonschema spends ~5-15 us walking even a tiny one. The compiled check answers
"valid" in about a microsecond; jsonschema still runs whenever the answer is "no", so every CALLERROR code and
description stays jsonschema's. The check must never say yes where jsonschema says no; saying no where jsonschema
says yes only costs time (that is why it accepts exact JSON types only: a dict subclass or a Decimal goes to
jsonschema)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

logger = logging.getLogger(__name__)

Check = Callable[[Any], bool]

# The 1.6 core schemas are Draft 4, the security extension's Draft 6: the two agree on every keyword mirrored here,
# and differ on one type: Draft 6 counts 1.0 as an integer.
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT6 = "http://json-schema.org/draft-06/schema#"
# No effect on validity: the SchemaSet validators have no format checker, so "format" is an annotation too.
_ANNOTATIONS = frozenset({"$schema", "title", "description", "javaType", "definitions", "format"})
# The keywords mirrored, by the instance type they constrain; on a node of another declared type they have no
# effect (the OCA files put additionalProperties on strings). "enum" constrains every type: mirrored on strings.
_BY_TYPE = {
    "object": frozenset({"properties", "additionalProperties", "required"}),
    "array": frozenset({"items", "minItems", "additionalItems"}),
    "string": frozenset({"maxLength", "enum"}),
    "integer": frozenset({"multipleOf"}),
    "number": frozenset({"multipleOf"}),
    "boolean": frozenset(),
}
_TYPE_BOUND = frozenset().union(*_BY_TYPE.values()) - {"enum"}


def is_decimal_multiple(instance: int | float, divisor: int | float) -> bool:
    """multipleOf in decimal arithmetic (6.3 is a multiple of 0.1, binary floats say no); a remainder Decimal
    cannot compute counts as a multiple."""
    try:
        return Decimal(repr(instance)) % Decimal(repr(divisor)) == 0
    except InvalidOperation:
        return True


class Unsupported(Exception):
    """The schema uses something this compiler does not mirror exactly: jsonschema alone checks it."""


def compile_check(schema: Mapping[str, Any]) -> Check | None:
    """A predicate True only for payloads jsonschema accepts; None if the schema is not mirrored."""
    draft = schema.get("$schema")
    if draft not in (DRAFT4, DRAFT6):
        return None
    try:
        compiler = _Compiler(schema, _is_int if draft == DRAFT4 else _is_integral)
        return compiler.node({k: v for k, v in schema.items() if k != "$id"})  # $id only names the root
    except Unsupported as exc:
        logger.debug("no compiled check for %s: %s", schema.get("$id") or schema.get("title"), exc)
        return None


def _anything(value: Any) -> bool:
    return True


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_integral(value: Any) -> bool:
    return type(value) is int or (type(value) is float and value.is_integer())


class _Compiler:
    """Turns one schema into nested closures; $ref targets are compiled once."""

    def __init__(self, root: Mapping[str, Any], is_integer: Check) -> None:
        self._is_integer = is_integer
        self._definitions = root.get("definitions") or {}
        self._refs: dict[str, Check | None] = {}  # None while being compiled: a cycle is not mirrored

    def node(self, schema: Any) -> Check:
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r} is not an object")
        if "$ref" in schema:  # Drafts 4 and 6 ignore every sibling of $ref
            return self._ref(schema["$ref"])
        kind = schema.get("type")
        constraints = set(schema) - _ANNOTATIONS - {"type"}
        if kind is None:
            if constraints:
                raise Unsupported(f"untyped schema with {sorted(constraints)}")
            return _anything
        if not isinstance(kind, str) or kind not in _BY_TYPE:
            raise Unsupported(f"type {kind!r}")
        unmirrored = constraints - _BY_TYPE[kind] - _TYPE_BOUND
        if unmirrored:
            raise Unsupported(f"{sorted(unmirrored)} on a {kind}")
        return getattr(self, f"_{kind}")(schema)

    def _ref(self, ref: Any) -> Check:
        prefix = "#/definitions/"
        name = ref[len(prefix):] if isinstance(ref, str) and ref.startswith(prefix) else ""
        if not name or "/" in name or "~" in name or name not in self._definitions:
            raise Unsupported(f"$ref {ref!r}")
        if name not in self._refs:
            self._refs[name] = None
            self._refs[name] = self.node(self._definitions[name])
        check = self._refs[name]
        if check is None:
            raise Unsupported(f"recursive $ref {ref!r}")
        return check

    def _object(self, schema: Mapping[str, Any]) -> Check:
        properties = {name: self.node(sub) for name, sub in (schema.get("properties") or {}).items()}
        extras_allowed = schema.get("additionalProperties", True)
        required = schema.get("required", [])
        if not isinstance(extras_allowed, bool):
            raise Unsupported("additionalProperties as a schema")
        if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
            raise Unsupported(f"required {required!r}")
        required_names = tuple(required)

        def check(value: Any) -> bool:
            if type(value) is not dict:
                return False
            for name in required_names:
                if name not in value:
                    return False
            for name, item in value.items():
                sub = properties.get(name)
                if sub is None:
                    if extras_allowed:
                        continue
                    return False
                if not sub(item):
                    return False
            return True

        return check

    def _array(self, schema: Mapping[str, Any]) -> Check:
        items = schema.get("items", {})
        min_items = schema.get("minItems", 0)
        if not isinstance(items, dict):  # a tuple of schemas would also bring additionalItems into play
            raise Unsupported("items as a list")
        if type(min_items) is not int:
            raise Unsupported(f"minItems {min_items!r}")
        item_check = self.node(items)

        def check(value: Any) -> bool:
            return type(value) is list and len(value) >= min_items and all(map(item_check, value))

        return check

    def _string(self, schema: Mapping[str, Any]) -> Check:
        max_length = schema.get("maxLength")
        enum = schema.get("enum")
        if max_length is not None and type(max_length) is not int:
            raise Unsupported(f"maxLength {max_length!r}")
        if enum is not None and not (isinstance(enum, list) and all(type(each) is str for each in enum)):
            raise Unsupported("enum of non-strings")
        values = frozenset(enum) if enum is not None else None
        limit = max_length if max_length is not None else -1

        def check(value: Any) -> bool:
            if type(value) is not str:
                return False
            if values is not None and value not in values:
                return False
            return limit < 0 or len(value) <= limit

        return check

    def _integer(self, schema: Mapping[str, Any]) -> Check:
        return self._numeric(schema, self._is_integer)

    def _number(self, schema: Mapping[str, Any]) -> Check:
        return self._numeric(schema, _is_number)

    @staticmethod
    def _numeric(schema: Mapping[str, Any], is_type: Check) -> Check:
        divisor = schema.get("multipleOf")
        if divisor is None:
            return is_type
        if not _is_number(divisor):
            raise Unsupported(f"multipleOf {divisor!r}")
        return lambda value: is_type(value) and is_decimal_multiple(value, divisor)

    @staticmethod
    def _boolean(schema: Mapping[str, Any]) -> Check:
        return lambda value: type(value) is bool
