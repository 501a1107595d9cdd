"""The composite schedule function on its own: the typical scenarios of EVerest's and libocpp's smart charging
tests, restated with our own data, and libocpp's bugs #609 and #1169 as regression cases (#811 is about
re-applying and lives in test_cp_smart_charging.py). Each case is also checked against the second-by-second
reference, so a golden value cannot be wrong the same way the function is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from module.core.ports import CompositeSchedule
from module.core.profiles.smart_charging.charging_profile import ChargingProfile, epoch
from module.core.profiles.smart_charging.composite import CompositeSettings, connector_schedule, site_schedule
from tests.core.charging_profiles import charging_profile, parsed
from tests.core.composite_reference import brute_force

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday, 08:00
NOW = epoch(T0)
HOUR = 3600
DAY = 24 * HOUR
SETTINGS = CompositeSettings()


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def limits(schedule: CompositeSchedule) -> list[tuple[int, float]]:
    return [(period.start_period, period.limit) for period in schedule.periods]


def composite(profiles: list[ChargingProfile], duration: int, unit: str = "A", transaction_start: int | None = None,
              connector_id: int = 1) -> CompositeSchedule:
    schedule = connector_schedule(profiles, connector_id, NOW, duration, unit, SETTINGS, transaction_start)
    reference = brute_force(profiles, NOW, duration, unit, SETTINGS, transaction_start)
    assert [(p.start_period, p.limit, p.number_phases) for p in schedule.periods] == reference
    return schedule


TX_DEFAULT = "TxDefaultProfile"
MAX = "ChargePointMaxProfile"
TX = "TxProfile"

CASES: dict[str, tuple[list[dict[str, Any]], int, int | None, list[tuple[int, float]]]] = {
    # name: (profiles on connector 1 unless said, window duration, transaction start, expected periods)
    "absolute_started_before_the_window": (
        [charging_profile(1, periods=[(0, 32), (HOUR, 16)], start=at(-1800))], 2 * HOUR, None,
        [(0, 32), (1800, 16)]),
    "absolute_duration_ends_then_default": (
        [charging_profile(1, periods=[(0, 10)], start=T0, duration=1800)], HOUR, None, [(0, 10), (1800, 48)]),
    "absolute_over_before_the_window": (
        [charging_profile(1, periods=[(0, 10)], start=at(-2 * HOUR), duration=HOUR)], HOUR, None, [(0, 48)]),
    "libocpp_609_periods_starting_after_the_window_start_count": (
        [charging_profile(1, periods=[(0, 20), (600, 8)], start=at(900))], HOUR, None,
        [(0, 48), (900, 20), (1500, 8)]),
    "relative_counts_from_the_transaction_start": (
        [charging_profile(1, periods=[(0, 6), (1200, 16)], kind="Relative")], HOUR, NOW - 600,
        [(0, 6), (600, 16)]),
    "relative_without_transaction_counts_from_now": (
        [charging_profile(1, periods=[(0, 6), (1200, 16)], kind="Relative")], HOUR, None, [(0, 6), (1200, 16)]),
    "relative_with_duration": (
        [charging_profile(1, periods=[(0, 11)], kind="Relative", duration=900)], HOUR, NOW - 300,
        [(0, 11), (600, 48)]),
    "recurring_daily_from_yesterday": (
        [charging_profile(1, periods=[(0, 8), (4 * HOUR, 32)], kind="Recurring", recurrency="Daily",
                          start=at(2 * HOUR - DAY))], DAY, None,
        [(0, 32), (2 * HOUR, 8), (6 * HOUR, 32)]),
    "recurring_weekly_with_duration": (
        [charging_profile(1, periods=[(0, 10)], kind="Recurring", recurrency="Weekly", start=at(10 * HOUR - 7 * DAY),
                          duration=4 * HOUR)], DAY, None,
        [(0, 48), (10 * HOUR, 10), (14 * HOUR, 48)]),
    "recurring_until_valid_to": (
        [charging_profile(1, periods=[(0, 16)], kind="Recurring", recurrency="Daily", start=at(-DAY), duration=HOUR,
                          valid_to=at(12 * HOUR))], 2 * DAY, None, [(0, 16), (HOUR, 48)]),
    "valid_from_later_lets_the_lower_stack_level_rule_until_then": (
        [charging_profile(1, periods=[(0, 32)], start=at(-HOUR)),
         charging_profile(2, periods=[(0, 8)], start=at(-HOUR), stack_level=2, valid_from=at(1800))], HOUR, None,
        [(0, 32), (1800, 8)]),
    "stacking_higher_level_for_its_duration": (
        [charging_profile(1, periods=[(0, 32)], start=at(-HOUR)),
         charging_profile(2, periods=[(0, 6)], start=at(600), duration=1200, stack_level=1)], HOUR, None,
        [(0, 32), (600, 6), (1800, 32)]),
    "stacking_higher_level_period_starting_late_leaves_the_lower_level_before": (
        [charging_profile(1, periods=[(0, 32)], start=at(-HOUR)),
         charging_profile(2, periods=[(900, 12)], start=T0, stack_level=3)], HOUR, None, [(0, 32), (900, 12)]),
    "charge_point_max_caps_tx_default": (
        [charging_profile(1, MAX, periods=[(0, 20)], start=at(-HOUR)),
         charging_profile(2, periods=[(0, 32), (1800, 10)], start=T0)], HOUR, None, [(0, 20), (1800, 10)]),
    "charge_point_max_alone_is_the_limit": (
        [charging_profile(1, MAX, periods=[(0, 63)], start=at(-HOUR))], HOUR, None, [(0, 63)]),
    "tx_profile_over_a_higher_tx_default": (
        [charging_profile(1, periods=[(0, 32)], start=at(-HOUR), stack_level=5),
         charging_profile(2, TX, periods=[(0, 12)], start=T0, duration=600)], HOUR, None, [(0, 12), (600, 32)]),
    "no_profile_gives_the_default": ([], HOUR, None, [(0, 48)]),
}


@pytest.mark.parametrize("name", CASES)
def test_golden_composite(name: str) -> None:
    payloads, duration, transaction_start, expected = CASES[name]
    schedule = composite(parsed(1, *payloads), duration, transaction_start=transaction_start)
    assert limits(schedule) == expected
    assert schedule.duration == duration and schedule.start == T0 and schedule.unit == "A"


def test_libocpp_1169_duration_0_gives_the_limit_in_force_not_the_default() -> None:
    schedule = composite(parsed(1, charging_profile(1, periods=[(0, 12)], start=at(-HOUR))), 0)
    assert limits(schedule) == [(0, 12)] and schedule.duration == 0


def test_a_connectors_own_tx_default_wins_over_connector_0s_at_the_same_stack_level() -> None:
    shared = parsed(0, charging_profile(1, periods=[(0, 20)], start=at(-HOUR), stack_level=1))
    own = parsed(1, charging_profile(2, periods=[(0, 10)], start=at(-HOUR), stack_level=1))
    assert limits(composite(shared + own, HOUR)) == [(0, 10)]
    assert limits(composite(shared, HOUR, connector_id=2)) == [(0, 20)]
    higher_shared = parsed(0, charging_profile(3, periods=[(0, 25)], start=at(-HOUR), stack_level=2))
    assert limits(composite(higher_shared + own, HOUR)) == [(0, 25)]


def test_amperes_and_watts_convert_with_supply_voltage_and_phases() -> None:
    profiles = parsed(1, charging_profile(1, periods=[(0, 16, 1), (600, 16)], start=T0))
    watts = composite(profiles, HOUR, unit="W")
    assert [(p.start_period, p.limit, p.number_phases) for p in watts.periods] == [(0, 3680, 1), (600, 11040, 3)]
    capped = parsed(1, charging_profile(1, periods=[(0, 32)], start=T0),
                    charging_profile(2, MAX, periods=[(0, 11040)], unit="W", start=T0))
    assert limits(composite(capped, HOUR)) == [(0, 16)]
    assert limits(composite(capped, HOUR, unit="W")) == [(0, 11040)]
    odd = parsed(1, charging_profile(1, periods=[(0, 1000)], unit="W", start=T0))
    assert limits(composite(odd, HOUR)) == [(0, 1.4)]  # 1000 W / 690 V = 1.449 A, rounded down


def test_gaps_take_the_default_of_the_unit_asked_for() -> None:
    settings = CompositeSettings(default_amps=32, default_watts=22000, default_phases=1)
    schedule = connector_schedule([], 1, NOW, HOUR, "W", settings)
    assert [(p.start_period, p.limit, p.number_phases) for p in schedule.periods] == [(0, 22000, 1)]


def test_min_charging_rate_comes_from_the_profile_in_force_at_the_start() -> None:
    profiles = parsed(1, charging_profile(1, periods=[(0, 16)], start=at(-HOUR), min_rate=6))
    assert composite(profiles, HOUR).min_charging_rate == 6
    assert composite(profiles, HOUR, unit="W").min_charging_rate == 6 * 230 * 3
    assert composite([], HOUR).min_charging_rate is None


def test_site_is_the_sum_of_the_connectors_capped_by_charge_point_max() -> None:
    shared = parsed(0, charging_profile(1, periods=[(0, 16), (1800, 20)], start=T0))
    own = parsed(2, charging_profile(2, periods=[(0, 10)], start=T0, stack_level=1))
    maximum = parsed(0, charging_profile(3, MAX, periods=[(0, 50), (HOUR, 30)], start=T0))
    connectors = [connector_schedule(shared + maximum, 1, NOW, 2 * HOUR, "A", SETTINGS),
                  connector_schedule(shared + own + maximum, 2, NOW, 2 * HOUR, "A", SETTINGS)]
    site = site_schedule(connectors, maximum, NOW, 2 * HOUR, "A", SETTINGS)
    assert site.connector_id == 0
    assert limits(site) == [(0, 26), (1800, 30)]  # 16 + 10, then 20 + 10 capped at 50, then 30 from 3600 on
    assert limits(site_schedule(connectors, [], NOW, 2 * HOUR, "A", SETTINGS)) == [(0, 26), (1800, 30)]
    assert limits(site_schedule([], [], NOW, HOUR, "A", SETTINGS)) == [(0, 48)]


def test_each_period_names_the_stack_level_and_phases_of_the_profile_behind_it() -> None:
    """What the charging_schedules var reports per period: the winning profile's stackLevel and the numberPhases
    its period names; (0, None) where only the default limit applies."""
    station_wide = parsed(0, charging_profile(1, periods=[(0, 20)], stack_level=1, start=T0, duration=1200))
    own = parsed(1, charging_profile(2, periods=[(0, 10, 1)], stack_level=2, start=T0, duration=600))
    schedule = composite([*station_wide, *own], 1800)
    assert limits(schedule) == [(0, 10), (600, 20), (1200, 48)]
    assert schedule.sources == ((2, 1), (1, None), (0, None))
