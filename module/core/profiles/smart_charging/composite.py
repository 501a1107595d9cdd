"""Composite schedules: what a connector (or the whole site) may draw over a window, as a pure function of the
installed charging profiles. No I/O and no clock: the caller says when the window starts.

The rules (OCPP 1.6 section 3.13 as libocpp reads it; the tie between connector 0 and a connector at the same
stackLevel, which the specification leaves open, is settled here for the connector):
- a profile is in force from its schedule's first period until its duration ends, and only within
  validFrom / validTo. Absolute schedules start at startSchedule, Relative ones when the transaction started
  (at the window's start without one), Recurring ones at the latest daily or weekly repetition of
  startSchedule, each repetition ending where the next begins. A period lasts until the next one starts.
- At each instant the profile in force with the highest stackLevel wins within its purpose; a TxProfile wins
  over every TxDefaultProfile; at the same stackLevel a connector's own TxDefaultProfile wins over connector 0's.
- That limit is capped by the ChargePointMaxProfile in force. Where no profile is in force the
  CompositeScheduleDefault* keys fill the gap.
- Limits convert between A and W with SupplyVoltage and the period's numberPhases (the default phases when it
  has none), rounded down to 0.1, so a converted limit never exceeds the profile's.
- Connector 0, the site, is the sum of every connector's schedule, capped by the ChargePointMaxProfile.

Times are whole epoch seconds. Stacked profiles cost only where they win: the work follows the periods that end
up in the result, not the seconds of the window (bench/composite_schedule.py).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from module.core.ports import CompositeSchedule, SchedulePeriod
from module.core.profiles.smart_charging.charging_profile import CHARGE_POINT_MAX, RELATIVE, TX, ChargingProfile

Segment = tuple[int, int, float, int, float | None]
"""[begin, end) with its limit and number of phases, and the minChargingRate of the profile behind it; the
limit and rate in the requested unit."""
Stretch = tuple[int, int, ChargingProfile, int]
"""[begin, end) won by a profile, and the origin its periods count from."""


@dataclass(frozen=True)
class CompositeSettings:
    """The keys the composite reads: SupplyVoltage and the CompositeScheduleDefault* gap fillers."""

    supply_voltage: float = 230.0
    default_amps: float = 48.0
    default_watts: float = 33120.0
    default_phases: int = 3

    def default_limit(self, unit: str) -> float:
        return to_tenths(self.default_amps if unit == "A" else self.default_watts)


def to_tenths(value: float) -> float:
    """Rounded down to one decimal (OCPP's precision for limits); the tolerance keeps 2.3, whose float is a hair
    below 2.3, at 2.3."""
    return math.floor(value * 10 + 1e-6) / 10


def convert(limit: float, from_unit: str, to_unit: str, phases: int, voltage: float) -> float:
    """A limit in another unit: W = A x SupplyVoltage x phases. A voltage of 0 makes every converted limit 0."""
    factor = voltage * phases
    if from_unit == to_unit:
        return to_tenths(limit)
    if to_unit == "W":
        return to_tenths(limit * factor)
    return to_tenths(limit / factor) if factor > 0 else 0.0


def connector_schedule(profiles: Sequence[ChargingProfile], connector_id: int, start: int, duration: int,
                       unit: str, settings: CompositeSettings, transaction_start: int | None = None
                       ) -> CompositeSchedule:
    """The composite of one connector over [start, start + duration) from the profiles that apply to it: the
    ChargePointMaxProfiles, connector 0's and its own TxDefaultProfiles, and the TxProfiles of its running
    transaction (which started at `transaction_start`). A duration of 0 asks for the limit in force at `start`."""
    end = start + max(duration, 1)
    charging = sorted((p for p in profiles if p.purpose != CHARGE_POINT_MAX), key=_charging_rank, reverse=True)
    taken = _taken(charging, start, end, transaction_start)
    segments = _capped(_segments(taken, unit, settings), _maximum(profiles, start, end, unit, settings), start, end,
                       unit, settings)
    schedule = _schedule(connector_id, start, duration, unit, segments)
    begins = [stretch[0] for stretch in taken]
    return replace(schedule, sources=tuple(_source(taken, begins, start + period.start_period)
                                           for period in schedule.periods))


def _source(taken: list[Stretch], begins: list[int], moment: int) -> tuple[int, int | None]:
    """The stackLevel of the charging profile in force at `moment` and its period's numberPhases; (0, None)
    where none is (the default limit, or only a ChargePointMaxProfile)."""
    index = bisect_right(begins, moment) - 1
    if index < 0 or taken[index][1] <= moment:
        return 0, None
    _begin, _until, profile, origin = taken[index]
    return profile.stack_level, profile.periods[bisect_right(profile.starts, moment - origin) - 1].number_phases


def site_schedule(connectors: Sequence[CompositeSchedule], profiles: Sequence[ChargingProfile], start: int,
                  duration: int, unit: str, settings: CompositeSettings) -> CompositeSchedule:
    """Connector 0: the sum of the connectors' schedules (all over the same window and unit), capped by the
    ChargePointMaxProfiles among `profiles`."""
    end = start + max(duration, 1)
    return _schedule(0, start, duration, unit, _capped(_sum(connectors, start, end),
                                                       _maximum(profiles, start, end, unit, settings),
                                                       start, end, unit, settings))


def _charging_rank(profile: ChargingProfile) -> tuple[bool, int, bool]:
    return profile.purpose == TX, profile.stack_level, profile.connector_id != 0


def _maximum(profiles: Sequence[ChargingProfile], start: int, end: int, unit: str, settings: CompositeSettings
             ) -> list[Segment]:
    maxima = sorted((p for p in profiles if p.purpose == CHARGE_POINT_MAX), key=lambda p: p.stack_level,
                    reverse=True)
    return _curve(maxima, start, end, unit, settings, None)


def _occurrences(profile: ChargingProfile, start: int, end: int, transaction_start: int | None
                 ) -> Iterator[tuple[int, int]]:
    """(origin, bound) of each run of the schedule that may reach into [start, end): where its periods count
    from, and where a Recurring run gives way to the next."""
    if profile.kind == RELATIVE:
        yield (start if transaction_start is None else transaction_start), end
        return
    anchor = profile.start_schedule
    if anchor is None:
        return
    every = profile.recurrence_s
    if every is None:
        yield anchor, end
        return
    origin = anchor + max(0, (start - anchor) // every) * every
    while origin < end:
        yield origin, origin + every
        origin += every


def _in_force(profile: ChargingProfile, start: int, end: int, transaction_start: int | None
              ) -> list[tuple[int, int, int]]:
    """(begin, end, origin) of each stretch of [start, end) in which the profile is in force."""
    low = start if profile.valid_from is None else max(start, profile.valid_from)
    high = end if profile.valid_to is None else min(end, profile.valid_to)
    stretches = []
    for origin, bound in _occurrences(profile, start, end, transaction_start):
        begin = max(low, origin + profile.starts[0])
        until = min(bound, high)
        if profile.duration is not None:
            until = min(until, origin + profile.duration)
        if begin < until:
            stretches.append((begin, until, origin))
    return stretches


def _curve(ranked: Sequence[ChargingProfile], start: int, end: int, unit: str, settings: CompositeSettings,
           transaction_start: int | None) -> list[Segment]:
    return _segments(_taken(ranked, start, end, transaction_start), unit, settings)


def _taken(ranked: Sequence[ChargingProfile], start: int, end: int, transaction_start: int | None
           ) -> list[Stretch]:
    """Each instant of [start, end) taken by the first profile of `ranked` in force then, in time order; what no
    profile covers is left out. Profiles below the winners only fill what is still free."""
    free = [(start, end)]
    taken: list[Stretch] = []
    for profile in ranked:
        if not free:
            break
        for begin, until, origin in _in_force(profile, start, end, transaction_start):
            still = []
            for a, b in free:
                low, high = max(a, begin), min(b, until)
                if low >= high:
                    still.append((a, b))
                    continue
                taken.append((low, high, profile, origin))
                if a < low:
                    still.append((a, low))
                if high < b:
                    still.append((high, b))
            free = still
    taken.sort(key=lambda stretch: stretch[0])
    return taken


def _segments(taken: list[Stretch], unit: str, settings: CompositeSettings) -> list[Segment]:
    segments: list[Segment] = []
    for low, high, profile, origin in taken:
        _periods(segments, profile, origin, low, high, unit, settings)
    return segments


def _periods(out: list[Segment], profile: ChargingProfile, origin: int, begin: int, end: int, unit: str,
             settings: CompositeSettings) -> None:
    """The profile's periods within [begin, end), converted to `unit`."""
    starts = profile.starts
    index = bisect_right(starts, begin - origin) - 1
    voltage = settings.supply_voltage
    rate = profile.min_charging_rate
    while begin < end:
        period = profile.periods[index]
        index += 1
        until = min(end, origin + starts[index]) if index < len(starts) else end
        phases = period.number_phases or settings.default_phases
        out.append((begin, until, convert(period.limit, profile.unit, unit, phases, voltage), phases,
                    None if rate is None else convert(rate, profile.unit, unit, phases, voltage)))
        begin = until


def _capped(charging: list[Segment], cap: list[Segment], start: int, end: int, unit: str,
            settings: CompositeSettings) -> list[Segment]:
    """The lower of the two curves at each instant (the fewer phases too); where neither has a value, the
    default limit. Equal neighbours are merged."""
    out: list[Segment] = []
    default = settings.default_limit(unit)
    i = j = 0
    moment = start
    while moment < end:
        while i < len(charging) and charging[i][1] <= moment:
            i += 1
        while j < len(cap) and cap[j][1] <= moment:
            j += 1
        until = end
        current = capping = None
        if i < len(charging):
            if charging[i][0] <= moment:
                current, until = charging[i], min(until, charging[i][1])
            else:
                until = min(until, charging[i][0])
        if j < len(cap):
            if cap[j][0] <= moment:
                capping, until = cap[j], min(until, cap[j][1])
            else:
                until = min(until, cap[j][0])
        if current is not None and capping is not None:
            _append(out, moment, until, min(current[2], capping[2]), min(current[3], capping[3]), current[4])
        elif current is not None:
            _append(out, moment, until, current[2], current[3], current[4])
        elif capping is not None:
            _append(out, moment, until, capping[2], capping[3], None)
        else:
            _append(out, moment, until, default, settings.default_phases, None)
        moment = until
    return out


def _append(out: list[Segment], begin: int, end: int, limit: float, phases: int, rate: float | None) -> None:
    if out and out[-1][1] == begin and out[-1][2] == limit and out[-1][3] == phases:
        previous = out[-1]
        out[-1] = (previous[0], end, limit, phases, previous[4])
    else:
        out.append((begin, end, limit, phases, rate))


def _sum(connectors: Sequence[CompositeSchedule], start: int, end: int) -> list[Segment]:
    """The connectors' limits added up at each instant, with the most phases any of them uses."""
    changes = sorted((start + period.start_period, index, period.limit, period.number_phases)
                     for index, schedule in enumerate(connectors) for period in schedule.periods)
    limits = [0.0] * len(connectors)
    phases = [0] * len(connectors)
    using = [0, 0, 0, 0]  # how many connectors use 0..3 phases
    using[0] = len(connectors)
    total = 0.0
    out: list[Segment] = []
    k = 0
    while k < len(changes):
        moment = changes[k][0]
        while k < len(changes) and changes[k][0] == moment:
            _, index, limit, number = changes[k]
            total += limit - limits[index]
            using[phases[index]] -= 1
            using[number] += 1
            limits[index], phases[index] = limit, number
            k += 1
        until = changes[k][0] if k < len(changes) else end
        most = max(n for n in range(4) if using[n] or n == 0)
        out.append((moment, until, round(total, 1), most, None))
    return out


def _schedule(connector_id: int, start: int, duration: int, unit: str, segments: list[Segment]
              ) -> CompositeSchedule:
    periods = tuple(SchedulePeriod(begin - start, limit, phases) for begin, _end, limit, phases, _rate in segments)
    return CompositeSchedule(connector_id, datetime.fromtimestamp(start, UTC), duration, unit, periods,
                             segments[0][4] if segments else None)
