"""Start-up of the OCPP module as EVerest's module does it (issue: module skeleton)."""

from __future__ import annotations


async def test_tc_001_cs_cold_boot_sends_boot_then_status_of_every_connector(charger):
    probe = await charger.start()
    csms = charger.csms
    boot = await csms.wait_for("BootNotification", timeout=30)
    assert boot["chargePointVendor"] == "ProbeVendor" and boot["chargePointModel"] == "ProbeModel"
    assert boot["chargePointSerialNumber"] == "PROBE-CP-1" and boot["firmwareVersion"] == "1.2.3"
    for connector in (0, 1, 2):
        status = await csms.wait_for("StatusNotification", lambda p, c=connector: p["connectorId"] == c)
        assert status["status"] == "Available" and status["errorCode"] == "NoError"
    assert [args["connection_timeout"] for args in probe.called("auth", "set_connection_timeout")]
    assert len(probe.called("evse_1", "external_ready_to_start_charging")) == 1
    await probe.wait_var("ocpp.is_connected", lambda value: value is True)


async def test_start_up_calls_come_in_everest_order_and_nothing_before_boot(charger):
    probe = await charger.start()
    csms = charger.csms
    await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2, timeout=30)
    order = [(call.impl, call.command) for call in probe.calls
             if call.command in ("get_evse", "set_connection_timeout", "external_ready_to_start_charging",
                                 "get_boot_reason")]
    assert order == [("evse_1", "get_evse"), ("evse_2", "get_evse"), ("auth", "set_connection_timeout"),
                     ("evse_1", "external_ready_to_start_charging"),
                     ("evse_2", "external_ready_to_start_charging"), ("system", "get_boot_reason")]
    first_calls = [record.action for record in csms.messages if record.kind == "CALL" and record.direction == "in"]
    assert first_calls[0] == "BootNotification"
    boot_index = next(r.index for r in csms.messages if r.action == "BootNotification" and r.kind == "CALLRESULT")
    assert all(r.index > boot_index for r in csms.messages if r.action == "StatusNotification")


async def test_status_of_every_connector_again_after_a_reconnect(charger):
    charger.user_config = {"Internal": {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 0}}
    probe = await charger.start()
    csms = charger.csms
    await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 2, timeout=30)
    mark = csms.mark()
    await csms.drop()
    await probe.wait_var("ocpp.is_connected", lambda value: value is False)
    for connector in (0, 1, 2):
        await csms.wait_for("StatusNotification", lambda p, c=connector: p["connectorId"] == c, after_index=mark,
                            timeout=30)
    assert not csms.payloads("BootNotification", after_index=mark)


async def test_evse_reporting_the_wrong_id_stops_start_up_with_a_clear_error(charger):
    charger.probe_results[("evse_2", "get_evse")] = {"id": 5, "connectors": [{"id": 1}]}
    await charger.start()
    assert await charger.wait_manager_exit() != 0
    assert "evse_manager connection 2 (probe.evse_2) reports EVSE id 5" in charger.log_text()
    assert not charger.csms.payloads("BootNotification")
