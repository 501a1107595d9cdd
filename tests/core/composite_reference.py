"""An independent, slow statement of the composite schedule rules: every second evaluated on its own.

The module's composite works with stretches and periods; this one asks, second by second, which profile of
each purpose is in force and what it allows. Tests compare the two; bench/composite_schedule.py times this one
as the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from module.core.profiles.smart_charging.charging_profile import (
    CHARGE_POINT_MAX,
    RECURRING,
    RELATIVE,
    TX,
    ChargingProfile,
)
from module.core.profiles.smart_charging.composite import CompositeSettings

Value = tuple[float, int]
"""A limit in the requested unit and its number of phases."""


def in_unit(limit: float, unit: str, wanted: str, phases: int, voltage: float) -> float:
    if unit == wanted:
        value = limit
    elif wanted == "W":
        value = limit * voltage * phases
    else:
        value = limit / (voltage * phases) if voltage > 0 else 0.0
    return math.floor(round(value * 10, 6)) / 10


def value_at(profile: ChargingProfile, second: int, window_start: int, transaction_start: int | None, unit: str,
             settings: CompositeSettings) -> Value | None:
    """What the profile allows at `second`, or None when it is not in force then."""
    if profile.valid_from is not None and second < profile.valid_from:
        return None
    if profile.valid_to is not None and second >= profile.valid_to:
        return None
    if profile.kind == RELATIVE:
        origin = window_start if transaction_start is None else transaction_start
    elif profile.start_schedule is None or second < profile.start_schedule:
        return None
    elif profile.kind == RECURRING:
        assert profile.recurrence_s is not None
        runs = (second - profile.start_schedule) // profile.recurrence_s
        origin = profile.start_schedule + runs * profile.recurrence_s
    else:
        origin = profile.start_schedule
    offset = second - origin
    if profile.duration is not None and offset >= profile.duration:
        return None
    current = None
    for period in profile.periods:
        if period.start <= offset:
            current = period
    if current is None:
        return None
    phases = current.number_phases or settings.default_phases
    return in_unit(current.limit, profile.unit, unit, phases, settings.supply_voltage), phases


def winner(profiles: Sequence[ChargingProfile], second: int, window_start: int, transaction_start: int | None,
           unit: str, settings: CompositeSettings, max_profiles: bool) -> Value | None:
    """The in-force value of the best profile: ChargePointMax ones by stackLevel, or the others with a TxProfile
    before a TxDefaultProfile, then by stackLevel, then a connector's own before connector 0's."""
    best: tuple[tuple[int, int, int], Value] | None = None
    for profile in profiles:
        if (profile.purpose == CHARGE_POINT_MAX) != max_profiles:
            continue
        value = value_at(profile, second, window_start, transaction_start, unit, settings)
        if value is None:
            continue
        rank = (int(profile.purpose == TX), profile.stack_level, int(profile.connector_id != 0))
        if best is None or rank > best[0]:
            best = rank, value
    return None if best is None else best[1]


def limit_at(profiles: Sequence[ChargingProfile], second: int, window_start: int, transaction_start: int | None,
             unit: str, settings: CompositeSettings) -> Value:
    charging = winner(profiles, second, window_start, transaction_start, unit, settings, max_profiles=False)
    maximum = winner(profiles, second, window_start, transaction_start, unit, settings, max_profiles=True)
    if charging is not None and maximum is not None:
        return min(charging[0], maximum[0]), min(charging[1], maximum[1])
    only = charging if charging is not None else maximum
    if only is not None:
        return only
    default = settings.default_amps if unit == "A" else settings.default_watts
    return math.floor(round(default * 10, 6)) / 10, settings.default_phases


def brute_force(profiles: Sequence[ChargingProfile], start: int, duration: int, unit: str,
                settings: CompositeSettings, transaction_start: int | None = None) -> list[tuple[int, float, int]]:
    """(startPeriod, limit, numberPhases) of each change over [start, start + duration), second by second."""
    periods: list[tuple[int, float, int]] = []
    for second in range(start, start + max(duration, 1)):
        limit, phases = limit_at(profiles, second, start, transaction_start, unit, settings)
        if not periods or periods[-1][1:] != (limit, phases):
            periods.append((second - start, limit, phases))
    return periods
