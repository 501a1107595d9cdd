"""Interface schema checks with type references inlined once (framework/schema_validation.py)."""

from __future__ import annotations

import pytest

from framework.schema_validation import InterfaceValidator, SchemaViolation, inline_refs, type_registry

TYPES = {
    "units": {"Energy": {"type": "object", "additionalProperties": False, "required": ["total"],
                         "properties": {"total": {"type": "number"}}}},
    "tree": {"Node": {"type": "object", "properties": {"name": {"type": "string"},
                                                       "children": {"type": "array",
                                                                    "items": {"$ref": "/tree#/Node"}}}}},
}
INTERFACE = {"cmds": {}, "vars": {
    "reading": {"type": "object", "required": ["energy"],
                "properties": {"energy": {"type": "object", "description": "a sibling Draft 7 ignores",
                                          "$ref": "/units#/Energy"}}},
    "tree": {"type": "object", "$ref": "/tree#/Node"},
}}


def test_a_reference_is_replaced_by_its_type():
    inlined = inline_refs(INTERFACE["vars"]["reading"], type_registry(TYPES).files)
    assert inlined["properties"]["energy"] == TYPES["units"]["Energy"]


def test_a_recursive_type_keeps_its_inner_reference():
    inlined = inline_refs({"$ref": "/tree#/Node"}, type_registry(TYPES).files)
    assert inlined["properties"]["children"]["items"] == {"$ref": "/tree#/Node"}


def test_checks_through_inlined_and_recursive_types():
    validator = InterfaceValidator("probe", INTERFACE, type_registry(TYPES))
    validator.check_var("reading", {"energy": {"total": 1.5}})
    validator.check_var("tree", {"name": "a", "children": [{"name": "b", "children": []}]})
    with pytest.raises(SchemaViolation, match="reading at energy/total"):
        validator.check_var("reading", {"energy": {"total": "1.5"}})
    with pytest.raises(SchemaViolation, match="tree at children/0/name"):
        validator.check_var("tree", {"name": "a", "children": [{"name": 2}]})
