"""External limits on the simulated EVSE (what EVerest's energy manager would pass down from an OCPP sink): the
import schedule's entry in force caps the current offered to the car, and the next entry takes over at its
timestamp."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

Apply = Callable[[float | None], Awaitable[None]]
"""Cap the offered current at so many amperes (None: no external cap)."""


def _time(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))


def entry_current(entry: dict[str, Any], voltage: float, phases: int) -> float | None:
    """The amperes an ExternalLimits schedule entry allows: the lower of its current limits and its power
    limits (turned into amperes over the EVSE's phases), towards the leaves and the root."""
    allowed = []
    for side in ("limits_to_leaves", "limits_to_root"):
        limits = entry.get(side) or {}
        if "ac_max_current_A" in limits:
            allowed.append(float(limits["ac_max_current_A"]["value"]))
        if "total_power_W" in limits:
            allowed.append(float(limits["total_power_W"]["value"]) / (voltage * phases))
    return min(allowed) if allowed else None


def in_force(schedule: list[dict[str, Any]], now: datetime) -> tuple[dict[str, Any] | None, datetime | None]:
    """The entry in force at `now` (the latest that began) and when the next one begins."""
    current = None
    for entry in sorted(schedule, key=_time):
        if _time(entry) > now:
            return current, _time(entry)
        current = entry
    return current, None


class ExternalLimits:
    """Follows the last ExternalLimits received: applies the entry in force, then each next one on time."""

    def __init__(self, apply: Apply, voltage: float, phases: int) -> None:
        self._apply = apply
        self._voltage = voltage
        self._phases = phases
        self._schedule: list[dict[str, Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def set(self, value: dict[str, Any]) -> None:
        self._schedule = list(value.get("schedule_import") or [])
        await self._follow()

    async def _follow(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = datetime.now(UTC)
        entry, next_at = in_force(self._schedule, now)
        await self._apply(None if entry is None else entry_current(entry, self._voltage, self._phases))
        if next_at is not None:
            self._timer = asyncio.get_running_loop().call_later((next_at - now).total_seconds(), self._next)

    def _next(self) -> None:
        task = asyncio.ensure_future(self._follow())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
