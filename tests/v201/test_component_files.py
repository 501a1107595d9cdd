"""Shipped values from component config files in EVerest's layout, kept apart from what is written later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from module.queue.database import Database
from module.v201.device_model.component_files import ComponentFileError, load_shipped
from module.v201.device_model.device_model import DeviceModel
from module.v201.device_model.generate import FOLDER, component_files
from module.v201.device_model.variables import VARIABLES, evse_variables

SHIPPED = FOLDER.parent


def write(folder: Path, name: str, document: object) -> None:
    (folder / "standardized").mkdir(parents=True, exist_ok=True)
    (folder / "standardized" / name).write_text(json.dumps(document))


def test_the_committed_component_files_are_what_the_registry_generates() -> None:
    assert {path.name: path.read_text() for path in FOLDER.glob("*.json")} == component_files()


def test_shipped_files_load_and_every_value_is_the_registrys_default() -> None:
    shipped = load_shipped(SHIPPED)
    assert shipped["OCPPCommCtrlr/HeartbeatInterval"] == {"Actual": "300"}
    assert shipped["DeviceDataCtrlr/ItemsPerMessage[GetVariables]"] == {"Actual": "50"}


def test_a_charger_makers_file_sets_the_shipped_values_and_writes_stay_apart(tmp_path: Path) -> None:
    write(tmp_path / "config", "InternalCtrlr.json", {"name": "InternalCtrlr", "properties": {
        "ChargePointId": {"variable_name": "ChargePointId", "attributes": [{"type": "Actual", "value": "depot-7"}]},
        "Unrelated": {"variable_name": "SomethingElse", "attributes": [{"type": "Actual", "value": 1}]}}})
    write(tmp_path / "config", "OCPPCommCtrlr.json", {"name": "OCPPCommCtrlr", "properties": {
        "HeartbeatInterval": {"variable_name": "HeartbeatInterval", "attributes": [{"type": "Actual", "value": 60}]},
        "UnlockOnEVSideDisconnect": {"variable_name": "UnlockOnEVSideDisconnect",
                                     "attributes": [{"type": "Actual", "value": False}]}}})
    model = DeviceModel(Database.open(tmp_path, "CS1"), shipped=load_shipped(tmp_path / "config"))
    assert model.value_of("InternalCtrlr", "ChargePointId") == "depot-7"
    assert model.value_of("OCPPCommCtrlr", "UnlockOnEVSideDisconnect") == "false"
    assert model.set({"name": "OCPPCommCtrlr"}, {"name": "HeartbeatInterval"}, "120").status == "Accepted"
    assert model.value_of("OCPPCommCtrlr", "HeartbeatInterval") == "120"
    assert json.loads((tmp_path / "config" / "standardized" / "OCPPCommCtrlr.json").read_text())[
        "properties"]["HeartbeatInterval"]["attributes"][0]["value"] == 60  # the shipped file is never written


@pytest.mark.parametrize("document, message", [
    ("not json", "not a component config file"),
    ({"properties": {}}, "not a component config file"),
    ({"name": "OCPPCommCtrlr", "properties": {"HeartbeatInterval": {
        "variable_name": "HeartbeatInterval", "attributes": [{"type": "Actual", "value": "often"}]}}},
     "OCPPCommCtrlr/HeartbeatInterval Actual value 'often': InvalidValue"),
])
def test_a_broken_file_is_one_line_naming_file_and_rule(tmp_path: Path, document: object, message: str) -> None:
    folder = tmp_path / "config"
    (folder / "standardized").mkdir(parents=True)
    (folder / "standardized" / "Broken.json").write_text(document if isinstance(document, str)
                                                        else json.dumps(document))
    with pytest.raises(ComponentFileError) as refused:
        load_shipped(folder)
    assert str(refused.value).startswith(str(folder / "standardized" / "Broken.json"))
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_evse_and_connector_components_follow_the_wiring_and_their_files(tmp_path: Path) -> None:
    variables = VARIABLES + evse_variables(2)
    (tmp_path / "config" / "standardized").mkdir(parents=True)
    (tmp_path / "config" / "standardized" / "EVSE_2.json").write_text(json.dumps({
        "name": "EVSE", "evse_id": 2, "properties": {"Power": {"variable_name": "Power", "attributes": [
            {"type": "MaxSet", "value": 11000}]}}}))
    model = DeviceModel(Database.open(tmp_path, "CS1"), variables, shipped=load_shipped(tmp_path / "config", variables))
    power = model.get({"name": "EVSE", "evse": {"id": 2}}, {"name": "Power"}, "MaxSet")
    assert (power.status, power.value) == ("Accepted", "11000")
    connector = model.get({"name": "Connector", "evse": {"id": 1, "connectorId": 1}}, {"name": "AvailabilityState"})
    assert (connector.status, connector.value) == ("Accepted", "Available")
    assert model.get({"name": "EVSE", "evse": {"id": 3}}, {"name": "Power"}).status == "UnknownComponent"
    assert model.get({"name": "EVSE", "evse": {"id": 1}}, {"name": "Power"}, "Target").status == \
        "NotSupportedAttributeType"
