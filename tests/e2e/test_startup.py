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
