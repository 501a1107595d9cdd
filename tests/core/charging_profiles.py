"""Charging profiles for the smart charging tests, written the way a CSMS sends them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from module.core.profiles.smart_charging.charging_profile import ChargingProfile
from module.core.timestamps import utc_text

PeriodSpec = tuple[int, float] | tuple[int, float, int]
"""(startPeriod, limit) or (startPeriod, limit, numberPhases)."""


def charging_profile(profile_id: int, purpose: str = "TxDefaultProfile", periods: Sequence[PeriodSpec] = ((0, 16),),
                     *, stack_level: int = 0, kind: str = "Absolute", unit: str = "A",
                     start: datetime | None = None, duration: int | None = None, recurrency: str | None = None,
                     valid_from: datetime | None = None, valid_to: datetime | None = None,
                     min_rate: float | None = None, transaction_id: int | None = None) -> dict[str, Any]:
    """csChargingProfiles; only the fields given are set."""
    schedule: dict[str, Any] = {"chargingRateUnit": unit, "chargingSchedulePeriod": [
        {"startPeriod": spec[0], "limit": spec[1], **({"numberPhases": spec[2]} if len(spec) == 3 else {})}
        for spec in periods]}
    if start is not None:
        schedule["startSchedule"] = utc_text(start)
    if duration is not None:
        schedule["duration"] = duration
    if min_rate is not None:
        schedule["minChargingRate"] = min_rate
    payload: dict[str, Any] = {"chargingProfileId": profile_id, "stackLevel": stack_level,
                               "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
                               "chargingSchedule": schedule}
    optional = {"recurrencyKind": recurrency, "transactionId": transaction_id,
                "validFrom": valid_from and utc_text(valid_from), "validTo": valid_to and utc_text(valid_to)}
    payload.update({key: value for key, value in optional.items() if value is not None})
    return payload


def parsed(connector_id: int, *payloads: dict[str, Any]) -> list[ChargingProfile]:
    return [ChargingProfile.from_ocpp(connector_id, payload) for payload in payloads]
