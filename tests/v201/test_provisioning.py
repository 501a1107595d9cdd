"""Block B's GetVariables and SetVariables end to end over the link (OCPP 2.0.1 part 6, TC_B_*_CS)."""

from __future__ import annotations

from typing import Any

import pytest

from module.v201.station import Station201
from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms
from tests.v201.conftest import STATION_ID

OFFLINE_THRESHOLD = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}
AUTHORIZE_REMOTE_START = {"component": {"name": "AuthCtrlr"}, "variable": {"name": "AuthorizeRemoteStart"}}


async def get(csms: LocalCsms, *items: dict[str, Any]) -> list[dict[str, Any]]:
    return (await csms.call(STATION_ID, "GetVariables", {"getVariableData": list(items)}))["getVariableResult"]


async def put(csms: LocalCsms, *items: dict[str, Any]) -> list[dict[str, Any]]:
    return (await csms.call(STATION_ID, "SetVariables", {"setVariableData": list(items)}))["setVariableResult"]


async def test_tc_b_06_cs_get_variables_single_value(station: Station201, csms: LocalCsms) -> None:
    [result] = await get(csms, OFFLINE_THRESHOLD)
    assert (result["attributeStatus"], result["attributeType"], result["attributeValue"]) == ("Accepted", "Actual",
                                                                                              "60")


async def test_tc_b_07_cs_get_variables_multiple_values(station: Station201, csms: LocalCsms) -> None:
    results = await get(csms, OFFLINE_THRESHOLD, AUTHORIZE_REMOTE_START)
    assert [(r["variable"]["name"], r["attributeValue"]) for r in results] == [("OfflineThreshold", "60"),
                                                                               ("AuthorizeRemoteStart", "true")]


async def test_tc_b_08_cs_get_variables_limit_to_maximum_number_of_values(station: Station201,
                                                                         csms: LocalCsms) -> None:
    """ItemsPerMessageGetVariables items are answered one by one; one more is refused as a whole."""
    assert len(await get(csms, *[OFFLINE_THRESHOLD] * 50)) == 50
    with pytest.raises(CsmsCallError) as refused:
        await get(csms, *[OFFLINE_THRESHOLD] * 51)
    assert refused.value.code == "OccurrenceConstraintViolation"


async def test_tc_b_09_cs_tc_b_10_cs_set_variables_single_and_multiple_values(station: Station201,
                                                                            csms: LocalCsms) -> None:
    [single] = await put(csms, {**OFFLINE_THRESHOLD, "attributeValue": "200"})
    assert single["attributeStatus"] == "Accepted"
    assert (await get(csms, OFFLINE_THRESHOLD))[0]["attributeValue"] == "200"
    results = await put(csms, {**OFFLINE_THRESHOLD, "attributeValue": "300", "attributeType": "Actual"},
                        {"component": {"name": "AuthCtrlr"}, "variable": {"name": "LocalAuthorizeOffline"},
                         "attributeValue": "true", "attributeType": "Actual"})
    assert [r["attributeStatus"] for r in results] == ["Accepted", "Accepted"]
    assert [r["attributeValue"] for r in await get(csms, OFFLINE_THRESHOLD)] == ["300"]


async def test_tc_b_11_cs_set_variables_invalidly_formatted_values(station: Station201, csms: LocalCsms) -> None:
    results = await put(csms, {**OFFLINE_THRESHOLD, "attributeValue": "soon"},
                        {**AUTHORIZE_REMOTE_START, "attributeValue": "yes"})
    assert [r["attributeStatus"] for r in results] == ["Rejected", "Rejected"]
    assert (await get(csms, OFFLINE_THRESHOLD))[0]["attributeValue"] == "60"  # unchanged


async def test_tc_b_33_cs_get_variables_unknown_variable(station: Station201, csms: LocalCsms) -> None:
    [result] = await get(csms, {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "UnknownVariable"}})
    assert (result["attributeStatus"], result["component"]["name"], result["variable"]["name"]) == (
        "UnknownVariable", "OCPPCommCtrlr", "UnknownVariable")


async def test_tc_b_35_cs_set_variables_unknown_component(station: Station201, csms: LocalCsms) -> None:
    [result] = await put(csms, {"component": {"name": "UnknownComponent"}, "variable": {"name": "OfflineThreshold"},
                                "attributeValue": "10"})
    assert (result["attributeStatus"], result["component"]["name"]) == ("UnknownComponent", "UnknownComponent")


async def test_get_and_set_of_an_attribute_type_the_variable_lacks_and_of_read_only_and_write_only_ones(
        station: Station201, csms: LocalCsms) -> None:
    [target] = await get(csms, {**OFFLINE_THRESHOLD, "attributeType": "Target"})
    assert target["attributeStatus"] == "NotSupportedAttributeType"
    [read_only] = await put(csms, {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"},
                                   "attributeValue": "2"})
    assert read_only["attributeStatus"] == "Rejected"
    password = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
    [written] = await put(csms, {**password, "attributeValue": "a-new-password-1234"})
    assert written["attributeStatus"] == "Accepted"
    [hidden] = await get(csms, password)
    assert hidden["attributeStatus"] == "Rejected" and "attributeValue" not in hidden  # write-only: never read
    [reboot] = await put(csms, {"component": {"name": "OCPPCommCtrlr"},
                                "variable": {"name": "NetworkConfigurationPriority"}, "attributeValue": "1,0"})
    assert reboot["attributeStatus"] == "RebootRequired"


async def reports(csms: LocalCsms, request_id: int) -> list[dict[str, Any]]:
    """NotifyReport parts of one request, once the last (tbc false) arrived."""
    await csms.wait_for("NotifyReport", lambda p: p["requestId"] == request_id and not p["tbc"])
    return [p for p in csms.payloads("NotifyReport") if p["requestId"] == request_id]


def reported(parts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{d['component']['name']}/{d['variable']['name']}"
            + (f"[{d['variable']['instance']}]" if "instance" in d["variable"] else ""): d
            for part in parts for d in part["reportData"]}


async def test_tc_b_12_cs_get_base_report_configuration_inventory(station: Station201, csms: LocalCsms) -> None:
    answer = await csms.call(STATION_ID, "GetBaseReport", {"requestId": 12, "reportBase": "ConfigurationInventory"})
    assert answer == {"status": "Accepted"}
    data = reported(await reports(csms, 12))
    assert "OCPPCommCtrlr/OfflineThreshold" in data and "SecurityCtrlr/SecurityProfile" not in data  # writable only
    password = data["SecurityCtrlr/BasicAuthPassword"]["variableAttribute"][0]
    assert password["mutability"] == "WriteOnly" and "value" not in password


async def test_tc_b_13_cs_get_base_report_full_inventory_in_parts(station: Station201, csms: LocalCsms) -> None:
    """Every variable, 10 per NotifyReport (ItemsPerMessageGetReport), seqNo counting up, tbc on all but the last;
    the local CSMS checks every part against the OCA 2.0.1 NotifyReport schema as it receives it."""
    per_part = station.model.find({"name": "DeviceDataCtrlr"}, {"name": "ItemsPerMessage", "instance": "GetReport"})
    assert not isinstance(per_part, str)
    station.model.write(per_part, "10")
    answer = await csms.call(STATION_ID, "GetBaseReport", {"requestId": 13, "reportBase": "FullInventory"})
    assert answer == {"status": "Accepted"}
    parts = await reports(csms, 13)
    count = len(station.model.variables)
    assert [p["seqNo"] for p in parts] == list(range((count + 9) // 10))
    assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]
    data = reported(parts)
    assert len(data) == count
    offline = data["OCPPCommCtrlr/OfflineThreshold"]
    assert offline["variableAttribute"] == [{"type": "Actual", "value": "60", "mutability": "ReadWrite",
                                             "persistent": True, "constant": False}]
    assert offline["variableCharacteristics"] == {"dataType": "integer", "unit": "s", "supportsMonitoring": False}


async def test_get_base_report_summary_inventory(station: Station201, csms: LocalCsms) -> None:
    assert await csms.call(STATION_ID, "GetBaseReport", {"requestId": 14, "reportBase": "SummaryInventory"}) == {
        "status": "Accepted"}
    assert {name.split("/")[0] for name in reported(await reports(csms, 14))} == {"ChargingStation"}
