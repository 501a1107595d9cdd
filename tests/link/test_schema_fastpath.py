"""The compiled schema check agrees with jsonschema on every 1.6 schema, so skipping jsonschema for valid
payloads changes no verdict, and failures are still classified by jsonschema."""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from module.link.protocol import OCPP16
from module.link.schema_fastpath import compile_check
from module.link.schemas import Violation, jsonschema_validator, schema_set

SCHEMA_FILES = sorted(OCPP16.schema_dir.glob("*.json"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8-sig"))


def _near(schema: dict[str, Any], root: dict[str, Any], noisy: bool) -> st.SearchStrategy[Any]:
    """Valid values of the schema; when noisy, a node now and then has a defect: a required property missing, an
    extra one, a string too long, a value outside the enum, a non-multiple, a float, any JSON value."""
    if "$ref" in schema:
        return _near(root["definitions"][schema["$ref"].rsplit("/", 1)[-1]], root, noisy)
    kind = schema.get("type")
    defects: list[st.SearchStrategy[Any]] = [json_values]
    if kind == "object":
        properties = {name: _near(sub, root, noisy) for name, sub in schema.get("properties", {}).items()}
        required = {name: properties[name] for name in schema.get("required", [])}
        optional = {name: sub for name, sub in properties.items() if name not in required}
        shaped = st.fixed_dictionaries(required, optional=optional)
        defects.append(st.fixed_dictionaries({}, optional=properties))
        defects.append(st.builds(lambda known, extra: {**known, "notInTheSchema": extra}, shaped, json_values))
    elif kind == "array":
        shaped = st.lists(_near(schema.get("items", {}), root, noisy), min_size=schema.get("minItems", 0),
                          max_size=3)
        defects.append(st.just([]))
    elif kind == "string":
        limit = schema.get("maxLength", 10)
        shaped = st.sampled_from(schema["enum"]) if "enum" in schema else st.text(max_size=limit)
        defects.append(st.text(max_size=2).map(lambda tail, limit=limit: "x" * limit + tail))  # at the limit or over
    elif kind == "integer":
        shaped = st.integers(-(2**40), 2**40)
        defects.append(st.sampled_from([1.0, 2.5, True]))
    elif kind == "number":
        shaped = st.integers(-10**5, 10**5).map(lambda tenths: tenths / 10)
        defects.append(st.floats(allow_nan=False))
    elif kind == "boolean":
        shaped = st.booleans()
    else:
        shaped = json_values
    return st.one_of(*[shaped] * 8, *defects) if noisy else shaped  # mostly one or two defects per payload


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[path.stem for path in SCHEMA_FILES])
def test_every_schema_is_compiled(path: Path) -> None:
    assert compile_check(_load(path)) is not None


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=[path.stem for path in SCHEMA_FILES])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_check_agrees_with_jsonschema(path: Path, data: st.DataObject) -> None:
    check, validator, valid, noisy = _subject(path)
    payload = data.draw(valid)
    assert validator.is_valid(payload) and check(payload)
    payload = data.draw(noisy)
    assert check(payload) == validator.is_valid(payload)


@functools.cache
def _subject(path: Path) -> tuple[Any, Any, st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """Built once per schema file: hypothesis examples are cheap, strategies and validators are not."""
    schema = _load(path)
    check = compile_check(schema)
    assert check is not None
    return check, jsonschema_validator(schema), _near(schema, schema, False), _near(schema, schema, True)


def _violation(action: str, payload: Any) -> Violation | None:
    return schema_set(OCPP16).check_request(action, payload)


def test_odd_python_types_are_left_to_jsonschema() -> None:
    """No for the compiled check, yes for jsonschema: the verdict is jsonschema's."""
    sampled = {"value": "1"}
    meter = {"connectorId": 1, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [sampled]}]}
    assert _violation("MeterValues", OrderedDict(meter)) is None
    limits = {"connectorId": 1, "csChargingProfiles": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute", "chargingSchedule": {
            "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": Decimal("6.3")}]}}}
    assert _violation("SetChargingProfile", limits) is None


def test_integers_per_draft() -> None:
    """Draft 6 (the security extension) counts 1.0 as an integer, Draft 4 (the core) does not."""
    assert _violation("GetLog", {"logType": "DiagnosticsLog", "requestId": 1.0, "log": {"remoteLocation": "x"}}) \
        is None
    assert _violation("Reset", {"type": "Soft"}) is None
    assert _violation("ChangeAvailability", {"connectorId": 1.0, "type": "Operative"}).kind == "type_constraint"


def test_failures_keep_their_jsonschema_classification() -> None:
    assert _violation("Authorize", {}) == Violation("occurrence", "/: required property missing ['idTag']")
    assert _violation("Authorize", {"idTag": "x" * 21}).kind == "property_constraint"
    assert _violation("Authorize", {"idTag": 5}).kind == "type_constraint"
    assert _violation("Authorize", {"idTag": "a", "x": 1}) == Violation("formation", "/: property not allowed ['x']")
    assert _violation("Reset", {"type": "Soft"}) is None
    assert _violation("Reset", {"type": "Sideways"}).kind == "property_constraint"


def test_decimal_multiple_of_in_the_compiled_check() -> None:
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number", "multipleOf": 0.1}
    check = compile_check(schema)
    assert check is not None
    assert check(6.3) and check(7) and not check(6.35) and not check(True)


@pytest.mark.parametrize("schema", [
    {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer", "minimum": 0},
    {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "additionalProperties": {}},
    {"$schema": "http://json-schema.org/draft-04/schema#", "anyOf": [{"type": "string"}]},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
    {"$schema": "http://json-schema.org/draft-04/schema#", "$ref": "#/definitions/A",
     "definitions": {"A": {"$ref": "#/definitions/A"}}},
])
def test_keywords_not_mirrored_leave_the_schema_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(schema) is None


def test_ref_siblings_are_ignored_as_jsonschema_does() -> None:
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
              "properties": {"a": {"$ref": "#/definitions/S", "maxLength": 1}},
              "definitions": {"S": {"type": "string", "maxLength": 3}}}
    check = compile_check(schema)
    assert check is not None
    validator = jsonschema_validator(schema)
    for payload in ({"a": "abc"}, {"a": "abcd"}, {"a": 1}, {}):
        assert check(payload) == validator.is_valid(payload)
