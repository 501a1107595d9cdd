"""Definitions: format schemas, $ref resolution, manifest defaults and the forms the manager distributes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from framework.definitions import DefinitionError, Definitions, distributed_manifest, load_manifest

FIXTURES = Path(__file__).parent / "fixtures"
LICENSE = "https://opensource.org/licenses/Apache-2.0"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def one_line_error(call) -> str:
    with pytest.raises(DefinitionError) as caught:
        call()
    text = str(caught.value)
    assert "\n" not in text
    return text


def manifest_text(body: str) -> str:
    return f"description: test\nmetadata: {{license: {LICENSE}, authors: [me]}}\n{body}"


def test_probe_interface_is_distributed_like_the_captured_everest_manager() -> None:
    captured = json.loads('{"cmds":{"echo":{"arguments":{"value":{"type":"string"}},"result":{"type":"string"}}},'
                          '"errors":{},"vars":{"counter":{"qos":2,"type":"integer"}}}')
    assert Definitions([FIXTURES / "interfaces"]).distributed_interface("probe") == captured


def test_manifest_defaults_are_patched_in_and_top_level_config_removed() -> None:
    manifest = load_manifest(FIXTURES / "modules" / "PyProbe" / "manifest.yaml")
    assert distributed_manifest(manifest) == {
        "description": "Probe module for the framework tests",
        "enable_external_mqtt": False, "enable_global_errors": False, "enable_telemetry": False,
        "metadata": {"license": LICENSE, "authors": ["framework tests"]},
        "provides": {"main": {"config": {"level": {"default": 3, "description": "a level", "mutability": "ReadOnly",
                                                   "type": "integer"}},
                              "description": "the probe implementation", "interface": "probe"}},
        "requires": {}}
    assert manifest["config"]["greeting"]["mutability"] == "ReadOnly"


def test_requirement_defaults_are_one_connection(tmp_path: Path) -> None:
    path = write(tmp_path / "manifest.yaml", manifest_text(
        "provides: {main: {interface: probe, description: d}}\nrequires: {peer: {interface: probe}}\n"))
    manifest = load_manifest(path)
    assert manifest["requires"]["peer"] == {"interface": "probe", "min_connections": 1, "max_connections": 1}
    assert manifest["provides"]["main"]["config"] == {}


def test_errors_are_expanded_and_type_refs_resolved() -> None:
    definitions = Definitions([FIXTURES / "interfaces"])
    sink = definitions.distributed_interface("sink")
    assert sink["errors"]["generic"] == {"CommunicationFault": {
        "name": "CommunicationFault", "description": "communication broke", "namespace": "generic"}}
    assert set(sink["errors"]["sink"]) == {"Overflow", "Stalled"}
    assert sink["vars"]["last"] == {"qos": 1, "type": "object", "$ref": "/sample#/Sample"}
    assert sink["cmds"]["put"] == {"arguments": {"sample": {"type": "object", "$ref": "/sample#/Sample"}}}
    assert definitions.type_files_used(["sink"]) == ["sample"]
    assert definitions.error_types("sink") == ["sink/Overflow", "sink/Stalled", "generic/CommunicationFault"]


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "description: x\ncmds:\n  a: [1, 2\n")
    text = one_line_error(lambda: Definitions([tmp_path]).interface("broken"))
    assert str(path) in text and "line " in text and "YAML syntax error" in text


def test_manifest_missing_interface_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "manifest.yaml", manifest_text("provides: {main: {description: no interface}}\n"))
    text = one_line_error(lambda: load_manifest(path))
    assert text.startswith(f"{path}: provides.main: ") and "'interface' is a required property" in text


def test_manifest_unknown_key_and_bad_default_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "manifest.yaml", manifest_text("provide: {}\n"))
    assert "unknown key(s) 'provide'" in one_line_error(lambda: load_manifest(path))
    write(path, manifest_text("config: {port: {type: integer, description: p, default: eighty}}\n"))
    text = one_line_error(lambda: load_manifest(path))
    assert f"{path}: config.port.default: " in text and "not of type 'integer'" in text


def test_min_connections_above_max_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "manifest.yaml", manifest_text(
        "requires: {peer: {interface: probe, min_connections: 3, max_connections: 2}}\n"))
    assert f"{path}: requires.peer: min_connections" in one_line_error(lambda: load_manifest(path))


def test_dangling_type_ref_names_file_and_path(tmp_path: Path) -> None:
    write(tmp_path / "types" / "sample.yaml", "description: s\ntypes:\n  Known: {description: k, type: string}\n")
    path = write(tmp_path / "meter.yaml", "description: m\nvars:\n  power:\n    description: p\n"
                 "    type: object\n    $ref: /sample#/Missing\n")
    text = one_line_error(lambda: Definitions([tmp_path]).interface("meter"))
    assert text.startswith(f"{path}: vars.power.$ref: dangling reference '/sample#/Missing'")


def test_missing_type_file_and_dangling_error_ref(tmp_path: Path) -> None:
    path = write(tmp_path / "meter.yaml", "description: m\nvars:\n  power:\n    description: p\n"
                 "    type: object\n    $ref: /nowhere#/Power\n")
    assert "type file '/nowhere' not found" in one_line_error(lambda: Definitions([tmp_path]).interface("meter"))
    write(tmp_path / "errors" / "meter.yaml", "description: e\nerrors:\n  - {name: Broken, description: b}\n")
    write(path, "description: m\nerrors:\n  - reference: /errors/meter#/Gone\n")
    text = one_line_error(lambda: Definitions([tmp_path]).interface("meter"))
    assert text.startswith(f"{path}: errors.0.reference: dangling reference '/errors/meter#/Gone'")


def test_type_file_violating_its_schema_is_refused(tmp_path: Path) -> None:
    bad = write(tmp_path / "types" / "sample.yaml", "description: s\ntypes:\n  Power: {type: number}\n")
    write(tmp_path / "meter.yaml", "description: m\nvars:\n  p: {description: p, type: string, $ref: /sample#/Power}\n")
    text = one_line_error(lambda: Definitions([tmp_path]).interface("meter"))
    assert text.startswith(f"{bad}: types.Power: ") and "'description' is a required property" in text


def test_interface_argument_with_default_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "description: b\ncmds:\n  go:\n    description: g\n    arguments:\n"
                 "      speed: {description: s, type: integer, default: 3}\n")
    text = one_line_error(lambda: Definitions([tmp_path]).interface("bad"))
    assert text.startswith(f"{path}: cmds.go.arguments.speed")
