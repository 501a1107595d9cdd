"""Sample.Periodic timing for every running transaction on one timer.

Each transaction keeps its own phase (samples at its start + k x MeterValueSampleInterval), but samples falling
due within COALESCE_S of each other are taken in one pass, so a site whose transactions started together stores
their MeterValues in one disk write and wakes once per interval instead of once per transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from module.clock import Clock, wait_for

log = logging.getLogger(__name__)

COALESCE_S = 0.1
"""How early a sample may be taken to join one due at the same moment (at most a tenth of the interval)."""
PAUSED_CHECK_S = 1.0
"""With MeterValueSampleInterval 0 (no periodic samples), how often the interval is looked at again."""

TakeSamples = Callable[[list[str]], Awaitable[None]]


class PeriodicSampler:
    """One task for all transactions: `add` when a transaction starts, `remove` when it stops."""

    def __init__(self, clock: Clock, interval: Callable[[], int], take: TakeSamples) -> None:
        self._clock = clock
        self._interval = interval
        self._take = take
        self._due: dict[str, float] = {}
        """Session -> when (clock.monotonic) its next sample is due."""
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._paused = False

    def add(self, session_id: str) -> None:
        self._due[session_id] = self._clock.monotonic() + max(self._interval(), 0)
        self._changed.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="periodic-meter-values")

    def remove(self, session_id: str) -> None:
        self._due.pop(session_id, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while self._due:
            interval = self._interval()
            now = self._clock.monotonic()
            if interval <= 0:
                self._paused = True
                await self._wait(PAUSED_CHECK_S)
                continue
            if self._paused:  # sampling switched on again: the first sample one interval from now
                self._paused = False
                self._due = dict.fromkeys(self._due, now + interval)
            earliest = min(self._due.values())
            if earliest > now:
                await self._wait(earliest - now)
                continue
            slack = min(COALESCE_S, interval / 10)
            due = [session_id for session_id, at in self._due.items() if at <= now + slack]
            for session_id in due:
                following = self._due[session_id] + interval
                self._due[session_id] = following if following > now else now + interval  # no catch-up burst
            try:
                await self._take(due)
            except Exception:  # e.g. a full disk: these samples are lost, the next ones must still be taken
                log.exception("periodic MeterValues of %d transactions failed", len(due))

    async def _wait(self, seconds: float) -> None:
        """Sleep `seconds` on the clock, or less when a transaction is added (its sample may be due sooner)."""
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await wait_for(self._clock, self._changed.wait(), seconds)
