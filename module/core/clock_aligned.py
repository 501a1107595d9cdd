"""Clock-aligned meter values: every ClockAlignedDataInterval seconds, counted from midnight UTC."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from module.clock import Clock, monotonic_clock, wait_for

log = logging.getLogger(__name__)


def seconds_to_next_boundary(now: datetime, interval: int) -> float:
    """Seconds from `now` until the next multiple of `interval` after midnight UTC (the boundary itself excluded)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    boundary = math.floor(elapsed / interval + 1e-9) * interval + interval
    return boundary - elapsed


async def run_clock_aligned(interval: Callable[[], int], on_boundary: Callable[[], Awaitable[None]],
                            now: Callable[[], datetime] = lambda: datetime.now(UTC),
                            changed: asyncio.Event | None = None, clock: Clock = monotonic_clock) -> None:
    """Call `on_boundary` at each aligned instant; an interval of 0 switches the samples off.

    `changed` is set by the configuration hook so a new interval takes effect at once rather than after the
    current wait. The boundaries follow the wall clock `now`; the wait runs on `clock`.
    """
    changed = changed or asyncio.Event()
    while True:
        seconds = interval()
        wait = seconds_to_next_boundary(now(), seconds) if seconds > 0 else None
        changed.clear()
        try:
            await wait_for(clock, changed.wait(), wait)
            continue
        except TimeoutError:
            pass
        try:
            await on_boundary()
        except Exception:
            log.exception("clock-aligned meter values failed")
