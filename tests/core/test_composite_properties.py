"""Properties of the composite schedule over random profile stacks (hypothesis): it equals the second-by-second
reference, never exceeds the profile in force of any purpose, and is piecewise constant with increasing starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from module.core.profiles.smart_charging.charging_profile import ChargingProfile, epoch
from module.core.profiles.smart_charging.composite import CompositeSettings, connector_schedule
from tests.core.charging_profiles import charging_profile
from tests.core.composite_reference import brute_force, winner

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NOW = epoch(T0)
DAY = 24 * 3600
SETTINGS = CompositeSettings()
PLACES = [(0, "ChargePointMaxProfile"), (0, "TxDefaultProfile"), (1, "TxDefaultProfile"), (1, "TxProfile")]


@st.composite
def profiles(draw: st.DrawFn) -> list[ChargingProfile]:
    """Up to eight profiles, at most one per (connector, purpose, stackLevel) as installing them guarantees."""
    slots = draw(st.lists(st.tuples(st.sampled_from(PLACES), st.integers(0, 3)), max_size=8, unique=True))
    made = []
    for number, ((connector_id, purpose), stack_level) in enumerate(slots, start=1):
        kinds = ["Absolute", "Recurring"] + ([] if purpose == "ChargePointMaxProfile" else ["Relative"])
        kind = draw(st.sampled_from(kinds))
        unit = draw(st.sampled_from(["A", "W"]))
        first = draw(st.sampled_from([0, 0, 300]))
        starts = [first, *sorted(draw(st.sets(st.integers(first + 1, 5400), max_size=3)))]
        top = 640 if unit == "A" else 440000  # tenths
        periods: list[Any] = [(start, draw(st.integers(0, top)) / 10, draw(st.sampled_from([1, 2, 3, None])))
                              for start in starts]
        periods = [(s, limit) if phases is None else (s, limit, phases) for s, limit, phases in periods]
        recurrency = draw(st.sampled_from(["Daily", "Weekly"])) if kind == "Recurring" else None
        shift = draw(st.integers(-2 * 3600, 2 * 3600)) - (draw(st.integers(0, 2)) * DAY if recurrency else 0)
        payload = charging_profile(
            number, purpose, periods, stack_level=stack_level, kind=kind, unit=unit,
            start=None if kind == "Relative" else T0 + timedelta(seconds=shift),
            duration=draw(st.none() | st.integers(1, 3 * 3600)), recurrency=recurrency,
            valid_from=draw(st.none() | st.integers(-3600, 3600).map(lambda s: T0 + timedelta(seconds=s))),
            valid_to=draw(st.none() | st.integers(-600, 7200).map(lambda s: T0 + timedelta(seconds=s))))
        made.append(ChargingProfile.from_ocpp(connector_id, payload))
    return made


WINDOWS = st.tuples(st.integers(0, 3600), st.sampled_from(["A", "W"]), st.none() | st.integers(NOW - 7200, NOW))


@settings(max_examples=100, deadline=None)
@given(profiles(), WINDOWS)
def test_composite_equals_the_second_by_second_reference(stack: list[ChargingProfile],
                                                         window: tuple[int, str, int | None]) -> None:
    duration, unit, transaction_start = window
    schedule = connector_schedule(stack, 1, NOW, duration, unit, SETTINGS, transaction_start)
    assert [(p.start_period, p.limit, p.number_phases) for p in schedule.periods] == brute_force(
        stack, NOW, duration, unit, SETTINGS, transaction_start)


@settings(max_examples=100, deadline=None)
@given(profiles(), WINDOWS)
def test_composite_never_exceeds_the_profile_in_force_of_any_purpose(stack: list[ChargingProfile],
                                                                      window: tuple[int, str, int | None]) -> None:
    duration, unit, transaction_start = window
    schedule = connector_schedule(stack, 1, NOW, duration, unit, SETTINGS, transaction_start)
    starts = [period.start_period for period in schedule.periods]
    for second in range(NOW, NOW + max(duration, 1), 7):
        limit = schedule.periods[sum(1 for start in starts if start <= second - NOW) - 1].limit
        for max_profiles in (False, True):  # ChargePointMax, then TxProfile or else TxDefaultProfile
            in_force = winner(stack, second, NOW, transaction_start, unit, SETTINGS, max_profiles)
            assert in_force is None or limit <= in_force[0]


@settings(max_examples=100, deadline=None)
@given(profiles(), WINDOWS)
def test_composite_is_piecewise_constant_with_increasing_starts(stack: list[ChargingProfile],
                                                                window: tuple[int, str, int | None]) -> None:
    duration, unit, transaction_start = window
    schedule = connector_schedule(stack, 1, NOW, duration, unit, SETTINGS, transaction_start)
    starts = [period.start_period for period in schedule.periods]
    assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < max(duration, 1)
    for before, after in zip(schedule.periods, schedule.periods[1:], strict=False):
        assert (before.limit, before.number_phases) != (after.limit, after.number_phases)
    assert all(period.limit >= 0 and period.limit * 10 == round(period.limit * 10) for period in schedule.periods)
