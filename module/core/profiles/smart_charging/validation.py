"""Whether a charging profile may be installed: every field against the SmartCharging keys and OCPP's rules.

The JSON schema already checked types and enums; what is left are the limits a charge point sets and the rules
between fields. A transaction a TxProfile needs is the service's to check (it knows the running ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from module.config.charge_point_config import ChargePointConfig
from module.core.profiles.smart_charging.charging_profile import (
    ABSOLUTE,
    CHARGE_POINT_MAX,
    RECURRING,
    RELATIVE,
    TX,
)
from module.core.timestamps import parse_time

UNITS = {"Current": "A", "Power": "W"}
"""ChargingScheduleAllowedChargingRateUnit's words for the schedule units."""


@dataclass(frozen=True)
class ProfileRules:
    max_stack_level: int
    units: tuple[str, ...]
    """Allowed schedule units, "A" / "W", in the key's order (the first is GetCompositeSchedule's default)."""
    max_periods: int
    max_installed: int
    purposes: frozenset[str]
    without_start_schedule: bool
    """AllowChargingProfileWithoutStartSchedule: an Absolute or Recurring profile without one starts now."""

    @classmethod
    def from_config(cls, cfg: ChargePointConfig) -> ProfileRules:
        return cls(max_stack_level=cfg.get("ChargeProfileMaxStackLevel"),
                   units=tuple(UNITS[word] for word in cfg.get("ChargingScheduleAllowedChargingRateUnit")),
                   max_periods=cfg.get("ChargingScheduleMaxPeriods"),
                   max_installed=cfg.get("MaxChargingProfilesInstalled"),
                   purposes=frozenset(cfg.get("SupportedChargingProfilePurposeTypes")),
                   without_start_schedule=bool(cfg.get("AllowChargingProfileWithoutStartSchedule")))

    def problem(self, connector_id: int, connectors: list[int], profile: dict[str, Any]) -> str | None:
        """Why `profile` (csChargingProfiles) cannot go on `connector_id`, or None when it can."""
        purpose = profile["chargingProfilePurpose"]
        kind = profile["chargingProfileKind"]
        schedule = profile["chargingSchedule"]
        periods = schedule["chargingSchedulePeriod"]
        checks = (
            (connector_id != 0 and connector_id not in connectors, f"no connector {connector_id}"),
            (purpose not in self.purposes, f"purpose {purpose} not supported"),
            (purpose == CHARGE_POINT_MAX and connector_id != 0, "a ChargePointMaxProfile belongs on connector 0"),
            (purpose == CHARGE_POINT_MAX and kind == RELATIVE, "a ChargePointMaxProfile cannot be Relative"),
            (purpose == TX and connector_id == 0, "a TxProfile belongs on a connector, not on 0"),
            (not 0 <= profile["stackLevel"] <= self.max_stack_level,
             f"stackLevel outside 0..{self.max_stack_level}"),
            (schedule["chargingRateUnit"] not in self.units, f"unit {schedule['chargingRateUnit']} not allowed"),
            (not 1 <= len(periods) <= self.max_periods, f"not 1..{self.max_periods} periods"),
            (any(later["startPeriod"] <= earlier["startPeriod"] for earlier, later in pairwise(periods)),
             "startPeriods do not increase"),
            (any(period["startPeriod"] < 0 or period["limit"] < 0 for period in periods),
             "a negative startPeriod or limit"),
            (any(not 1 <= period.get("numberPhases", 3) <= 3 for period in periods), "numberPhases outside 1..3"),
            (schedule.get("duration", 0) < 0 or schedule.get("minChargingRate", 0) < 0,
             "a negative duration or minChargingRate"),
            (kind == RECURRING and "recurrencyKind" not in profile, "a Recurring profile needs a recurrencyKind"),
            (kind in (ABSOLUTE, RECURRING) and "startSchedule" not in schedule and not self.without_start_schedule,
             f"an {kind} profile needs a startSchedule"),
            (any(field in profile and parse_time(profile[field]) is None for field in ("validFrom", "validTo"))
             or ("startSchedule" in schedule and parse_time(schedule["startSchedule"]) is None),
             "a date that is no dateTime"),
        )
        return next((reason for failed, reason in checks if failed), None)
