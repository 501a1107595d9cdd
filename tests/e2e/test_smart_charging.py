"""Smart charging through the framework: the composite schedules reach the energy sinks mapped to each EVSE and to
the site as EVerest's ExternalLimits (schema-checked by the framework), and the ocpp interface publishes them.
The charging profile rules and the OCTT cases run in process (tests/core/test_cp_smart_charging.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.core.charging_profiles import charging_profile
from tests.e2e.flows import boot
from tests.e2e.harness import ChargerUnderTest

SOURCE = "ocpp/OCPP_set_external_limits"


def first_entry(args: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = args["value"]["schedule_import"][0]
    return entry


async def test_limits_reach_each_evses_energy_sink_and_the_sites_in_the_unit_configured(
        charger: ChargerUnderTest) -> None:
    charger.energy_sinks = True
    charger.module_config = {"RequestCompositeScheduleUnit": "W", "PublishChargingScheduleDurationS": 120}
    probe = await boot(charger)
    started = await probe.wait_call("sink_1", "set_external_limits")
    assert first_entry(started)["limits_to_leaves"]["total_power_W"] == {"value": 33120, "source": SOURCE}
    mark = len(probe.calls)

    profile = charging_profile(1, "TxDefaultProfile", [(0, 10)], stack_level=1,
                               start=datetime.now(UTC) - timedelta(minutes=1))
    answer = await charger.csms.call(None, "SetChargingProfile", {"connectorId": 0, "csChargingProfiles": profile})
    assert answer == {"status": "Accepted"}
    for sink, watts in (("sink_1", 6900), ("sink_2", 6900), ("sink_0", 13800)):  # 10 A x 230 V x 3 phases each
        args = await probe.wait_call(sink, "set_external_limits", after=mark, predicate=lambda a, watts=watts:
                                     first_entry(a)["limits_to_leaves"]["total_power_W"]["value"] == watts)
        entry = first_entry(args)
        assert entry["limits_to_leaves"]["ac_max_phase_count"] == {"value": 3, "source": SOURCE}
        assert entry["limits_to_root"] == {} and args["value"]["schedule_export"] == []
        assert abs(datetime.fromisoformat(entry["timestamp"]) - datetime.now(UTC)) < timedelta(seconds=30)

    published = await probe.wait_var("ocpp_generic.charging_schedules", lambda value: [
        s["charging_schedule_period"][0]["limit"] for s in value["schedules"]] == [13800, 6900, 6900])
    assert [(s["evse"], s["charging_rate_unit"], s["duration"]) for s in published["schedules"]] == [
        (0, "W", 120), (1, "W", 120), (2, "W", 120)]
    # as EVerest's module: the winning profile's stack level; no number_phases where no profile names them
    assert [s["charging_schedule_period"][0] for s in published["schedules"]] == [
        {"start_period": 0, "limit": 13800, "stack_level": 0}, {"start_period": 0, "limit": 6900, "stack_level": 1},
        {"start_period": 0, "limit": 6900, "stack_level": 1}]
