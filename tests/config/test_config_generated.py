"""The committed schemas and README are exactly what the registry generates, and the registry is consistent."""

from __future__ import annotations

import json

import jsonschema
from config_testkit import BASE

from module.config.generate import README_PATH, SCHEMA_DIR, readme_text, schema_files
from module.config.keys import KEYS, SECTIONS, Access


def test_committed_schemas_are_up_to_date():
    expected = schema_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.json")}
    assert committed == expected, "run: python -m module.config.generate"


def test_committed_readme_is_up_to_date():
    assert README_PATH.read_text(encoding="utf-8") == readme_text(), "run: python -m module.config.generate"


def test_readme_lists_every_key_once():
    rows = [line for line in readme_text().splitlines() if line.startswith("| ") and not line.startswith("| Key")]
    assert [row.split(" | ")[0][2:] for row in rows] == [spec.name for spec in KEYS]


def test_registry_is_consistent():
    names = [spec.name for spec in KEYS]
    assert len(names) == len(set(names))
    assert all(spec.section in SECTIONS for spec in KEYS)
    assert [spec.name for spec in KEYS if spec.access is Access.WRITE_ONLY] == ["AuthorizationKey"]
    for spec in KEYS:
        if spec.max_items_key:
            assert spec.max_items_key in names


def test_schemas_are_valid_draft_07_and_accept_the_base():
    base = json.loads(BASE.read_text())
    for name, text in schema_files().items():
        schema = json.loads(text)
        jsonschema.Draft7Validator.check_schema(schema)
        section = name.removesuffix(".json")
        if section in base:
            jsonschema.Draft7Validator(schema).validate(base[section])


def test_schema_marks_mutability():
    core = json.loads(schema_files()["Core.json"])["properties"]
    security = json.loads(schema_files()["Security.json"])["properties"]
    assert core["NumberOfConnectors"]["readOnly"] is True
    assert core["HeartbeatInterval"]["readOnly"] is False
    assert security["AuthorizationKey"]["writeOnly"] is True
    assert security["SecurityProfile"] | {"description": ""} == {
        "description": "", "type": "integer", "minimum": 0, "maximum": 3, "default": 0, "readOnly": False
    }
