"""Registration and liveness: what follows BootNotification Accepted, the heartbeat, and the CSMS's time."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from module.clock import wait_for
from module.core.context import CoreContext, command
from module.core.profile import ServiceBase
from module.core.profiles.core.security_events import SecurityEventService
from module.core.timestamps import parse_time

CLOCK_STEP_EVENT_S = 60.0
"""A time from the CSMS that moves the charger's clock by more than this is a SettingSystemTime security event;
smaller corrections (every heartbeat makes one) are not, or each heartbeat would send a critical event."""


class RegistrationService(ServiceBase):
    """Owns the heartbeat timer; the boot loop itself is the queue's (nothing else may go out before it)."""

    def __init__(self, ctx: CoreContext, security: SecurityEventService) -> None:
        self._ctx = ctx
        self._security = security
        self._interval_changed = asyncio.Event()
        self._heartbeat: asyncio.Task[None] | None = None
        self._unsubscribe = ctx.cfg.on_change("HeartbeatInterval", lambda *_: self._interval_changed.set())

    async def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="heartbeat")

    async def stop(self) -> None:
        self._unsubscribe()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat

    async def boot_accepted(self, response: dict[str, Any]) -> None:
        """BootNotification.conf Accepted: adopt its interval and time, then report every connector."""
        interval = int(response.get("interval") or 0)
        if interval > 0:
            self._ctx.cfg.set("HeartbeatInterval", interval)
        self._ctx.ports.events.boot_notification_response(response)
        if response.get("currentTime"):
            await self._set_time(response["currentTime"])
        self._ctx.notifier.resend_all()

    async def boot_notification(self) -> None:
        """A BootNotification on request (TriggerMessage), also while Pending; Accepted registers the charge
        point (if the boot loop had not yet) and updates heartbeat and time like the first."""
        response = await self._ctx.send("BootNotification", self._ctx.boot_info.payload(), triggered=True)
        if response is None or response.get("status") != "Accepted":
            return
        if self._ctx.registered():
            await self.boot_accepted(response)
        else:
            await self._ctx.queue.registration.accept(response)

    async def heartbeat(self) -> None:
        """A Heartbeat on the interval, or on TriggerMessage (then also while Pending)."""
        response = await self._ctx.send("Heartbeat", {}, triggered=True)
        if response is not None:
            await self._set_time(response["currentTime"])

    async def _set_time(self, timestamp: str) -> None:
        """The system module sets the charger's clock to the CSMS's; a large step is a security event."""
        csms_time = parse_time(timestamp)
        step = (csms_time - datetime.now(UTC)).total_seconds() if csms_time is not None else 0.0
        if not await command("set_system_time", self._ctx.ports.system.set_system_time(timestamp), False):
            return
        if abs(step) > CLOCK_STEP_EVENT_S:
            await self._security.report("SettingSystemTime", f"clock set to {timestamp} ({step:+.0f} s)")

    async def _heartbeat_loop(self) -> None:
        await self._ctx.queue.registration.wait_accepted()
        while True:
            interval = self._ctx.cfg.get("HeartbeatInterval")
            self._interval_changed.clear()
            with contextlib.suppress(TimeoutError):
                await wait_for(self._ctx.clock, self._interval_changed.wait(), interval if interval > 0 else None)
                continue
            await self.heartbeat()
