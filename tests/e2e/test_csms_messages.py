"""TriggerMessage, DataTransfer both ways, configuration keys and ClearCache through the CSMS (issue 7)."""

from __future__ import annotations

from sim.csms.records import CALLRESULT
from tests.e2e.flows import boot, charging, wait_log


async def test_tc_054_cs_trigger_message(charger):
    probe = await boot(charger)
    csms = charger.csms
    await probe.evses[1].meter(add_wh=10)
    for requested, connector, check in (
            ("BootNotification", None, lambda p: p["chargePointVendor"] == "ProbeVendor"),
            ("Heartbeat", None, lambda p: p == {}),
            ("StatusNotification", 1, lambda p: p["connectorId"] == 1 and p["status"] == "Available"),
            ("MeterValues", 1, lambda p: p["connectorId"] == 1
             and p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"),
            ("DiagnosticsStatusNotification", None, lambda p: p == {"status": "Idle"}),
            ("FirmwareStatusNotification", None, lambda p: p == {"status": "Idle"})):
        mark = csms.mark()
        assert await csms.trigger_message(requested, connector) == {"status": "Accepted"}, requested
        await csms.wait_for(requested, check, after_index=mark)


async def test_tc_054_cs_triggered_heartbeat_sets_the_system_time(charger):
    probe = await boot(charger)
    before = len(probe.calls)
    assert await charger.csms.trigger_message("Heartbeat") == {"status": "Accepted"}
    assert "timestamp" in await probe.wait_call("system", "set_system_time", after=before)


async def test_tc_054_cs_trigger_status_notification_of_every_connector(charger):
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    assert await csms.trigger_message("StatusNotification") == {"status": "Accepted"}
    for connector in (0, 1, 2):
        await csms.wait_for("StatusNotification", lambda p, c=connector: p["connectorId"] == c, after_index=mark)


async def test_tc_054_cs_trigger_meter_values_during_a_transaction_carries_its_id(charger):
    probe = await boot(charger)
    csms = charger.csms
    transaction = await charging(csms, probe.evses[1])
    mark = csms.mark()
    assert await csms.trigger_message("MeterValues", 1) == {"status": "Accepted"}
    meter_values = await csms.wait_for("MeterValues", after_index=mark)
    assert meter_values["transactionId"] == transaction.transaction_id


async def test_tc_055_cs_trigger_message_rejected_for_unknown_connector(charger):
    await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    assert await csms.trigger_message("StatusNotification", 3) == {"status": "Rejected"}
    assert await csms.trigger_message("MeterValues", 7) == {"status": "Rejected"}
    assert csms.payloads("StatusNotification", after_index=mark) == []


async def test_tc_062_cs_data_transfer_from_the_csms_goes_to_the_data_transfer_module(charger):
    probe = await boot(charger)
    answer = await charger.csms.data_transfer("com.example", "greeting", "hello")
    assert answer == {"status": "Accepted", "data": "echo:hello"}
    assert probe.called("data_transfer", "data_transfer") == [
        {"request": {"vendor_id": "com.example", "message_id": "greeting", "data": "hello"}}]


async def test_tc_062_cs_data_transfer_from_the_csms_rejected_when_the_module_fails(charger):
    probe = await boot(charger)

    def broken(_args):
        raise RuntimeError("vendor extension crashed")

    probe.results[("data_transfer", "data_transfer")] = broken
    assert await charger.csms.data_transfer("com.example") == {"status": "Rejected"}


async def test_tc_062_cs_data_transfer_to_the_csms(charger):
    probe = await boot(charger)
    csms = charger.csms
    csms.data_transfer_status = "UnknownMessageId"
    request = {"vendor_id": "com.example", "message_id": "hello", "data": "payload"}

    answer = await probe.mod.requirement("ocpp_data_transfer").call("data_transfer", {"request": request})
    assert answer == {"status": "UnknownMessageId"}
    assert await csms.wait_for("DataTransfer") == {"vendorId": "com.example", "messageId": "hello",
                                                   "data": "payload"}


async def test_tc_019_cs_get_configuration(charger):
    await boot(charger)
    csms = charger.csms
    everything = await csms.get_configuration()
    keys = {kv["key"]: kv for kv in everything["configurationKey"]}
    assert keys["HeartbeatInterval"]["value"] == "300" and keys["HeartbeatInterval"]["readonly"] is False
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
    assert "AuthorizationKey" not in keys

    some = await csms.get_configuration(["ConnectionTimeOut", "NoSuchKey"])
    assert [kv["key"] for kv in some["configurationKey"]] == ["ConnectionTimeOut"]
    assert some["unknownKey"] == ["NoSuchKey"]


async def test_tc_021_cs_change_configuration(charger):
    probe = await boot(charger)
    csms = charger.csms
    assert await csms.change_configuration("MeterValueSampleInterval", "15") == {"status": "Accepted"}
    current = await csms.get_configuration(["MeterValueSampleInterval"])
    assert current["configurationKey"][0]["value"] == "15"

    assert await csms.change_configuration("ConnectionTimeOut", "45") == {"status": "Accepted"}
    assert await probe.wait_call("auth", "set_connection_timeout", lambda a: a["connection_timeout"] == 45)


async def test_tc_021_cs_change_configuration_kept_over_a_power_cut(charger):
    await boot(charger)
    csms = charger.csms
    assert await csms.change_configuration("MeterValueSampleInterval", "25") == {"status": "Accepted"}
    await charger.kill()
    mark = csms.mark()
    await charger.start()
    # Asked the moment the CSMS has accepted the new boot (the charge point must already take requests).
    await csms.wait_for("BootNotification", after_index=mark, timeout=30, direction="out", kind=CALLRESULT)
    current = await csms.get_configuration(["MeterValueSampleInterval"])
    assert current["configurationKey"][0]["value"] == "25"


async def test_tc_040_1_cs_change_configuration_of_unknown_key_not_supported(charger):
    await boot(charger)
    assert await charger.csms.change_configuration("NoSuchKey", "1") == {"status": "NotSupported"}


async def test_tc_040_2_cs_change_configuration_with_invalid_value_rejected(charger):
    await boot(charger)
    csms = charger.csms
    assert await csms.change_configuration("MeterValueSampleInterval", "-5") == {"status": "Rejected"}
    assert await csms.change_configuration("HeartbeatInterval", "often") == {"status": "Rejected"}
    assert await csms.change_configuration("NumberOfConnectors", "4") == {"status": "Rejected"}  # read-only
    current = await csms.get_configuration(["MeterValueSampleInterval", "HeartbeatInterval"])
    assert [kv["value"] for kv in current["configurationKey"]] == ["60", "300"]


async def test_tc_061_cs_clear_cache(charger):
    charger.user_config = {"Core": {"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True}}
    probe = await boot(charger)
    csms = charger.csms
    assert (await probe.validate("RFID_CACHED"))["authorization_status"] == "Accepted"
    mark = csms.mark()
    assert (await probe.validate("RFID_CACHED"))["authorization_status"] == "Accepted"
    assert csms.payloads("Authorize", after_index=mark) == []  # answered from the cache

    assert await csms.clear_cache() == {"status": "Accepted"}
    assert (await probe.validate("RFID_CACHED"))["authorization_status"] == "Accepted"
    assert (await csms.wait_for("Authorize", after_index=mark))["idTag"] == "RFID_CACHED"


async def test_each_evse_meter_public_key_is_reported_as_meter_public_key_n(charger):
    """Eichrecht: the EVSE's powermeter_public_key_ocmf is the read-only key MeterPublicKey[connector] (EVerest's
    eichrecht.py::test_meter_public_key)."""
    probe = await boot(charger)
    await probe.evses[2].publish("powermeter_public_key_ocmf", "PUBLIC-KEY-OF-METER-2")
    await wait_log(charger, "configuration MeterPublicKeys set to")
    answer = await charger.csms.get_configuration(["meterpublickey[2]", "MeterPublicKey[1]", "MeterPublicKey[3]"])
    assert answer["configurationKey"] == [
        {"key": "MeterPublicKey[2]", "readonly": True, "value": "PUBLIC-KEY-OF-METER-2"},
        {"key": "MeterPublicKey[1]", "readonly": True, "value": ""}]
    assert answer["unknownKey"] == ["MeterPublicKey[3]"]
    everything = await charger.csms.get_configuration()
    assert {"key": "MeterPublicKey[2]", "readonly": True, "value": "PUBLIC-KEY-OF-METER-2"} \
        in everything["configurationKey"]
    assert "MeterPublicKeys" not in [kv["key"] for kv in everything["configurationKey"]]
    assert await charger.csms.change_configuration("MeterPublicKey[2]", "OTHER") == {"status": "Rejected"}
