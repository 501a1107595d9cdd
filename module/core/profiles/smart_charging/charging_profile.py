"""A charging profile as the composite schedule reads it: parsed once from the CSMS's JSON (which the store keeps
as received), times as whole epoch seconds, so computing a schedule never parses a date again."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from module.core.timestamps import parse_time

CHARGE_POINT_MAX = "ChargePointMaxProfile"
TX_DEFAULT = "TxDefaultProfile"
TX = "TxProfile"

ABSOLUTE = "Absolute"
RELATIVE = "Relative"
RECURRING = "Recurring"

DAY_S = 24 * 3600
RECURRENCE_S = {"Daily": DAY_S, "Weekly": 7 * DAY_S}


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch (a fraction of a second is dropped: schedules count whole seconds)."""
    return math.floor(moment.timestamp())


def _epoch_of(text: str | None) -> int | None:
    moment = parse_time(text)
    return None if moment is None else epoch(moment)


@dataclass(frozen=True)
class Period:
    start: int
    """Seconds from the start of the schedule."""
    limit: float
    number_phases: int | None


@dataclass(frozen=True)
class ChargingProfile:
    id: int
    connector_id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str
    periods: tuple[Period, ...]
    starts: tuple[int, ...]
    """The periods' starts, for bisecting."""
    start_schedule: int | None = None
    duration: int | None = None
    recurrence_s: int | None = None
    """Daily or Weekly, in seconds (Recurring only)."""
    valid_from: int | None = None
    valid_to: int | None = None
    min_charging_rate: float | None = None
    transaction_id: int | None = None

    @classmethod
    def from_ocpp(cls, connector_id: int, payload: dict[str, Any]) -> ChargingProfile:
        """csChargingProfiles of a SetChargingProfile (or a RemoteStartTransaction's chargingProfile), checked
        beforehand by validation.problem()."""
        schedule = payload["chargingSchedule"]
        periods = tuple(Period(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
                        for p in schedule["chargingSchedulePeriod"])
        kind = payload["chargingProfileKind"]
        return cls(
            id=int(payload["chargingProfileId"]), connector_id=connector_id, stack_level=int(payload["stackLevel"]),
            purpose=payload["chargingProfilePurpose"], kind=kind, unit=schedule["chargingRateUnit"],
            periods=periods, starts=tuple(period.start for period in periods),
            start_schedule=_epoch_of(schedule.get("startSchedule")), duration=schedule.get("duration"),
            recurrence_s=RECURRENCE_S.get(payload.get("recurrencyKind", "")) if kind == RECURRING else None,
            valid_from=_epoch_of(payload.get("validFrom")), valid_to=_epoch_of(payload.get("validTo")),
            min_charging_rate=schedule.get("minChargingRate"), transaction_id=payload.get("transactionId"))

    def expired(self, now: int) -> bool:
        """Never in force again: past validTo, or an Absolute schedule whose duration ran out."""
        if self.valid_to is not None and self.valid_to <= now:
            return True
        return (self.kind == ABSOLUTE and self.duration is not None and self.start_schedule is not None
                and self.start_schedule + self.duration <= now)
