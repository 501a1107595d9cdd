"""Charging sessions end to end (issue: a session), named after the OCTT 1.6 charge point cases.

Each test boots the real manager and OCPP module with the probe as EVSE managers and auth, drives a session with
EVerest's session events and checks what the CSMS receives (payloads, order, ids) and what the probe is told.
"""

from __future__ import annotations

import asyncio
from typing import Any

from framework import envelopes
from sim.csms.records import REJECTED
from tests.e2e import flows
from tests.e2e.flows import go_offline, go_online
from tests.e2e.harness import ChargerUnderTest
from tests.e2e.probe import Probe

FAST_RECONNECT = {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}


async def boot(charger: ChargerUnderTest, **core: Any) -> Probe:
    """Start with `core` keys in the user config; return once every connector was reported Available."""
    charger.user_config = {"Core": core, "Internal": dict(FAST_RECONNECT)}
    return await flows.boot(charger)


async def status(charger: ChargerUnderTest, connector: int, name: str, after: int = 0, **fields: Any) -> dict:
    """The next StatusNotification of `connector` with status `name` (and the given fields)."""
    try:
        return await charger.csms.wait_for(
            "StatusNotification", lambda p: p["connectorId"] == connector and p["status"] == name
            and all(p.get(k) == v for k, v in fields.items()), after_index=after)
    except TimeoutError:
        seen = charger.csms.payloads("StatusNotification", after_index=after)
        raise AssertionError(f"no {name} StatusNotification for connector {connector}; seen: {seen}") from None


def actions(charger: ChargerUnderTest, after: int = 0, names: tuple[str, ...] | None = None) -> list[str]:
    """The CALLs the charge point sent, in order (StatusNotifications shown with connector and status)."""
    seen = []
    for record in charger.csms.messages[after:]:
        if record.kind != "CALL" or record.direction != "in" or (names and record.action not in names):
            continue
        if record.action == "StatusNotification":
            seen.append(f"Status:{record.payload['connectorId']}:{record.payload['status']}")
        else:
            seen.append(record.action)
    return seen


def energy_values(meter_values: list[dict[str, Any]]) -> list[float]:
    return [float(v["value"]) for mv in meter_values for v in mv["sampledValue"]
            if v.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"]


async def test_every_session_event_delivered_twice_gives_one_start_and_one_stop(charger):
    """After a broker restart QoS 2 may deliver a session_event twice; the module acts on it once."""
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    publish_once = evse.publish

    async def publish_twice(var: str, value: Any) -> None:
        await publish_once(var, value)
        if var == "session_event":
            await publish_once(var, value)

    evse.publish = publish_twice  # type: ignore[method-assign]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await evse.meter(add_wh=500)
    await evse.stop_transaction("Local", id_tag="RFID_VALID1")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    await evse.unplug()
    await status(charger, 1, "Available", mark)
    assert (stop["transactionId"], stop["meterStop"]) == (tx.transaction_id, 1500)
    assert len(csms.payloads("StartTransaction", after_index=mark)) == 1
    assert len(csms.payloads("StopTransaction", after_index=mark)) == 1


async def test_tc_003_cs_regular_charging_session_plugin_first(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()

    await evse.plug_in()
    await status(charger, 1, "Preparing", mark)
    assert (await probe.validate("RFID_VALID1"))["authorization_status"] == "Accepted"
    assert (await csms.wait_for("Authorize", after_index=mark)) == {"idTag": "RFID_VALID1"}

    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    assert tx.id_tag == "RFID_VALID1" and tx.meter_start == 1000
    await status(charger, 1, "Charging", mark)
    updated = await probe.wait_var("ocpp_generic.ocpp_transaction_event",
                                   lambda v: v["transaction_event"] == "Updated")
    assert updated["transaction_id"] == str(tx.transaction_id) and updated["session_id"] == evse.session_id
    assert updated["evse"] == {"id": 1, "connector_id": 1}

    await evse.meter(add_wh=2500)
    await evse.stop_transaction("Local", id_tag="RFID_VALID1")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    assert stop["transactionId"] == tx.transaction_id and stop["meterStop"] == 3500
    assert stop["reason"] == "Local" and stop["idTag"] == "RFID_VALID1"
    await status(charger, 1, "Finishing", mark)
    await evse.unplug()
    await status(charger, 1, "Available", mark)

    assert actions(charger, mark) == ["Status:1:Preparing", "Authorize", "StartTransaction", "Status:1:Charging",
                                      "StopTransaction", "Status:1:Finishing", "Status:1:Available"]
    await probe.wait_var("ocpp_generic.ocpp_transaction_event", lambda v: v["transaction_event"] == "Ended")


async def test_tc_004_1_cs_regular_charging_session_identification_first(charger):
    probe = await boot(charger)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()

    assert (await probe.validate("RFID_VALID1"))["authorization_status"] == "Accepted"
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await status(charger, 1, "Charging", mark)
    assert (await probe.validate("RFID_VALID1"))["authorization_status"] == "Accepted"
    await evse.stop_transaction("Local", id_tag="RFID_VALID1")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    assert stop["transactionId"] == tx.transaction_id and stop["reason"] == "Local"
    await status(charger, 1, "Finishing", mark)
    await evse.unplug()
    await status(charger, 1, "Available", mark)
    assert actions(charger, mark) == ["Authorize", "Status:1:Preparing", "StartTransaction", "Status:1:Charging",
                                      "Authorize", "StopTransaction", "Status:1:Finishing", "Status:1:Available"]


async def test_tc_005_1_cs_ev_side_disconnect_stops_and_unlocks(charger):
    probe = await boot(charger, StopTransactionOnEVSideDisconnect=True, UnlockConnectorOnEVSideDisconnect=True)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await status(charger, 1, "Charging", mark)

    await evse.meter(add_wh=100)
    await evse.unplug()
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    assert stop["transactionId"] == tx.transaction_id and stop["reason"] == "EVDisconnected"
    assert stop["meterStop"] == 1100
    assert await probe.wait_call("evse_1", "force_unlock") == {"connector_id": 1}
    await status(charger, 1, "Available", mark)
    # The cable is gone: no Finishing in between.
    assert actions(charger, mark, ("StopTransaction", "StatusNotification"))[-2:] == [
        "StopTransaction", "Status:1:Available"]
    assert "Status:1:Finishing" not in actions(charger, mark)


async def test_tc_007_cs_regular_start_charging_session_cached_id(charger):
    probe = await boot(charger, AuthorizationCacheEnabled=True, LocalPreAuthorize=True)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    assert (await probe.validate("RFID_CACHED"))["authorization_status"] == "Accepted"
    assert len(csms.payloads("Authorize", after_index=mark)) == 1

    await evse.plug_in()
    assert (await probe.validate("RFID_CACHED"))["authorization_status"] == "Accepted"
    await evse.start_transaction("RFID_CACHED")
    await csms.wait_for_transaction(connector=1, after_index=mark)
    await status(charger, 1, "Charging", mark)
    # The second swipe was answered from the cache: still only the first Authorize.req.
    assert csms.payloads("Authorize", after_index=mark) == [{"idTag": "RFID_CACHED"}]


async def test_start_transaction_invalid_id_pauses_then_stops_deauthorized(charger):
    probe = await boot(charger, StopTransactionOnInvalidId=True)
    csms, evse = charger.csms, probe.evses[1]
    csms.set_id_tag("RFID_BLOCKED", "Blocked")
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_BLOCKED")  # e.g. authorized by a local list the CSMS no longer agrees with
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)

    await probe.wait_call("evse_1", "pause_charging")
    request = (await probe.wait_call("evse_1", "stop_transaction"))["request"]
    assert request["reason"] == "DeAuthorized"
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    assert stop["transactionId"] == tx.transaction_id and stop["reason"] == "DeAuthorized"
    update = await probe.wait_var("validator.validate_result_update")
    assert update["connector_id"] == 1 and update["validation_result"]["authorization_status"] == "Blocked"
    pause_index = next(i for i, c in enumerate(probe.calls) if c.command == "pause_charging")
    stop_index = next(i for i, c in enumerate(probe.calls) if c.command == "stop_transaction")
    assert pause_index < stop_index
    await status(charger, 1, "Finishing", mark)


async def test_tc_070_cs_sampled_meter_values(charger):
    measurands = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"
    probe = await boot(charger, MeterValueSampleInterval=1, MeterValuesSampledData=measurands,
                       StopTxnSampledData="Energy.Active.Import.Register", ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)

    await evse.meter(add_wh=10)
    first = await csms.wait_for("MeterValues", after_index=mark, timeout=5)
    await evse.meter(add_wh=10)
    second_mark = csms.mark()
    second = await csms.wait_for("MeterValues", after_index=second_mark, timeout=5)
    for sample in (first, second):
        assert sample["connectorId"] == 1 and sample["transactionId"] == tx.transaction_id
        values = sample["meterValue"][0]["sampledValue"]
        assert {v["context"] for v in values} == {"Sample.Periodic"}
        assert [(v["measurand"], v.get("phase")) for v in values] == [
            ("Energy.Active.Import.Register", None), ("Power.Active.Import", None),
            ("Current.Import", "L1"), ("Voltage", "L1-N")]
        assert {v["measurand"]: v["unit"] for v in values} == {
            "Energy.Active.Import.Register": "Wh", "Power.Active.Import": "W", "Current.Import": "A",
            "Voltage": "V"}
    assert energy_values(second["meterValue"]) >= energy_values(first["meterValue"])

    await evse.stop_transaction("Local")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    contexts = [v["context"] for mv in stop["transactionData"] for v in mv["sampledValue"]]
    assert contexts[0] == "Transaction.Begin" and contexts[-1] == "Transaction.End"
    assert set(contexts[1:-1]) <= {"Sample.Periodic"}
    assert {v["measurand"] for mv in stop["transactionData"] for v in mv["sampledValue"]} == {
        "Energy.Active.Import.Register"}
    assert energy_values(stop["transactionData"])[0] == 1000.0
    assert energy_values(stop["transactionData"])[-1] == stop["meterStop"]


async def test_tc_071_cs_clock_aligned_meter_values(charger):
    probe = await boot(charger, ClockAlignedDataInterval=2, MeterValueSampleInterval=0,
                       MeterValuesAlignedData="Energy.Active.Import.Register,Frequency",
                       StopTxnAlignedData="Energy.Active.Import.Register")
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.meter()
    idle = await csms.wait_for("MeterValues", lambda p: p["connectorId"] == 1, after_index=mark, timeout=5)
    assert "transactionId" not in idle

    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    in_tx = await csms.wait_for("MeterValues", lambda p: p.get("transactionId") == tx.transaction_id,
                                after_index=mark, timeout=5)
    for sample in (idle, in_tx):
        value = sample["meterValue"][0]
        assert int(value["timestamp"][17:19]) % 2 == 0  # on the 2 s grid counted from midnight UTC
        assert [(v["measurand"], v["context"], v.get("phase")) for v in value["sampledValue"]] == [
            ("Energy.Active.Import.Register", "Sample.Clock", None), ("Frequency", "Sample.Clock", "L1")]
    assert not any(m["connectorId"] == 2 for m in csms.payloads("MeterValues", after_index=mark))

    await evse.stop_transaction("Local")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    clock = [v for mv in stop["transactionData"] for v in mv["sampledValue"] if v["context"] == "Sample.Clock"]
    assert clock and {v["measurand"] for v in clock} == {"Energy.Active.Import.Register"}


async def refused_attempt(charger: ChargerUnderTest) -> None:
    """Until the charge point tried to reconnect once more (and was refused): about a second of offline time."""
    await charger.csms.wait_for_record(lambda r: r.kind == REJECTED, timeout=10, after_index=charger.csms.mark())


def tx_calls(charger: ChargerUnderTest, after: int = 0) -> list[tuple[str, Any]]:
    """Transaction messages as the CSMS received them: (action, transactionId or None for StartTransaction)."""
    return [(r.action, r.payload.get("transactionId")) for r in charger.csms.messages[after:]
            if r.kind == "CALL" and r.direction == "in"
            and r.action in ("StartTransaction", "MeterValues", "StopTransaction")]


async def test_tc_036_cs_connection_loss_during_transaction(charger):
    probe = await boot(charger, MeterValueSampleInterval=1, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await go_offline(charger, probe)

    for _ in range(3):  # samples while offline, the energy growing between them
        await evse.meter(add_wh=100)
        await refused_attempt(charger)
    back = go_online(charger)
    await csms.wait_for("MeterValues", after_index=back, timeout=10)
    await evse.stop_transaction("Local")
    await csms.wait_for("StopTransaction", after_index=back)
    queued = csms.payloads("MeterValues", after_index=back)
    assert len(queued) >= 3 and {m["transactionId"] for m in queued} == {tx.transaction_id}
    stamps = [m["meterValue"][0]["timestamp"] for m in queued]
    assert stamps == sorted(stamps)
    energies = [energy_values(m["meterValue"])[0] for m in queued]
    assert energies == sorted(energies) and energies[-1] == 1300.0
    assert tx_calls(charger, back)[-1] == ("StopTransaction", tx.transaction_id)


async def test_tc_037_1_cs_offline_start_transaction(charger):
    probe = await boot(charger, LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True,
                       MeterValueSampleInterval=0, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    await go_offline(charger, probe)
    # Answered at once from the offline rules, not after an Authorize timeout.
    result = await asyncio.wait_for(probe.validate("RFID_OFFLINE"), 3)
    assert result["authorization_status"] == "Accepted"
    await evse.plug_in()
    await evse.start_transaction("RFID_OFFLINE")
    started = await probe.wait_var("ocpp_generic.ocpp_transaction_event",
                                   lambda v: v["transaction_event"] == "Started")
    assert started["session_id"] == evse.session_id
    await refused_attempt(charger)

    back = go_online(charger)
    tx = await csms.wait_for_transaction(connector=1, after_index=back, timeout=15)
    assert tx.id_tag == "RFID_OFFLINE" and tx.meter_start == 1000
    await status(charger, 1, "Charging", back)
    updated = await probe.wait_var("ocpp_generic.ocpp_transaction_event",
                                   lambda v: v["transaction_event"] == "Updated")
    assert updated["transaction_id"] == str(tx.transaction_id)
    assert csms.payloads("Authorize", after_index=back) == []
    await evse.stop_transaction("Local")
    stop = await csms.wait_for("StopTransaction", after_index=back)
    assert stop["transactionId"] == tx.transaction_id


async def test_tc_037_3_cs_offline_start_transaction_invalid_id_stopped_deauthorized(charger):
    probe = await boot(charger, LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True,
                       StopTransactionOnInvalidId=True, MeterValueSampleInterval=0, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    csms.set_id_tag("RFID_INVALID", "Invalid")
    await go_offline(charger, probe)
    assert (await asyncio.wait_for(probe.validate("RFID_INVALID"), 3))["authorization_status"] == "Accepted"
    await evse.plug_in()
    await evse.start_transaction("RFID_INVALID")
    await refused_attempt(charger)

    back = go_online(charger)
    tx = await csms.wait_for_transaction(connector=1, after_index=back, timeout=15)
    assert (await probe.wait_call("evse_1", "stop_transaction"))["request"]["reason"] == "DeAuthorized"
    assert probe.called("evse_1", "pause_charging")
    stop = await csms.wait_for("StopTransaction", after_index=back)
    assert stop["transactionId"] == tx.transaction_id and stop["reason"] == "DeAuthorized"


async def test_tc_038_cs_offline_stop_transaction(charger):
    probe = await boot(charger, MeterValueSampleInterval=0, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await status(charger, 1, "Charging", mark)
    await go_offline(charger, probe)

    await evse.meter(add_wh=4000)
    await evse.stop_transaction("Local", id_tag="RFID_VALID1")
    await probe.wait_var("ocpp_generic.ocpp_transaction_event", lambda v: v["transaction_event"] == "Ended")
    await evse.unplug()
    await refused_attempt(charger)

    back = go_online(charger)
    stop = await csms.wait_for("StopTransaction", after_index=back, timeout=15)
    assert stop["transactionId"] == tx.transaction_id and stop["meterStop"] == 5000
    assert stop["reason"] == "Local" and stop["idTag"] == "RFID_VALID1"
    # The CSMS learns the connector's current state after the reconnect.
    await status(charger, 1, "Available", back)
    assert (await csms.wait_for_transaction(after_index=back, stopped=True)).transaction_id == tx.transaction_id


async def test_tc_039_cs_offline_transaction(charger):
    probe = await boot(charger, LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True,
                       MeterValueSampleInterval=1, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    await go_offline(charger, probe)
    await evse.plug_in()
    assert (await asyncio.wait_for(probe.validate("RFID_OFFLINE"), 3))["authorization_status"] == "Accepted"
    await evse.start_transaction("RFID_OFFLINE")
    await evse.meter(add_wh=200)
    await refused_attempt(charger)
    await evse.meter(add_wh=200)
    await refused_attempt(charger)
    await evse.stop_transaction("Local")
    await evse.unplug()

    back = go_online(charger)
    stop = await csms.wait_for("StopTransaction", after_index=back, timeout=15)
    start = csms.payloads("StartTransaction", after_index=back)
    assert len(start) == 1 and start[0]["idTag"] == "RFID_OFFLINE" and start[0]["meterStart"] == 1000
    tx = (await csms.wait_for_transaction(after_index=back)).transaction_id
    calls = tx_calls(charger, back)
    # Start first, then the samples taken offline, then the stop: all with the CSMS's id, none with a placeholder.
    assert calls[0] == ("StartTransaction", None) and calls[-1] == ("StopTransaction", tx)
    assert len(calls) >= 3 and all(action == "MeterValues" and tx_id == tx for action, tx_id in calls[1:-1])
    assert stop["meterStop"] == 1400 and stop["reason"] == "Local"
    energies = [energy_values(m["meterValue"])[0] for m in csms.payloads("MeterValues", after_index=back)]
    assert energies == sorted(energies)
    ended = await probe.wait_var("ocpp_generic.ocpp_transaction_event_response",
                                 lambda v: v["original_transaction_event"]["transaction_event"] == "Ended")
    assert ended["original_transaction_event"]["transaction_id"] == str(tx)


async def test_tc_032_2_cs_power_failure_kill_during_transaction_stops_it_with_power_loss(charger):
    probe = await boot(charger, MeterValueSampleInterval=1, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await probe.wait_var("ocpp_generic.ocpp_transaction_event", lambda v: v["transaction_event"] == "Updated")
    for expected in (1500.0, 2000.0):  # the CSMS billed up to the last sample before the cut
        await evse.meter(add_wh=500)
        await csms.wait_for("MeterValues", lambda p, e=expected: energy_values(p["meterValue"]) == [e],
                            after_index=mark)

    await charger.kill()
    reboot = csms.mark()
    probe = await charger.start()
    stop = await csms.wait_for("StopTransaction", after_index=reboot, timeout=30)
    assert stop["transactionId"] == tx.transaction_id and stop["reason"] == "PowerLoss"
    assert stop["meterStop"] == 2000
    assert actions(charger, reboot, ("BootNotification", "StopTransaction")) == ["BootNotification",
                                                                                 "StopTransaction"]
    await status(charger, 1, "Available", reboot)
    assert (await csms.wait_for_transaction(after_index=reboot, stopped=True)).reason == "PowerLoss"


async def test_faulted_from_raised_inoperative_error_and_back_when_cleared(charger):
    probe = await boot(charger)
    csms = charger.csms
    mark = csms.mark()
    await probe.evses[2].plug_in()
    await status(charger, 2, "Preparing", mark)

    await probe.mod.raise_error("evse_2", "evse_manager/Inoperative", message="contactor welded")
    faulted = await status(charger, 2, "Faulted", mark)
    assert faulted["errorCode"] == "OtherError" and faulted["info"] == "caused_by:contactor welded"
    cleared = csms.mark()
    await probe.mod.clear_error("evse_2", "evse_manager/Inoperative")
    back = await status(charger, 2, "Preparing", cleared, errorCode="NoError")
    assert "info" not in back
    assert actions(charger, mark, ("StatusNotification",)) == ["Status:2:Preparing", "Status:2:Faulted",
                                                                "Status:2:Preparing"]
    assert csms.connector_status(1) == "Available"


def publish_unchecked(probe: Probe, impl: str, var: str, value: Any) -> None:
    """Publish a var as a faulty module would: without the sender-side schema check."""
    probe.mod._publish(probe.mod.topics.var(probe.mod.id, impl, var), envelopes.var(value))


async def log_line(charger: ChargerUnderTest, *parts: str, timeout: float = 10) -> str:
    """The first line of the charger's log holding all `parts`, waiting while the log is being written."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [line for line in charger.log_text().splitlines() if all(p in line for p in parts)]
        if found:
            return found[0]
        if loop.time() > deadline:
            raise AssertionError(f"no log line with {parts}")
        await asyncio.sleep(0.05)


async def test_bad_session_event_and_powermeter_are_logged_and_dropped(charger):
    probe = await boot(charger, MeterValueSampleInterval=1, ClockAlignedDataInterval=0)
    csms, evse = charger.csms, probe.evses[1]
    mark = csms.mark()
    publish_unchecked(probe, "evse_1", "session_event", {"uuid": 7, "event": "NoSuchEvent"})
    publish_unchecked(probe, "evse_1", "powermeter", {"timestamp": "2026-01-01T00:00:00Z",
                                                      "power_W": {"total": 11000.0}})
    # Schema-valid but unusable: a TransactionStarted without its payload (no idTag, no meter reading).
    await evse.event("TransactionStarted")
    assert "probe" in await log_line(charger, "session_event", "dropped")
    assert "probe" in await log_line(charger, "powermeter", "dropped")
    await log_line(charger, "TransactionStarted", "dropped")

    # Nothing was lost: the next session is reported and billed as usual.
    await evse.plug_in()
    await evse.start_transaction("RFID_VALID1")
    tx = await csms.wait_for_transaction(connector=1, after_index=mark)
    await evse.meter(add_wh=50)
    sample = await csms.wait_for("MeterValues", after_index=mark)
    assert sample["transactionId"] == tx.transaction_id
    await evse.stop_transaction("Local")
    stop = await csms.wait_for("StopTransaction", after_index=mark)
    assert stop["transactionId"] == tx.transaction_id and stop["meterStop"] == 1050
    assert len(csms.payloads("StartTransaction", after_index=mark)) == 1
    assert actions(charger, mark, ("StatusNotification",))[:2] == ["Status:1:Preparing", "Status:1:Charging"]
    assert charger.manager.poll() is None
