"""A clock for tests that only moves when told to (the shape of `module.clock.Clock`)."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ManualClock:
    """A clock that only moves when told to: tests await `sleeping()` and then `advance()`."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        self._changed.set()
        await future

    def pending(self) -> list[float]:
        """Deadlines of the sleepers still waiting, earliest first."""
        return sorted(deadline for deadline, _, future in self._sleepers if not future.done())

    async def sleeping(self, count: int = 1) -> list[float]:
        """Wait until at least `count` sleepers wait; returns their deadlines."""
        while len(self.pending()) < count:
            self._changed.clear()
            await self._changed.wait()
        return self.pending()

    async def sleeper_until(self, deadline: float) -> None:
        """Wait until something sleeps until exactly `deadline` (the timer a test is about to fire)."""
        while deadline not in self.pending():
            self._changed.clear()
            await self._changed.wait()

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
