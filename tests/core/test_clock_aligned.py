import asyncio
from datetime import UTC, datetime

from module.core.clock_aligned import run_clock_aligned, seconds_to_next_boundary


def test_boundaries_count_from_midnight_utc():
    assert seconds_to_next_boundary(datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC), 900) == 450
    assert seconds_to_next_boundary(datetime(2026, 1, 1, 10, 15, 0, tzinfo=UTC), 900) == 900
    assert seconds_to_next_boundary(datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC), 3600) == 1


async def test_samples_fire_at_boundaries_and_interval_change_applies_at_once():
    fired = asyncio.Event()
    changed = asyncio.Event()
    interval = {"value": 0}

    async def boundary():
        fired.set()

    task = asyncio.create_task(run_clock_aligned(lambda: interval["value"], boundary, changed=changed))
    await asyncio.sleep(0)
    assert not fired.is_set()
    interval["value"] = 1
    changed.set()
    await asyncio.wait_for(fired.wait(), 3)
    task.cancel()
