"""A composite schedule as the energy sinks and the ocpp interface get it (module/impl/requirements/energy_sink.py):
EVerest's ExternalLimits and ChargingSchedule shapes, checked against the interface catalogue's types."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from framework.definitions import Definitions, load_yaml
from framework.schema_validation import InterfaceValidator, type_registry
from module.core.ports import CompositeSchedule, SchedulePeriod
from module.impl.requirements.energy_sink import charging_schedule, external_limits

INTERFACES = Path(__file__).resolve().parents[2] / "interfaces"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
AMPERES = CompositeSchedule(1, START, 600, "A", (SchedulePeriod(0, 16.0, 3), SchedulePeriod(300, 6.0, 1)), 6.0,
                            sources=((2, 3), (0, None)))


def test_external_limits_in_amperes_carry_the_phases_and_the_minimum_current() -> None:
    limits = external_limits(AMPERES, "ocpp/OCPP_set_external_limits")
    source = "ocpp/OCPP_set_external_limits"
    assert limits["schedule_import"] == [
        {"timestamp": "2026-03-02T08:00:00Z", "limits_to_root": {}, "limits_to_leaves": {
            "ac_max_phase_count": {"value": 3, "source": source}, "ac_max_current_A": {"value": 16.0, "source": source},
            "ac_min_current_A": {"value": 6.0, "source": source}}},
        {"timestamp": "2026-03-02T08:05:00Z", "limits_to_root": {}, "limits_to_leaves": {
            "ac_max_phase_count": {"value": 1, "source": source}, "ac_max_current_A": {"value": 6.0, "source": source},
            "ac_min_current_A": {"value": 6.0, "source": source}}}]
    assert limits["schedule_export"] == [] and limits["schedule_setpoints"] == []


def test_shapes_match_the_interfaces() -> None:
    definitions = Definitions([INTERFACES])
    registry = type_registry({path.stem: load_yaml(path)["types"] for path in (INTERFACES / "types").glob("*.yaml")})
    sink = InterfaceValidator("external_energy_limits", definitions.interface("external_energy_limits"), registry)
    sink.check_args("set_external_limits", {"value": external_limits(AMPERES, "ocpp/x")})
    watts = CompositeSchedule(0, START, 60, "W", (SchedulePeriod(0, 22080.0, 3),))
    sink.check_args("set_external_limits", {"value": external_limits(watts, "ocpp/x")})
    ocpp = InterfaceValidator("ocpp", definitions.interface("ocpp"), registry)
    ocpp.check_var("charging_schedules", {"schedules": [charging_schedule(watts, 0), charging_schedule(AMPERES, 1)]})
    assert charging_schedule(AMPERES, 1) == {
        "evse": 1, "charging_rate_unit": "A", "duration": 600, "start_schedule": "2026-03-02T08:00:00Z",
        "min_charging_rate": 6.0, "charging_schedule_period": [
            {"start_period": 0, "limit": 16.0, "stack_level": 2, "number_phases": 3},
            {"start_period": 300, "limit": 6.0, "stack_level": 0}]}  # the phases only where a profile names them
