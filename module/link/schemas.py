"""Official OCA JSON schemas of one OCPP version, compiled once, with OCPP-J error classification."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from typing import Any

from jsonschema import validators
from jsonschema.exceptions import ValidationError

from module.link.protocol import ProtocolSpec
from module.link.schema_fastpath import Check, compile_check, is_decimal_multiple

logger = logging.getLogger(__name__)

# Ranked: the first kind found among a payload's errors names the CALLERROR.
_KIND_RANK = ("formation", "occurrence", "type_constraint", "property_constraint")
_KIND_BY_KEYWORD = {
    "additionalProperties": "formation",
    "required": "occurrence",
    "minItems": "occurrence",
    "maxItems": "occurrence",
    "type": "type_constraint",
    "enum": "property_constraint",
    "maxLength": "property_constraint",
    "minLength": "property_constraint",
    "maximum": "property_constraint",
    "minimum": "property_constraint",
    "exclusiveMaximum": "property_constraint",
    "exclusiveMinimum": "property_constraint",
    "multipleOf": "property_constraint",
    "pattern": "property_constraint",
    "uniqueItems": "property_constraint",
}


def _decimal_multiple_of(validator: Any, divisor: Any, instance: Any, schema: Any) -> Any:
    """multipleOf in decimal arithmetic: 6.3 is a multiple of 0.1 (binary floats say it is not)."""
    if validator.is_type(instance, "number") and not is_decimal_multiple(instance, divisor):
        yield ValidationError(f"not a multiple of {divisor}")


@dataclass(frozen=True)
class Violation:
    """Why a payload fails its schema: the generic kind (see ErrorCodes fields) and a value-free description."""

    kind: str
    description: str


def _describe(error: ValidationError) -> str:
    """Where and which rule, never the offending value (it may be a secret)."""
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return f"{where}: required property missing {missing}"
    if error.validator == "additionalProperties":
        allowed = set((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in allowed) if isinstance(error.instance, dict) else []
        return f"{where}: property not allowed {extra}"
    return f"{where}: violates {error.validator} {error.validator_value!r}"[:300]


def jsonschema_validator(schema: dict[str, Any]) -> Any:
    """The validator of the schema's draft, with multipleOf in decimal arithmetic."""
    cls = validators.extend(validators.validator_for(schema), {"multipleOf": _decimal_multiple_of})
    return cls(schema)


class _Compiled:
    """One schema file: the jsonschema validator (the judge, and the classifier of failures) and the compiled
    check that answers "valid" without it."""

    def __init__(self, text: str) -> None:
        schema = json.loads(text)
        self.validator = jsonschema_validator(schema)
        check: Check | None = compile_check(schema)
        self.passes: Check = check if check is not None else self.validator.is_valid


class SchemaSet:
    """Request and response validators of every action of a version, loaded and compiled at construction."""

    def __init__(self, spec: ProtocolSpec) -> None:
        self.spec = spec
        self._requests: dict[str, _Compiled] = {}
        self._responses: dict[str, _Compiled] = {}
        for action in spec.action_profiles:
            self._requests[action] = _Compiled(spec.request_schema_file(action).read_text("utf-8-sig"))
            self._responses[action] = _Compiled(spec.response_schema_file(action).read_text("utf-8-sig"))

    def knows(self, action: str) -> bool:
        """True for every action of this version (both schema files present)."""
        return action in self._requests

    def check_request(self, action: str, payload: Any) -> Violation | None:
        return self._check(self._requests[action], payload)

    def check_response(self, action: str, payload: Any) -> Violation | None:
        return self._check(self._responses[action], payload)

    @staticmethod
    def _check(compiled: _Compiled, payload: Any) -> Violation | None:
        if not isinstance(payload, dict):
            return Violation("formation", "payload is not a JSON object")
        if compiled.passes(payload):  # the common case: no jsonschema walk at all
            return None
        errors = list(compiled.validator.iter_errors(payload))
        if not errors:  # the compiled check leaves odd Python types (Decimal, dict subclasses) to jsonschema
            return None
        ranked = sorted(
            errors,
            key=lambda e: _KIND_RANK.index(_KIND_BY_KEYWORD.get(str(e.validator), "formation")),
        )
        first = ranked[0]
        return Violation(_KIND_BY_KEYWORD.get(str(first.validator), "formation"), _describe(first))

    def make_valid(self, action: str, payload: dict[str, Any], *, response: bool = False) -> dict[str, Any]:
        """Repair what can be repaired without changing meaning: drop None fields, cut CiStrings to length."""
        validator = (self._responses if response else self._requests)[action].validator
        fixed = _without_none(copy.deepcopy(payload))
        for _ in range(100):  # each pass fixes at least one string; bounded against odd schemas
            cuts = [
                e for e in validator.iter_errors(fixed)
                if e.validator == "maxLength" and isinstance(e.instance, str)
            ]
            if not cuts:
                break
            for error in cuts:
                path = list(error.absolute_path)
                parent = fixed
                for step in path[:-1]:
                    parent = parent[step]
                parent[path[-1]] = error.instance[: error.validator_value]
                logger.warning(
                    "%s: %s truncated from %d to %d characters to fit the schema",
                    action, "/" + "/".join(map(str, path)), len(error.instance), error.validator_value,
                )
        return fixed


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


_CACHE: dict[tuple[str, str], SchemaSet] = {}


def schema_set(spec: ProtocolSpec) -> SchemaSet:
    """The compiled schemas of a version, shared by every link and queue in the process."""
    key = (spec.version, str(spec.schema_dir))
    if key not in _CACHE:
        _CACHE[key] = SchemaSet(spec)
    return _CACHE[key]
