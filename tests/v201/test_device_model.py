"""The device model on its own: the registry, each data type's rules, and where values are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from module.link.errors import OcppError
from module.queue.database import Database
from module.v201.device_model.device_model import DeviceModel, check_registry, invalid
from module.v201.device_model.variables import VARIABLES, ComponentRef, DataType, VariableSpec
from module.v201.provisioning import get_variables

OFFLINE_THRESHOLD = ({"name": "OCPPCommCtrlr"}, {"name": "OfflineThreshold"})
CLOCK = ({"name": "ClockCtrlr"}, {"name": "DateTime"})


def test_registry_is_consistent() -> None:
    assert check_registry() == []
    broken = (*VARIABLES, VariableSpec(ComponentRef("OCPPCommCtrlr"), "OfflineThreshold", DataType.INTEGER, "x"))
    assert check_registry(broken) == ["OCPPCommCtrlr/OfflineThreshold: declared twice",
                                      "OCPPCommCtrlr/OfflineThreshold: default 'x' is InvalidValue"]


@pytest.mark.parametrize("data_type, value, rules, problem", [
    (DataType.INTEGER, "12", {"min_limit": 0, "max_limit": 20}, None),
    (DataType.INTEGER, "21", {"min_limit": 0, "max_limit": 20}, "ValueOutOfRange"),
    (DataType.INTEGER, "1.5", {}, "InvalidValue"),
    (DataType.DECIMAL, "1.5", {}, None),
    (DataType.DECIMAL, "nan", {}, "InvalidValue"),
    (DataType.BOOLEAN, "True", {}, "InvalidValue"),
    (DataType.DATE_TIME, "2026-12-03T10:00:00Z", {}, None),
    (DataType.DATE_TIME, "tomorrow", {}, "InvalidValue"),
    (DataType.OPTION_LIST, "B", {"values_list": ("A", "B")}, None),
    (DataType.OPTION_LIST, "A,B", {"values_list": ("A", "B")}, "ValueNotInList"),
    (DataType.MEMBER_LIST, "B,A", {"values_list": ("A", "B")}, None),
    (DataType.MEMBER_LIST, "A,A", {"values_list": ("A", "B")}, "InvalidValue"),
    (DataType.SEQUENCE_LIST, "A,A", {"values_list": ("A", "B")}, None),
    (DataType.STRING, "x" * 41, {"max_length": 40}, "ValueTooLong"),
])
def test_values_are_checked_against_the_characteristics(data_type: DataType, value: str, rules: dict,
                                                        problem: str | None) -> None:
    assert invalid(VariableSpec(ComponentRef("C"), "V", data_type, **rules), value) == problem


def test_written_values_of_persistent_variables_outlive_a_restart(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CS1")
    model = DeviceModel(db)
    assert model.set(*OFFLINE_THRESHOLD, "200").status == "Accepted"
    clock = model.find(*CLOCK)
    assert not isinstance(clock, str)
    model.write(clock, "2026-12-03T10:00:00Z")  # the station's own clock, not persistent
    assert model.get(*CLOCK).value == "2026-12-03T10:00:00Z"
    db.close()
    again = DeviceModel(Database.open(tmp_path, "CS1"))
    assert again.get(*OFFLINE_THRESHOLD).value == "200"
    assert again.get(*CLOCK).value == ""  # gone with the restart


def test_a_request_over_bytes_per_message_is_a_format_violation(tmp_path: Path) -> None:
    """BytesPerMessageGetVariables as the station is built with (read-only to the CSMS): 1000 bytes here."""
    model = DeviceModel(Database.open(tmp_path, "CS1"))
    limit = model.find({"name": "DeviceDataCtrlr"}, {"name": "BytesPerMessage", "instance": "GetVariables"})
    assert not isinstance(limit, str)
    model.write(limit, "1000")
    item = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}
    assert len(get_variables.handle(model, {"getVariableData": [item] * 10})["getVariableResult"]) == 10
    with pytest.raises(OcppError) as refused:
        get_variables.handle(model, {"getVariableData": [item] * 20})
    assert refused.value.code == "FormatViolation"
