"""GetCompositeSchedule: the schedule a connector (0: the site) follows from now on, in the unit asked for or
the first one ChargingScheduleAllowedChargingRateUnit allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.ports import CompositeSchedule
from module.core.timestamps import utc_text

if TYPE_CHECKING:
    from module.core.profiles.smart_charging.service import SmartChargingService

ACTION = "GetCompositeSchedule"


async def handle(service: SmartChargingService, request: dict[str, Any]) -> dict[str, Any]:
    if request["duration"] < 0:
        return {"status": "Rejected"}
    duration = min(request["duration"], service.max_composite_duration())
    unit = request.get("chargingRateUnit") or service.default_unit()
    schedule = service.composite(request["connectorId"], duration, unit)
    if schedule is None:
        return {"status": "Rejected"}
    start = utc_text(schedule.start)
    return {"status": "Accepted", "connectorId": request["connectorId"], "scheduleStart": start,
            "chargingSchedule": charging_schedule(schedule, start)}


def charging_schedule(schedule: CompositeSchedule, start: str) -> dict[str, Any]:
    """The schedule as OCPP's ChargingSchedule."""
    payload: dict[str, Any] = {
        "duration": schedule.duration, "startSchedule": start, "chargingRateUnit": schedule.unit,
        "chargingSchedulePeriod": [{"startPeriod": period.start_period, "limit": period.limit,
                                    "numberPhases": period.number_phases} for period in schedule.periods]}
    if schedule.min_charging_rate is not None:
        payload["minChargingRate"] = schedule.min_charging_rate
    return payload
