"""The one clock of the OCPP side: link, queue and core all wait through it, so tests can move time instead of
sleeping (tests/manual_clock.py), and a CSMS setting the wall clock never moves a timer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic seconds and a sleep on the same scale."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


monotonic_clock = SystemClock()


async def wait_for(clock: Clock, work: Awaitable[T], timeout: float | None) -> T:
    """`asyncio.wait_for` on `clock`: TimeoutError when `timeout` seconds of that clock pass first."""
    task = asyncio.ensure_future(work)
    if timeout is None:
        return await task
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timer
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise TimeoutError(f"no result within {timeout:g} s")
