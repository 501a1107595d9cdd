"""Cost of recomputing every composite schedule: 128 connectors with 10 stacked profiles each, over 24 h.

Run: .venv/bin/python bench/composite_schedule.py. One recompute is what the charge point does on each profile
change and every PublishChargingScheduleIntervalS: each connector's composite (its own ten TxDefaultProfiles of
stack levels 0..9, an Absolute day of quarter hours under nine Daily and Weekly windows, plus connector 0's
TxDefaultProfile and ChargePointMaxProfile) and the site's sum. Printed beside two baselines measured in the
same run: the second-by-second reference (tests/core/composite_reference.py) for one connector, and a
connector with a single one-period profile. Goal: a recompute under 100 ms.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from module.core.profiles.smart_charging.charging_profile import ChargingProfile, epoch  # noqa: E402
from module.core.profiles.smart_charging.composite import (  # noqa: E402
    CompositeSettings,
    connector_schedule,
    site_schedule,
)
from tests.core.charging_profiles import charging_profile  # noqa: E402
from tests.core.composite_reference import brute_force  # noqa: E402

CONNECTORS = 128
STACKED = 10
DAY_S = 24 * 3600
ROUNDS = 20
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
SETTINGS = CompositeSettings()


def connector_profiles(connector_id: int) -> list[ChargingProfile]:
    """Ten TxDefaultProfiles on one connector: a day of quarter hours at stack level 0, then shorter windows."""
    day = charging_profile(connector_id * 100, periods=[(q * 900, 16 + (q + connector_id) % 16) for q in range(96)],
                           start=T0)
    profiles = [day]
    for level in range(1, STACKED):
        first_hour = (level * 5 + connector_id) % 22
        periods = [(step * 600, 6 + (level + step) % 10) for step in range(12)]
        profiles.append(charging_profile(
            connector_id * 100 + level, periods=periods, stack_level=level, kind="Recurring",
            recurrency="Daily" if level % 3 else "Weekly", start=T0 + timedelta(hours=first_hour) - timedelta(days=7),
            duration=2 * 3600))
    return [ChargingProfile.from_ocpp(connector_id, payload) for payload in profiles]


SHARED = [ChargingProfile.from_ocpp(0, charging_profile(1, periods=[(0, 32)], start=T0)),
          ChargingProfile.from_ocpp(0, charging_profile(2, "ChargePointMaxProfile",
                                                        [(h * 3600, 40 + h) for h in range(24)], start=T0))]


def recompute(stacks: dict[int, list[ChargingProfile]], now: int) -> int:
    schedules = [connector_schedule(SHARED + own, connector_id, now, DAY_S, "A", SETTINGS)
                 for connector_id, own in stacks.items()]
    site = site_schedule(schedules, SHARED, now, DAY_S, "A", SETTINGS)
    return len(site.periods) + sum(len(schedule.periods) for schedule in schedules)


def timed(work: Callable[[], object], rounds: int) -> float:
    """Median seconds of one call of `work()`."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    now = epoch(T0 + timedelta(hours=7, minutes=3))
    stacks = {connector_id: connector_profiles(connector_id) for connector_id in range(1, CONNECTORS + 1)}
    periods = recompute(stacks, now)
    one = SHARED + stacks[1]
    fast = connector_schedule(one, 1, now, DAY_S, "A", SETTINGS)
    assert [(p.start_period, p.limit, p.number_phases) for p in fast.periods] == brute_force(
        one, now, DAY_S, "A", SETTINGS), "the composite disagrees with the reference"

    full = timed(lambda: recompute(stacks, now), ROUNDS)
    single_connector = timed(lambda: connector_schedule(one, 1, now, DAY_S, "A", SETTINGS), ROUNDS * 10)
    reference = timed(lambda: brute_force(one, now, DAY_S, "A", SETTINGS), 1)
    trivial = [SHARED[0]]
    single_profile = timed(lambda: connector_schedule(trivial, 1, now, DAY_S, "A", SETTINGS), ROUNDS * 50)
    print(f"{CONNECTORS} connectors x {STACKED} stacked profiles (+2 on connector 0), 24 h window, "
          f"{periods} periods in the result:")
    print(f"  recompute, every connector and the site: {full * 1e3:9.2f} ms   (goal < 100 ms)")
    print(f"  one connector of it:                     {single_connector * 1e3:9.3f} ms")
    print(f"  baseline, second-by-second reference, one connector: {reference * 1e3:9.0f} ms "
          f"({reference / single_connector:.0f}x the composite)")
    print(f"  baseline, one connector with a single one-period profile: {single_profile * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
