"""The simulated EVSE obeys external limits: the entry in force of the import schedule caps the current offered to
the car, in amperes or watts, and the car draws no more than that."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sim.EvseManager.charger import Charger, EvseSettings
from sim.EvseManager.limits import ExternalLimits, entry_current, in_force
from sim.EvseManager.powermeter import PowerMeter

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def entry(seconds: int, **leaves: float) -> dict[str, Any]:
    return {"timestamp": (NOW + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
            "limits_to_root": {}, "limits_to_leaves": {k: {"value": v, "source": "test"} for k, v in leaves.items()}}


def test_the_latest_entry_that_began_is_in_force_until_the_next() -> None:
    schedule = [entry(600, ac_max_current_A=6), entry(-60, ac_max_current_A=10), entry(-600, ac_max_current_A=16)]
    current, next_at = in_force(schedule, NOW)
    assert current == schedule[1] and next_at == NOW + timedelta(seconds=600)
    assert in_force(schedule[:1], NOW) == (None, NOW + timedelta(seconds=600))
    assert in_force([], NOW) == (None, None)


def test_an_entry_allows_its_lowest_current_and_power_limit() -> None:
    assert entry_current(entry(0, ac_max_current_A=10), 230, 3) == 10
    assert entry_current(entry(0, total_power_W=4140), 230, 3) == 6
    assert entry_current(entry(0, ac_max_current_A=10, total_power_W=4140), 230, 3) == 6
    assert entry_current(entry(0), 230, 3) is None


async def test_the_charging_car_draws_what_the_limit_allows() -> None:
    published: list[tuple[str, Any]] = []

    async def emit(var: str, value: Any) -> None:
        published.append((var, value))

    meter = PowerMeter("meter")
    charger = Charger(EvseSettings(external_ready=False), meter, emit)
    await charger.start()
    await charger.car_plugged_in()
    await charger.authorize_response({"id_token": {"value": "T", "type": "ISO14443"}},
                                     {"authorization_status": "Accepted"})
    await charger.car_demand(16, 3, regulated=True)
    assert meter.currents_A["L1"] == 16
    limits = ExternalLimits(charger.limit_current, 230, 3)
    now = datetime.now(UTC)
    await limits.set({"schedule_import": [
        {"timestamp": (now - timedelta(seconds=5)).isoformat(), "limits_to_root": {},
         "limits_to_leaves": {"ac_max_current_A": {"value": 8, "source": "test"}}},
        {"timestamp": (now + timedelta(hours=1)).isoformat(), "limits_to_root": {},
         "limits_to_leaves": {"ac_max_current_A": {"value": 32, "source": "test"}}}]})
    assert meter.currents_A["L1"] == 8 and charger.max_current_A == 8
    await limits.set({"schedule_import": []})
    assert meter.currents_A["L1"] == 16 and charger.max_current_A == 32
    limits.close()


async def test_force_unlock_ends_the_transaction_and_a_fixed_cable_has_nothing_to_unlock() -> None:
    events: list[str] = []

    async def emit(var: str, value: Any) -> None:
        if var == "session_event":
            events.append(value["event"])

    for lock, expected in [(True, True), (False, False)]:
        events.clear()
        charger = Charger(EvseSettings(external_ready=False, connector_lock=lock), PowerMeter("meter"), emit)
        await charger.start()
        await charger.car_plugged_in()
        await charger.authorize_response({"id_token": {"value": "T", "type": "ISO14443"}},
                                         {"authorization_status": "Accepted"})
        await charger.car_demand(16, 3, regulated=True)
        assert "TransactionStarted" in events
        assert await charger.force_unlock(1) is expected
        assert ("TransactionFinished" in events) is lock
