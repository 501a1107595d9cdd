"""Session flows through the real charge point in process: transactions, meter values, offline, power loss."""

from __future__ import annotations

from pathlib import Path

from module.core.charge_point import ChargePoint
from module.link.link import OcppLink
from module.link.protocol import OCPP16
from module.queue.database import Database
from sim.csms.server import LocalCsms
from tests.core.station import CP_ID, station

ENERGY = "Energy.Active.Import.Register"


async def test_tc_003_cs_regular_charging_session_plugin_first(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.session(1, "CARD1", wh=2500)
        stop = await csms.wait_for("StopTransaction")
        start = csms.payloads("StartTransaction")[0]
        assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, "CARD1", 1000)
        assert (stop["meterStop"], stop["reason"], stop["idTag"]) == (3500, "Local", "CARD1")
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Available",
                            after_index=1)
        statuses = [p["status"] for p in csms.payloads("StatusNotification") if p["connectorId"] == 1]
        assert statuses == ["Available", "Preparing", "Charging", "Finishing", "Available"]


async def test_repeated_transaction_events_give_one_start_and_one_stop(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        await cp.charger.event(1, "TransactionStarted", id_tag="CARD1", meter=cp.charger.reading(1))
        await cp.charger.finish(1, "Local")
        await cp.charger.finish(1, "Local")
        await csms.wait_for("StopTransaction")
        await cp.charger.unplug(1)
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Available",
                            after_index=5)
        assert len(csms.payloads("StartTransaction")) == 1 and len(csms.payloads("StopTransaction")) == 1


async def test_tc_070_cs_sampled_meter_values_on_the_sample_interval(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"MeterValueSampleInterval": 10, "MeterValuesSampledData": ENERGY}}
    async with station(tmp_path, csms, config=config) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        transaction = await csms.wait_for_transaction()
        for expected in (1600, 2200):
            cp.charger.draw(1, 600)
            await cp.clock.sleeper_until(cp.clock.monotonic() + 10)  # the sampler
            cp.clock.advance(10)
            values = await csms.wait_for(
                "MeterValues", lambda p, expected=expected: p["meterValue"][0]["sampledValue"][0]["value"] == str(
                    expected))
            assert values["transactionId"] == transaction.transaction_id
            assert values["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Periodic"


async def test_tc_036_cs_connection_loss_during_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"MeterValuesSampledData": ENERGY}}
    async with station(tmp_path, csms, config=config) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        await csms.wait_for_transaction()
        csms.refuse_connections = True
        await csms.drop()
        await cp.charge_point.link.wait_disconnected()
        for _ in range(3):
            cp.charger.draw(1, 100)
            await cp.charge_point.core.transactions.trigger_meter_values(1)
        await cp.charger.finish(1, "Local")
        assert cp.charge_point.queue.queued() == 4
        csms.refuse_connections = False
        stop = await csms.wait_for("StopTransaction", timeout=15)
        meter_values = [int(p["meterValue"][0]["sampledValue"][0]["value"]) for p in csms.payloads("MeterValues")]
        assert meter_values == [1100, 1200, 1300] and stop["meterStop"] == 1300


async def test_tc_037_3_cs_offline_start_with_invalid_id_stopped_deauthorized(tmp_path: Path,
                                                                              csms: LocalCsms) -> None:
    csms.set_id_tag("STOLEN", "Invalid")
    config = {"Core": {"StopTransactionOnInvalidId": True}}
    async with station(tmp_path, csms, config=config) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "STOLEN")
        await cp.charger.wait_called("pause_charging")
        assert (await cp.charger.wait_called("stop_transaction"))[0][:2] == (1, "DeAuthorized")
        stop = await csms.wait_for("StopTransaction")
        assert stop["reason"] == "DeAuthorized"


async def test_tc_032_cs_power_loss_stops_the_open_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        transaction = await csms.wait_for_transaction()
        cp.charger.draw(1, 700)
        await cp.charge_point.core.transactions.trigger_meter_values(1)  # journals the reading as well
        await csms.wait_for("MeterValues")
        # what a power cut leaves: the database as it was, no orderly stop of the transaction
    async with station(tmp_path, csms) as cp:
        stop = await csms.wait_for("StopTransaction")
        assert (stop["transactionId"], stop["reason"], stop["meterStop"]) == (transaction.transaction_id,
                                                                               "PowerLoss", 1700)


async def test_restart_of_the_ocpp_side_carries_the_transaction_on(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "CARD1")
        await csms.wait_for_transaction()
        previous = cp.charge_point
        await previous.stop()
        link = OcppLink(previous.link.settings, OCPP16, clock=cp.clock)
        context = previous.context
        successor = ChargePoint(previous.cfg, link, Database.open(tmp_path, CP_ID), context.ports,
                                context.connector_ids, context.boot_info, clock=cp.clock)
        successor.take_over(previous)
        cp.charger.charge_point = successor
        await successor.start()
        try:
            await cp.charger.finish(1, "Local")
            stop = await csms.wait_for("StopTransaction")
            assert stop["reason"] == "Local"
            assert [p["reason"] for p in csms.payloads("StopTransaction")] == ["Local"]
        finally:
            await successor.stop()


async def test_authorization_online_then_cache_offline(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"AuthorizationCacheEnabled": True, "LocalAuthorizeOffline": True}}
    async with station(tmp_path, csms, config=config) as cp:
        csms.set_id_tag("BLOCKED", "Blocked")
        authorization = cp.charge_point.core.authorization
        assert (await authorization.validate("CARD1"))["status"] == "Accepted"
        assert (await authorization.validate("BLOCKED"))["status"] == "Blocked"
        csms.refuse_connections = True
        await csms.drop()
        await cp.charge_point.link.wait_disconnected()
        assert (await authorization.validate("CARD1"))["status"] == "Accepted"
        assert (await authorization.validate("UNKNOWN"))["status"] == "Invalid"
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CARD1", "BLOCKED"]


async def test_max_energy_on_invalid_id_lets_that_much_energy_flow_before_pausing(tmp_path: Path,
                                                                                  csms: LocalCsms) -> None:
    """StopTransactionOnInvalidId false and MaxEnergyOnInvalidId 500: a transaction whose idTag the CSMS refuses
    keeps charging until 500 Wh were delivered in it, then it is paused (not stopped)."""
    csms.set_id_tag("STOLEN", "Invalid")
    config = {"Core": {"StopTransactionOnInvalidId": False, "MaxEnergyOnInvalidId": 500}}
    async with station(tmp_path, csms, config=config) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "STOLEN")
        await csms.wait_for_transaction()
        await cp.charger.wait_published("validate_result_update")
        cp.charger.draw(1, 300)
        await cp.charge_point.core.transactions.trigger_meter_values(1)
        await csms.wait_for("MeterValues")  # a round trip later: a refused id would have been paused by now
        assert cp.charger.called("pause_charging") == []
        cp.charger.draw(1, 250)
        assert await cp.charger.wait_called("pause_charging") == [(1,)]
        assert cp.charger.called("stop_transaction") == []


async def test_without_max_energy_on_invalid_id_a_refused_id_pauses_at_once(tmp_path: Path,
                                                                           csms: LocalCsms) -> None:
    csms.set_id_tag("STOLEN", "Invalid")
    async with station(tmp_path, csms, config={"Core": {"StopTransactionOnInvalidId": False}}) as cp:
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "STOLEN")
        assert await cp.charger.wait_called("pause_charging") == [(1,)]
        assert cp.charger.called("stop_transaction") == []
