"""Registration and liveness: what follows BootNotification Accepted, the heartbeat, and the CSMS's time."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from module.clock import wait_for
from module.core.context import CoreContext, command
from module.core.profile import ServiceBase


class RegistrationService(ServiceBase):
    """Owns the heartbeat timer; the boot loop itself is the queue's (nothing else may go out before it)."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
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
        await command("set_system_time", self._ctx.ports.system.set_system_time(timestamp), False)

    async def _heartbeat_loop(self) -> None:
        await self._ctx.queue.registration.wait_accepted()
        while True:
            interval = self._ctx.cfg.get("HeartbeatInterval")
            self._interval_changed.clear()
            with contextlib.suppress(TimeoutError):
                await wait_for(self._ctx.clock, self._interval_changed.wait(), interval if interval > 0 else None)
                continue
            await self.heartbeat()
