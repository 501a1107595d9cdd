"""Every command the OCPP module provides, called through the framework by another module (the probe), and the
external websocket control topics (issue 7)."""

from __future__ import annotations

from sim.csms.records import CONNECTED, DISCONNECTED
from tests.e2e.flows import boot, wait_status
from tests.e2e.harness import ChargerUnderTest
from tests.e2e.probe import Probe


def main_call(probe: Probe, command: str, args: dict | None = None):
    return probe.mod.requirement("ocpp").call(command, args or {}, timeout=30)


def generic_call(probe: Probe, command: str, args: dict | None = None):
    return probe.mod.requirement("ocpp_generic").call(command, args or {}, timeout=30)


def to_csms(probe: Probe, vendor_id: str = "com.example", data: str = "ping"):
    return probe.mod.requirement("ocpp_data_transfer").call(
        "data_transfer", {"request": {"vendor_id": vendor_id, "data": data}}, timeout=30)


def variable(name: str) -> dict:
    return {"component": {"name": ""}, "variable": {"name": name}}


async def disconnected(charger: ChargerUnderTest, after: int) -> None:
    await charger.csms.wait_for_record(lambda r: r.kind == DISCONNECTED, after_index=after)


async def reconnected_and_booted(charger: ChargerUnderTest, after: int) -> None:
    await charger.csms.wait_for_record(lambda r: r.kind == CONNECTED, after_index=after)
    await charger.csms.wait_for("BootNotification", after_index=after)


# -- ocpp_1_6_charge_point ------------------------------------------------------------------------------------
async def test_main_stop_and_restart_really_stop_and_restart_the_ocpp_side(charger):
    probe = await boot(charger)
    csms = charger.csms
    connected_values = len(probe.vars["ocpp.is_connected"])
    mark = csms.mark()

    assert await main_call(probe, "stop") is True
    await disconnected(charger, mark)
    assert await probe.wait_var("ocpp.is_connected", lambda v: v is False, after=connected_values) is False
    assert await main_call(probe, "stop") is False  # already stopped
    assert await to_csms(probe) == {"status": "Offline"}
    assert csms.payloads("DataTransfer") == []
    await main_call(probe, "security_event", {"type": "TamperDetectionActivated", "info": "while stopped"})
    assert "TamperDetectionActivated critical while stopped" in (charger.workdir / "logs" / "security.log").read_text()

    mark = csms.mark()
    assert await main_call(probe, "restart") is True
    await reconnected_and_booted(charger, mark)
    await wait_status(csms, 1, "Available", mark)
    assert await main_call(probe, "restart") is False  # already running
    assert await to_csms(probe) == {"status": "Accepted"}


async def test_main_configuration_keys(charger):
    probe = await boot(charger)
    csms = charger.csms
    answer = await main_call(probe, "get_configuration_key", {"keys": ["HeartbeatInterval", "NoSuchKey"]})
    assert answer == {"configuration_keys": [{"key": "HeartbeatInterval", "read_only": False, "value": "300"}],
                      "unknown_keys": ["NoSuchKey"]}

    assert await main_call(probe, "set_configuration_key", {"key": "MeterValueSampleInterval", "value": "20"}) \
        == "Accepted"
    assert (await csms.get_configuration(["MeterValueSampleInterval"]))["configurationKey"][0]["value"] == "20"
    assert await main_call(probe, "set_configuration_key", {"key": "NoSuchKey", "value": "1"}) == "NotSupported"
    assert await main_call(probe, "set_configuration_key", {"key": "HeartbeatInterval", "value": "x"}) == "Rejected"


async def test_main_monitor_configuration_keys_publishes_changes(charger):
    probe = await boot(charger)
    await main_call(probe, "monitor_configuration_keys", {"keys": ["HeartbeatInterval", "ConnectionTimeOut"]})

    assert await charger.csms.change_configuration("HeartbeatInterval", "120") == {"status": "Accepted"}
    changed = await probe.wait_var("ocpp.configuration_key", lambda v: v["key"] == "HeartbeatInterval")
    assert changed == {"key": "HeartbeatInterval", "read_only": False, "value": "120"}
    assert await main_call(probe, "set_configuration_key", {"key": "ConnectionTimeOut", "value": "50"}) == "Accepted"
    changed = await probe.wait_var("ocpp.configuration_key", lambda v: v["key"] == "ConnectionTimeOut")
    assert changed["value"] == "50"


async def test_main_security_event_goes_to_the_csms_when_critical(charger):
    probe = await boot(charger)
    csms = charger.csms
    await main_call(probe, "security_event", {"type": "TamperDetectionActivated", "info": "cover opened"})
    notification = await csms.wait_for("SecurityEventNotification",
                                       lambda p: p["type"] == "TamperDetectionActivated")
    assert notification["techInfo"] == "cover opened"
    published = await probe.wait_var("ocpp.security_event", lambda v: v["type"] == "TamperDetectionActivated")
    assert published == {"type": "TamperDetectionActivated", "info": "cover opened"}  # as EVerest publishes it

    await main_call(probe, "security_event", {"type": "VendorSpecificNote", "info": "fan cleaned"})
    assert await probe.wait_var("ocpp_generic.security_event",
                                lambda v: v["type"] == "VendorSpecificNote") == {"type": "VendorSpecificNote",
                                                                                 "info": "fan cleaned"}
    assert [p for p in csms.payloads("SecurityEventNotification") if p["type"] == "VendorSpecificNote"] == []
    security_log = (charger.workdir / "logs" / "security.log").read_text()
    assert " TamperDetectionActivated critical cover opened" in security_log
    assert " VendorSpecificNote info fan cleaned" in security_log


# -- ocpp (generic) -------------------------------------------------------------------------------------------
async def test_generic_stop_and_restart(charger):
    probe = await boot(charger)
    mark = charger.csms.mark()
    assert await generic_call(probe, "stop") is True
    await disconnected(charger, mark)
    mark = charger.csms.mark()
    assert await generic_call(probe, "restart") is True
    await reconnected_and_booted(charger, mark)


async def test_generic_get_and_set_variables(charger):
    probe = await boot(charger)
    results = await generic_call(probe, "get_variables", {"requests": [
        {"component_variable": variable("HeartbeatInterval")}, {"component_variable": variable("NoSuchKey")}]})
    assert results == [{"component_variable": {"component": {"name": ""}, "variable": {"name": "HeartbeatInterval"}},
                        "status": "Accepted", "value": "300", "attribute_type": "Actual"},
                       {"component_variable": {"component": {"name": ""}, "variable": {"name": "NoSuchKey"}},
                        "status": "UnknownVariable"}]

    results = await generic_call(probe, "set_variables", {"source": "probe", "requests": [
        {"component_variable": variable("MeterValueSampleInterval"), "value": "30"},
        {"component_variable": variable("NoSuchKey"), "value": "1"},
        {"component_variable": variable("NumberOfConnectors"), "value": "5"}]})
    assert [r["status"] for r in results] == ["Accepted", "UnknownVariable", "Rejected"]
    current = await charger.csms.get_configuration(["MeterValueSampleInterval"])
    assert current["configurationKey"][0]["value"] == "30"


async def test_generic_monitor_variables_publishes_event_data(charger):
    probe = await boot(charger)
    monitored = {"component": {"name": "IGNORED"}, "variable": {"name": "MeterValueSampleInterval"}}
    await generic_call(probe, "monitor_variables", {"component_variables": [monitored]})
    assert await charger.csms.change_configuration("MeterValueSampleInterval", "45") == {"status": "Accepted"}
    event = await probe.wait_var("ocpp_generic.event_data")
    assert event["component_variable"] == monitored  # echoed as EVerest does
    assert (event["actual_value"], event["trigger"]) == ("45", "Alerting")


async def test_generic_change_availability(charger):
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    answer = await generic_call(probe, "change_availability", {"request": {
        "operational_status": "Inoperative", "evse": {"id": 2, "connector_id": 1}}})
    assert answer == {"status": "Accepted"}
    await wait_status(csms, 2, "Unavailable", mark)

    answer = await generic_call(probe, "change_availability", {"request": {"operational_status": "Inoperative"}})
    assert answer == {"status": "Accepted"}
    await wait_status(csms, 0, "Unavailable", mark)
    await wait_status(csms, 1, "Unavailable", mark)

    for evse in ({"id": 1}, {"id": 9, "connector_id": 1}, {"id": 2, "connector_id": 2}):
        answer = await generic_call(probe, "change_availability", {"request": {
            "operational_status": "Operative", "evse": evse}})
        assert (answer["status"], answer["status_info"]["reason_code"]) == ("Rejected", "InvalidInput")


async def test_generic_security_event(charger):
    probe = await boot(charger)
    await generic_call(probe, "security_event", {"event": {"type": "SettingSystemTime", "info": "NTP"}})
    notification = await charger.csms.wait_for("SecurityEventNotification",
                                               lambda p: p["type"] == "SettingSystemTime")
    assert notification["techInfo"] == "NTP"
    await generic_call(probe, "security_event", {"event": {"type": "VendorDoorOpened" * 5, "info": "x" * 300,
                                                           "critical": True}})
    vendor = await charger.csms.wait_for("SecurityEventNotification", lambda p: p["type"].startswith("Vendor"))
    assert (vendor["type"], vendor["techInfo"]) == (("VendorDoorOpened" * 5)[:50], "x" * 255)


# -- ocpp_data_transfer and the external websocket control --------------------------------------------------------
async def test_external_websocket_disconnect_and_connect(charger):
    probe = await boot(charger)
    csms = charger.csms
    assert await to_csms(probe) == {"status": "Accepted"}
    values = len(probe.vars["ocpp_generic.is_connected"])
    mark = csms.mark()

    await probe.mod.publish_external("everest_api/ocpp/cmd/disconnect", "")
    await disconnected(charger, mark)
    await probe.wait_var("ocpp_generic.is_connected", lambda v: v is False, after=values)
    assert await to_csms(probe) == {"status": "Offline"}

    values = len(probe.vars["ocpp_generic.is_connected"])
    mark = csms.mark()
    await probe.mod.publish_external("everest_api/ocpp/cmd/connect", "")
    await csms.wait_for_record(lambda r: r.kind == CONNECTED, after_index=mark)
    await probe.wait_var("ocpp_generic.is_connected", lambda v: v is True, after=values)
    await wait_status(csms, 1, "Available", mark)  # the CSMS gets every status again after the reconnect
    assert await to_csms(probe, data="again") == {"status": "Accepted"}
    assert [p["data"] for p in csms.payloads("DataTransfer")] == ["ping", "again"]


async def test_main_restart_keeps_availability_and_the_running_transaction(charger):
    """stop/restart is not a power cut: an Inoperative connector stays Unavailable and a running transaction
    goes on (it is not stopped with PowerLoss) and ends normally afterwards."""
    from tests.e2e.flows import charging, stopped

    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    assert await csms.change_availability(2, "Inoperative") == {"status": "Accepted"}
    await wait_status(csms, 2, "Unavailable")
    transaction = await charging(csms, evse)

    assert await main_call(probe, "stop") is True
    mark = csms.mark()
    assert await main_call(probe, "restart") is True
    await reconnected_and_booted(charger, mark)
    await wait_status(csms, 1, "Charging", mark)
    await wait_status(csms, 2, "Unavailable", mark)
    assert csms.payloads("StopTransaction") == []

    await evse.stop_transaction("Local")
    stop = await stopped(csms, transaction, mark)
    assert stop["reason"] == "Local"


async def test_log_messages_format_callback_publishes_every_frame_as_ocpp_message(charger):
    charger.user_config = {"Internal": {"LogMessagesFormat": ["log", "callback"]}}
    probe = await boot(charger)
    sent = await probe.wait_var("ocpp_generic.ocpp_message", lambda v: '"BootNotification"' in v["message"])
    assert (sent["direction"], sent["version"]) == ("ChargingStationToCSMS", "1.6")
    answer = await probe.wait_var("ocpp_generic.ocpp_message", lambda v: v["message"].startswith("[3,"))
    assert answer["direction"] == "CSMSToChargingStation"
