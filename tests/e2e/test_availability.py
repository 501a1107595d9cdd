"""ChangeAvailability: enable_disable on the EVSEs with source CSMS, Scheduled while a session runs, and kept
over a power cut (issue 7)."""

from __future__ import annotations

from tests.e2e.flows import boot, charging, wait_status


def csms_source(enable: bool) -> dict:
    return {"enable_source": "CSMS", "enable_state": "Enable" if enable else "Disable", "enable_priority": 5000}


async def test_change_availability_of_one_connector(charger):
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()

    assert await csms.change_availability(2, "Inoperative") == {"status": "Accepted"}
    assert probe.called("evse_2", "enable_disable") == [{"connector_id": 0, "cmd_source": csms_source(False)}]
    await wait_status(csms, 2, "Unavailable", mark)

    assert await csms.change_availability(2, "Operative") == {"status": "Accepted"}
    assert probe.called("evse_2", "enable_disable")[-1] == {"connector_id": 0, "cmd_source": csms_source(True)}
    await wait_status(csms, 2, "Available", mark)
    assert probe.called("evse_1", "enable_disable") == []
    assert [p["connectorId"] for p in csms.payloads("StatusNotification", after_index=mark)] == [2, 2]


async def test_change_availability_of_connector_zero_means_the_whole_charge_point(charger):
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()

    assert await csms.change_availability(0, "Inoperative") == {"status": "Accepted"}
    for impl in ("evse_1", "evse_2"):
        assert probe.called(impl, "enable_disable") == [{"connector_id": 0, "cmd_source": csms_source(False)}]
    for connector in (0, 1, 2):
        await wait_status(csms, connector, "Unavailable", mark)

    mark = csms.mark()
    assert await csms.change_availability(0, "Operative") == {"status": "Accepted"}
    for connector in (0, 1, 2):
        await wait_status(csms, connector, "Available", mark)


async def test_change_availability_scheduled_during_a_transaction_applies_when_it_ends(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    await charging(csms, evse)
    mark = csms.mark()

    assert await csms.change_availability(1, "Inoperative") == {"status": "Scheduled"}
    assert probe.called("evse_1", "enable_disable") == []
    await evse.stop_transaction("Local")

    await csms.wait_for("StopTransaction", after_index=mark)
    assert await probe.wait_call("evse_1", "enable_disable") == {"connector_id": 0,
                                                                 "cmd_source": csms_source(False)}
    await wait_status(csms, 1, "Unavailable", mark)
    await evse.unplug()
    triggered = csms.mark()
    assert (await csms.trigger_message("StatusNotification", 1))["status"] == "Accepted"
    await wait_status(csms, 1, "Unavailable", triggered)  # the car left: still Unavailable
    statuses = [p["status"] for p in csms.payloads("StatusNotification", after_index=mark) if p["connectorId"] == 1]
    assert statuses == ["Finishing", "Unavailable", "Unavailable"]  # never Available in between


async def test_change_availability_of_connector_zero_during_a_transaction_takes_the_idle_connector_at_once(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    await charging(csms, evse)
    mark = csms.mark()

    assert await csms.change_availability(0, "Inoperative") == {"status": "Scheduled"}
    await wait_status(csms, 2, "Unavailable", mark)
    await evse.unplug()
    await wait_status(csms, 1, "Unavailable", mark)
    await wait_status(csms, 0, "Unavailable", mark)


async def test_change_availability_scheduled_while_preparing(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[2]
    mark = csms.mark()
    await evse.plug_in()
    await wait_status(csms, 2, "Preparing", mark)

    assert await csms.change_availability(2, "Inoperative") == {"status": "Scheduled"}
    await evse.unplug()
    await wait_status(csms, 2, "Unavailable", mark)


async def test_change_availability_rejected_for_unknown_connector_or_when_the_evse_refuses(charger):
    probe = await boot(charger)
    csms = charger.csms
    assert await csms.change_availability(3, "Inoperative") == {"status": "Rejected"}

    def refuse(_args: dict) -> bool:
        raise RuntimeError("EVSE cannot be disabled now")

    probe.results[("evse_1", "enable_disable")] = refuse
    assert await csms.change_availability(1, "Inoperative") == {"status": "Rejected"}


async def test_change_availability_survives_a_power_cut(charger):
    probe = await boot(charger)
    csms = charger.csms
    assert await csms.change_availability(1, "Inoperative") == {"status": "Accepted"}
    await wait_status(csms, 1, "Unavailable")

    await charger.kill()
    mark = csms.mark()
    probe = await charger.start()
    await csms.wait_for("BootNotification", after_index=mark, timeout=30)
    await wait_status(csms, 1, "Unavailable", mark)
    await wait_status(csms, 2, "Available", mark)
    assert probe.called("evse_1", "enable_disable") == [{"connector_id": 0, "cmd_source": csms_source(False)}]
    assert probe.called("evse_2", "enable_disable") == []
    assert await csms.remote_start(1, "RFID_REMOTE1") == {"status": "Rejected"}

    mark = csms.mark()
    assert await csms.change_availability(1, "Operative") == {"status": "Accepted"}
    await wait_status(csms, 1, "Available", mark)
