"""Block E of the 2.0.1 station, in process against the local CSMS: TransactionEvent Started / Updated / Ended at the
TxStartPoint / TxStopPoint, seqNo without gaps over a restart, offline events delivered in order (named after the
use cases of OCPP 2.0.1 part 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sim.csms.server import LocalCsms
from tests.manual_clock import ManualClock
from tests.v201.conftest import RecordingEvents, RecordingEvses, running_station

TOKEN = {"id_token": {"value": "CARD01", "type": "ISO14443"}, "authorization_type": "RFID"}


def energy(wh: float) -> dict[str, Any]:
    return {"meter_value": {"timestamp": "2026-12-03T10:00:00Z", "energy_Wh_import": {"total": wh}}}


def events(csms: LocalCsms) -> list[dict[str, Any]]:
    return csms.payloads("TransactionEvent")


async def test_e02_transaction_from_power_path_closed_to_a_local_stop(tmp_path: Path, csms: LocalCsms) -> None:
    """The default points: Started when the power path closes, Ended when the token stops it."""
    async with running_station(tmp_path, csms, evses=RecordingEvses()) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "Authorized")
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(100)})
        await station.on_session_event(1, "ChargingStarted")
        await station.on_session_event(1, "TransactionFinished", {"reason": "Local", "id_tag": TOKEN,
                                                                  **energy(2600)})
        await station.on_session_event(1, "SessionFinished")
        ended = await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
        started, updated, _ = events(csms)
        assert [e["seqNo"] for e in events(csms)] == [0, 1, 2]
        assert started["triggerReason"] == "ChargingStateChanged" and started["evse"] == {"id": 1, "connectorId": 1}
        assert started["idToken"] == {"idToken": "CARD01", "type": "ISO14443"}
        assert started["meterValue"][0]["sampledValue"][0]["value"] == 100
        assert started["meterValue"][0]["sampledValue"][0]["context"] == "Transaction.Begin"
        assert updated["transactionInfo"]["chargingState"] == "Charging" and "idToken" not in updated
        assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
        assert ended["meterValue"][0]["sampledValue"][0]["value"] == 2600
        assert len({e["transactionInfo"]["transactionId"] for e in events(csms)}) == 1
        assert not any(e.get("offline") for e in events(csms))


async def test_e01_transaction_from_plug_in_to_unplug(tmp_path: Path, csms: LocalCsms) -> None:
    shipped = {"TxCtrlr/TxStartPoint": {"Actual": "EVConnected"}, "TxCtrlr/TxStopPoint": {"Actual": "EVConnected"}}
    async with running_station(tmp_path, csms, evses=RecordingEvses(), shipped=shipped) as station:
        await station.on_session_event(2, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(2, "TransactionStarted", {"id_tag": TOKEN, **energy(0)})
        await station.on_session_event(2, "TransactionFinished", {"reason": "EVDisconnected", **energy(10)})
        await station.on_session_event(2, "SessionFinished")
        await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
        assert [(e["eventType"], e["triggerReason"]) for e in events(csms)] == [
            ("Started", "CablePluggedIn"), ("Updated", "Authorized"), ("Ended", "EVCommunicationLost")]
        assert events(csms)[1]["idToken"]["idToken"] == "CARD01"
        assert events(csms)[2]["transactionInfo"]["stoppedReason"] == "EVDisconnected"


async def test_e04_events_while_offline_arrive_in_order_marked_offline(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms, evses=RecordingEvses()) as station:
        await station.link.disconnect()
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(0)})
        await station.on_session_event(1, "ChargingStarted")
        await station.on_session_event(1, "TransactionFinished", {"reason": "Remote", **energy(50)})
        assert events(csms) == []
        await station.link.connect()
        await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
        assert [(e["seqNo"], e["eventType"], e.get("offline")) for e in events(csms)] == [
            (0, "Started", True), (1, "Updated", True), (2, "Ended", True)]
        assert events(csms)[2]["transactionInfo"]["stoppedReason"] == "Remote"


async def test_e07_a_transaction_open_at_a_restart_ends_with_power_loss(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms, evses=RecordingEvses()) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(0)})
        await station.on_session_event(1, "ChargingStarted")
        await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Updated")
    async with running_station(tmp_path, csms, evses=RecordingEvses()):
        ended = await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
    assert (ended["seqNo"], ended["transactionInfo"]["stoppedReason"]) == (2, "PowerLoss")
    assert ended["transactionInfo"]["transactionId"] == events(csms)[0]["transactionInfo"]["transactionId"]


READING = {"timestamp": "2026-12-03T10:00:00Z", "energy_Wh_import": {"total": 1234.0},
           "power_W": {"total": 7000.0}, "voltage_V": {"L1": 230.1}}


async def test_j02_sampled_meter_values_every_tx_updated_interval(tmp_path: Path, csms: LocalCsms) -> None:
    clock = ManualClock()
    shipped = {"SampledDataCtrlr/TxUpdatedInterval": {"Actual": "10"},
               "SampledDataCtrlr/TxUpdatedMeasurands": {"Actual": "Energy.Active.Import.Register,Power.Active.Import"}}
    async with running_station(tmp_path, csms, evses=RecordingEvses(), shipped=shipped, clock=clock) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(1000)})
        station.transactions.on_powermeter(1, READING)
        await clock.sleeper_until(clock.monotonic() + 10)
        clock.advance(10)
        periodic = await csms.wait_for("TransactionEvent", lambda p: p["triggerReason"] == "MeterValuePeriodic")
        values = periodic["meterValue"][0]["sampledValue"]
        assert [(v["measurand"], v["value"], v["context"], v["unitOfMeasure"]["unit"]) for v in values] == [
            ("Energy.Active.Import.Register", 1234.0, "Sample.Periodic", "Wh"),
            ("Power.Active.Import", 7000.0, "Sample.Periodic", "W")]
        assert periodic["seqNo"] == 1


async def test_j01_clock_aligned_meter_values_in_and_out_of_a_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    clock = ManualClock()
    shipped = {"AlignedDataCtrlr/Interval": {"Actual": "1"},
               "AlignedDataCtrlr/Measurands": {"Actual": "Energy.Active.Import.Register,Voltage"}}
    async with running_station(tmp_path, csms, evses=RecordingEvses(), shipped=shipped, clock=clock) as station:
        station.transactions.on_powermeter(2, READING)
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(1000)})
        station.transactions.on_powermeter(1, READING)
        while not any(deadline <= clock.monotonic() + 1 for deadline in clock.pending()):
            await clock.sleeping(len(clock.pending()) + 1)
        clock.advance(1)
        idle = await csms.wait_for("MeterValues")
        assert idle["evseId"] == 2
        assert [(v["measurand"], v.get("phase")) for v in idle["meterValue"][0]["sampledValue"]] == [
            ("Energy.Active.Import.Register", None), ("Voltage", "L1-N")]
        charging = await csms.wait_for("TransactionEvent", lambda p: p["triggerReason"] == "MeterValueClock")
        assert charging["evse"]["id"] == 1 and charging["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"


async def test_each_transaction_event_and_its_answer_reach_the_other_modules(tmp_path: Path, csms: LocalCsms) -> None:
    """The ocpp interface's ocpp_transaction_event / _response and boot_notification_response, as EVerest's
    OCPP201 module publishes them, with the EVSE manager's session id."""
    events = RecordingEvents()
    async with running_station(tmp_path, csms, evses=RecordingEvses(), events=events) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"}, "session-1")
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(0)}, "session-1")
        await asyncio.wait_for(events.answered.wait(), 5)
    assert events.seen == [("boot", "Accepted"), ("event", "Started", "1", "session-1"),
                           ("response", "Started", "1", "session-1")]


async def test_e05_a_token_the_csms_refuses_in_the_transaction_ends_it(tmp_path: Path, csms: LocalCsms) -> None:
    """StopTxOnInvalidId: the CSMS answers the Started event's idToken with Invalid (the charger had authorized it
    offline or from its cache): the EVSE manager is told to end the transaction (DeAuthorized)."""
    csms.id_tags["CARD01"] = "Invalid"
    evses = RecordingEvses()
    shipped = {"TxCtrlr/StopTxOnInvalidId": {"Actual": "true"}}
    async with running_station(tmp_path, csms, evses=evses, shipped=shipped) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(0)})
        await asyncio.wait_for(evses.stopped.wait(), 5)
        assert evses.commands == [("stop_transaction", 1, "DeAuthorized")]
    shipped["TxCtrlr/StopTxOnInvalidId"] = {"Actual": "false"}
    evses = RecordingEvses()
    async with running_station(tmp_path / "second", csms, evses=evses, shipped=shipped) as station:
        mark = csms.mark()
        await station.on_session_event(2, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(2, "TransactionStarted", {"id_tag": TOKEN, **energy(0)})
        await csms.wait_for("TransactionEvent", kind="CALLRESULT", direction="out", after_index=mark)
    assert evses.commands == []


async def test_j02_tx_ended_interval_samples_go_with_the_ended_event(tmp_path: Path, csms: LocalCsms) -> None:
    clock = ManualClock()
    shipped = {"SampledDataCtrlr/TxEndedInterval": {"Actual": "25"},  # apart from TxUpdatedInterval 60
               "SampledDataCtrlr/TxEndedMeasurands": {"Actual": "Energy.Active.Import.Register,Power.Active.Import"}}
    async with running_station(tmp_path, csms, evses=RecordingEvses(), shipped=shipped, clock=clock) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": TOKEN, **energy(1000)})
        await clock.sleeper_until(clock.monotonic() + 25)
        for wh in (1100.0, 1200.0):
            station.transactions.on_powermeter(1, {**READING, "energy_Wh_import": {"total": wh}})
            clock.advance(25)
            await clock.sleeper_until(clock.monotonic() + 25)  # the sample is taken, the next one waits
        await station.on_session_event(1, "TransactionFinished", {"reason": "Local", **energy(1250)})
        ended = await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
    assert [[(s["context"], s["measurand"], s["value"]) for s in v["sampledValue"]] for v in ended["meterValue"]] == [
        [("Sample.Periodic", "Energy.Active.Import.Register", 1100.0),
         ("Sample.Periodic", "Power.Active.Import", 7000.0)],
        [("Sample.Periodic", "Energy.Active.Import.Register", 1200.0),
         ("Sample.Periodic", "Power.Active.Import", 7000.0)],
        [("Transaction.End", "Energy.Active.Import.Register", 1250.0)]]  # that reading holds no power
