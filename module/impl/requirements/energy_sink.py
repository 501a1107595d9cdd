"""The evse_energy_sink requirements (external_energy_limits): the core's EnergySinkPort.

As in EVerest, each sink names its EVSE in its mapping (evse 0 = the whole site); a sink without a mapping counts
by its position (the first for the site, the i-th for EVSE i). A connector's composite schedule goes to the sink
of its EVSE as EVerest's ExternalLimits, and every schedule is published as the ocpp interface's
charging_schedules.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from framework.module import Module, Requirement
from module.core.ports import CompositeSchedule, SchedulePeriod
from module.core.timestamps import utc_text
from module.impl import ocpp_generic
from module.impl.evse_connections import EvseConnections
from module.impl.requirements.command import call

log = logging.getLogger(__name__)


def external_limits(schedule: CompositeSchedule, source: str) -> dict[str, Any]:
    """EVerest's ExternalLimits: one import entry per period, from its start on, with the limit towards the
    leaves (ac_max_current_A or total_power_W, the minimum current and the phase count) and nothing towards
    the root."""
    entries = []
    for period in schedule.periods:
        leaves: dict[str, Any] = {"ac_max_phase_count": {"value": period.number_phases, "source": source}}
        if schedule.unit == "A":
            leaves["ac_max_current_A"] = {"value": period.limit, "source": source}
            if schedule.min_charging_rate is not None:
                leaves["ac_min_current_A"] = {"value": schedule.min_charging_rate, "source": source}
        else:
            leaves["total_power_W"] = {"value": period.limit, "source": source}
        entries.append({"timestamp": utc_text(schedule.start + timedelta(seconds=period.start_period)),
                        "limits_to_root": {}, "limits_to_leaves": leaves})
    return {"schedule_import": entries, "schedule_export": [], "schedule_setpoints": []}


def charging_schedule(schedule: CompositeSchedule, evse_id: int) -> dict[str, Any]:
    """One entry of the charging_schedules var (the ocpp interface's ChargingSchedule)."""
    value: dict[str, Any] = {
        "evse": evse_id, "charging_rate_unit": schedule.unit, "duration": schedule.duration,
        "start_schedule": utc_text(schedule.start),
        "charging_schedule_period": [_period(period, schedule.sources[index] if index < len(schedule.sources)
                                             else (0, None)) for index, period in enumerate(schedule.periods)]}
    if schedule.min_charging_rate is not None:
        value["min_charging_rate"] = schedule.min_charging_rate
    return value


def _period(period: SchedulePeriod, source: tuple[int, int | None]) -> dict[str, Any]:
    """As EVerest's OCPP module fills it: the winning profile's stack level, and number_phases only where that
    profile's period names it."""
    stack_level, phases = source
    value: dict[str, Any] = {"start_period": period.start_period, "limit": period.limit, "stack_level": stack_level}
    if phases is not None:
        value["number_phases"] = phases
    return value


class EnergySinks:
    """EnergySinkPort over the evse_energy_sink connections."""

    def __init__(self, mod: Module, evses: EvseConnections) -> None:
        self._mod = mod
        self._evses = evses
        self._source = f"{mod.id}/OCPP_set_external_limits"
        self._sinks: dict[int, Requirement] = {}
        for index, sink in enumerate(mod.requirements("evse_energy_sink")):
            evse_id = (sink.mapping or {}).get("evse")
            if evse_id is None:
                log.warning("energy sink %s.%s has no evse mapping: taken as EVSE %s by its position",
                            sink.module_id, sink.impl_id, index)
                evse_id = index
            self._sinks[int(evse_id)] = sink

    def _evse_id(self, connector_id: int) -> int | None:
        """The EVSE a connector's limits go to; None for all but the first connector of an EVSE with several (it
        charges one car at a time and has one sink, which gets its first connector's schedule)."""
        if connector_id == 0:
            return 0
        evse, _local = self._evses.evse_of(connector_id)
        return evse.evse_id if min(evse.connectors.values()) == connector_id else None

    async def set_limits(self, schedule: CompositeSchedule) -> None:
        evse_id = self._evse_id(schedule.connector_id)
        sink = self._sinks.get(evse_id) if evse_id is not None else None
        if sink is not None:
            await call(sink, "set_external_limits", {"value": external_limits(schedule, self._source)})

    async def publish_schedules(self, schedules: list[CompositeSchedule]) -> None:
        values = []
        for schedule in schedules:
            evse_id = self._evse_id(schedule.connector_id)
            if evse_id is not None:
                values.append(charging_schedule(schedule, evse_id))
        await self._mod.publish(ocpp_generic.IMPL, "charging_schedules", {"schedules": values})
