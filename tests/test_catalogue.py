"""The interface catalogue, the OCPP manifest and the SIL run config hold together.

The catalogue is loaded through the framework's own loader (the manager uses the same one), so a dangling `$ref`
or error reference here would also stop `python -m framework.manager --check`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from framework.definitions import Definitions, load_manifest, load_yaml, validate
from framework.run_config import check, load_run_config

ROOT = Path(__file__).resolve().parent.parent
INTERFACES = ROOT / "interfaces"
TYPE_FILES = sorted((INTERFACES / "types").glob("*.yaml"))
ERROR_FILES = sorted((INTERFACES / "errors").glob("*.yaml"))
INTERFACE_FILES = sorted(INTERFACES.glob("*.yaml"))
ALL_FILES = INTERFACE_FILES + TYPE_FILES + ERROR_FILES

PROVIDES = {
    "main": "ocpp_1_6_charge_point",
    "auth_validator": "auth_token_validator",
    "auth_provider": "auth_token_provider",
    "data_transfer": "ocpp_data_transfer",
    "ocpp_generic": "ocpp",
    "session_cost": "session_cost",
}
REQUIRES = {
    "evse_manager": ("evse_manager", 1, 128),
    "reservation": ("reservation", 1, 1),
    "auth": ("auth", 1, 1),
    "system": ("system", 1, 1),
    "security": ("evse_security", 1, 1),
    "evse_energy_sink": ("external_energy_limits", 0, 129),
    "extensions_15118": ("iso15118_extensions", 0, 128),
    "charger_information": ("charger_information", 0, 1),
    "data_transfer": ("ocpp_data_transfer", 0, 1),
    "display_message": ("display_message", 0, 1),
}
CONFIG_DEFAULTS = {
    "ChargePointConfigPath": ("string", "ocpp-config.json"),
    "UserConfigPath": ("string", "user_config.json"),
    "DatabasePath": ("string", "/tmp/ocpp_1_6_charge_point"),
    "MessageLogPath": ("string", "/tmp/everest_ocpp_logs"),
    "EnableExternalWebsocketControl": ("boolean", False),
    "PublishChargingScheduleIntervalS": ("integer", 30),
    "PublishChargingScheduleDurationS": ("integer", 600),
    "MessageQueueResumeDelay": ("integer", 0),
    "RequestCompositeScheduleUnit": ("string", "A"),
    "DelayOcppStart": ("integer", 0),
    "ResetStopDelay": ("integer", 0),
}
# What config/sil.yaml expects of the simulated modules: module name -> (provides, requires).
SIM_MODULES: dict[str, tuple[dict[str, str], dict[str, tuple[str, int, int]]]] = {
    "EvseManager": ({"evse": "evse_manager", "external_limits": "external_energy_limits"}, {}),
    "Auth": ({"main": "auth", "reservation": "reservation"},
             {"token_provider": ("auth_token_provider", 1, 128),
              "token_validator": ("auth_token_validator", 1, 128),
              "evse_manager": ("evse_manager", 1, 128)}),
    "DummyTokenProvider": ({"main": "auth_token_provider"}, {}),
    "System": ({"main": "system"}, {}),
    "EvseSecurity": ({"main": "evse_security"}, {}),
    "EnergySink": ({"external_limits": "external_energy_limits"}, {}),
    "DisplayMessage": ({"main": "display_message"}, {}),
    "ChargerInformation": ({"main": "charger_information"}, {}),
}


def catalogue() -> Definitions:
    return Definitions([INTERFACES])


def walk(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        for k, value in node.items():
            if k == key:
                yield value
            else:
                yield from walk(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, key)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(INTERFACES)))
def test_every_file_is_yaml_with_a_description(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    assert isinstance(data.get("description"), str) and data["description"].strip()


@pytest.mark.parametrize("path", INTERFACE_FILES, ids=lambda p: p.stem)
def test_interface_loads_through_the_framework_with_every_ref_resolved(path: Path) -> None:
    definitions = catalogue()
    interface = definitions.interface(path.stem)
    for ref in walk(interface, "$ref"):
        stem, name = ref.removeprefix("/").split("#/")
        assert name in definitions.type_file(stem)["types"], ref
    for cmd in interface["cmds"].values():
        assert cmd["description"].strip()
        assert all(arg["description"].strip() for arg in cmd["arguments"].values())
    assert all(var["description"].strip() for var in interface["vars"].values())


@pytest.mark.parametrize("path", TYPE_FILES, ids=lambda p: p.stem)
def test_type_file_is_valid_and_its_refs_resolve(path: Path) -> None:
    definitions = catalogue()
    types = definitions.type_file(path.stem)["types"]
    assert types
    for ref in walk(types, "$ref"):
        stem, name = ref.removeprefix("/").split("#/")
        assert name in definitions.type_file(stem)["types"], f"{path.name}: {ref}"


@pytest.mark.parametrize("path", ERROR_FILES, ids=lambda p: p.stem)
def test_error_file_is_valid(path: Path) -> None:
    validate(load_yaml(path), "error_declaration_list", path)
    assert catalogue().error_list(path.stem)["errors"]


def test_every_interface_the_manifests_name_is_in_the_catalogue() -> None:
    """The 1.6 module's interfaces and the OCPP201 module's (which adds `empty` for its main) are the catalogue."""
    names = set(PROVIDES.values()) | {interface for interface, _, _ in REQUIRES.values()}
    manifest201 = load_manifest(ROOT / "module" / "v201" / "manifest.yaml")
    names |= {entry["interface"] for section in ("provides", "requires") for entry in manifest201[section].values()}
    assert names == {p.stem for p in INTERFACE_FILES}


def test_every_type_and_error_file_is_used_and_none_is_missing() -> None:
    definitions = catalogue()
    names = [p.stem for p in INTERFACE_FILES]
    assert definitions.type_files_used(names) == [p.stem for p in TYPE_FILES]
    namespaces = {ref.removeprefix("/errors/").split("#")[0]
                  for name in names for ref in walk(definitions.interface(name)["errors"], "reference")}
    assert namespaces == {p.stem for p in ERROR_FILES}


def test_error_types_are_expanded_with_their_namespace() -> None:
    definitions = catalogue()
    assert "evse_manager/Inoperative" in definitions.error_types("evse_manager")
    assert definitions.error_types("auth_token_provider") == [
        "generic/CommunicationFault", "generic/VendorError", "generic/VendorWarning"]


def test_ocpp_interface_has_the_generic_commands_and_vars() -> None:
    ocpp = catalogue().interface("ocpp")
    assert set(ocpp["cmds"]) == {"stop", "restart", "security_event", "get_variables", "set_variables",
                                 "change_availability", "monitor_variables"}
    assert set(ocpp["vars"]) == {"is_connected", "security_event", "event_data", "boot_notification_response",
                                 "ocpp_transaction_event", "ocpp_transaction_event_response",
                                 "charging_schedules", "ocpp_message"}


def test_evse_manager_interface_has_what_the_module_uses() -> None:
    evse = catalogue().interface("evse_manager")
    assert {"get_evse", "enable_disable", "pause_charging", "resume_charging", "stop_transaction", "force_unlock",
            "external_ready_to_start_charging", "set_plug_and_charge_configuration"} <= set(evse["cmds"])
    assert {"session_event", "powermeter", "powermeter_public_key_ocmf", "ev_info", "enforced_limits",
            "waiting_for_external_ready", "ready"} <= set(evse["vars"])


def test_manifest_provides_and_requires_match_the_issue_exactly() -> None:
    manifest = load_manifest(ROOT / "manifest.yaml")
    assert {impl: p["interface"] for impl, p in manifest["provides"].items()} == PROVIDES
    assert {req: (r["interface"], r["min_connections"], r["max_connections"])
            for req, r in manifest["requires"].items()} == REQUIRES
    assert manifest["enable_external_mqtt"] is True
    assert manifest["enable_global_errors"] is True
    assert manifest["metadata"]["license"] == "https://opensource.org/licenses/Apache-2.0"


def test_manifest_config_options_have_everests_names_types_and_defaults() -> None:
    config = load_manifest(ROOT / "manifest.yaml")["config"]
    assert {name: (entry["type"], entry["default"]) for name, entry in config.items()} == CONFIG_DEFAULTS


def sim_manifest(provides: dict[str, str], requires: dict[str, tuple[str, int, int]]) -> dict[str, Any]:
    """A loaded-manifest stand-in for a simulated module, shaped like load_manifest's output."""
    return {"config": {},
            "provides": {impl: {"interface": name, "description": impl, "config": {}}
                         for impl, name in provides.items()},
            "requires": {req: {"interface": name, "min_connections": low, "max_connections": high}
                         for req, (name, low, high) in requires.items()}}


def test_sil_config_wires_the_ocpp_module_like_everests_sil_config() -> None:
    config = load_run_config(ROOT / "config" / "sil.yaml")
    manifests = {name: sim_manifest(*shape) for name, shape in SIM_MODULES.items()}
    manifests["OCPP"] = load_manifest(ROOT / "manifest.yaml")
    assert check(config, manifests, catalogue()) == []
    assert not config.names_broker
    ocpp = config.modules["ocpp"]
    assert ocpp.module == "OCPP"
    assert [t["module_id"] for t in ocpp.connections["evse_manager"]] == ["evse_manager_1", "evse_manager_2"]
    sinks = [config.modules[t["module_id"]].mapping for t in ocpp.connections["evse_energy_sink"]]
    assert [s["module"]["evse"] for s in sinks] == [0, 1, 2]
    assert [config.modules[f"evse_manager_{i}"].mapping["module"]["evse"] for i in (1, 2)] == [1, 2]
