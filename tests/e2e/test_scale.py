"""16 EVSEs on one OCPP module (issue 22, the small version of bench/scale.py): correctness only, no timings.

All sixteen start their transaction in the same loop turn, meter, and stop; every StartTransaction, MeterValues and
StopTransaction must reach the CSMS with the right connector, idTag, transaction id and readings.
"""

from __future__ import annotations

from tests.e2e import fleet
from tests.e2e.harness import ChargerUnderTest

EVSES = 16


def id_tag(number: int) -> str:
    return f"TAG{number:03d}"


def energy_values(meter_values: list[dict]) -> set[float]:
    return {float(v["value"]) for mv in meter_values for v in mv["sampledValue"]
            if v.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"}


async def test_sixteen_evses_start_meter_and_stop_at_once(charger: ChargerUnderTest):
    charger.evse_count = EVSES
    charger.user_config = {"Core": {"MeterValueSampleInterval": 1}}
    observer = fleet.FleetObserver(charger.csms)
    probe = await charger.start()
    await fleet.all_in(observer, range(EVSES + 1), "Available")

    await fleet.start_all(probe, observer, id_tag)
    transactions = observer.transactions()
    assert sorted(transactions) == list(range(1, EVSES + 1))
    assert all(tx.id_tag == id_tag(c) and tx.meter_start == 1000 for c, tx in transactions.items())

    for number, evse in probe.evses.items():  # a reading of its own per EVSE: 1000 + 10 n Wh
        await evse.meter(add_wh=10.0 * number)
    await observer.until(lambda: all(1000 + 10 * c in energy_values(tx.meter_values)
                                     for c, tx in observer.transactions().items()),
                         30, "every EVSE's reading in a MeterValues of its transaction")

    await fleet.stop_all(probe, observer)
    stopped = observer.transactions()
    assert {tx.transaction_id for tx in stopped.values()} == {tx.transaction_id for tx in transactions.values()}
    for connector, tx in stopped.items():
        assert tx.meter_stop == 1000 + 10 * connector and tx.reason == "Local"
        assert energy_values(tx.meter_values) <= {1000.0, 1000.0 + 10 * connector}
