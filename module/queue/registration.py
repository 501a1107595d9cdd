"""BootNotification loop: nothing but the boot goes out until the CSMS accepts the charge point.

Accepted is kept for the whole process run: a reconnect does not boot again (as libocpp, which boots once per
start). Pending answers the CSMS's CALLs and repeats the boot at the given interval; Rejected drops the CSMS's
CALLs unanswered and retries after the interval.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any, Protocol

from module.clock import Clock
from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, LinkDown

log = logging.getLogger(__name__)

BootPayload = Callable[[], dict[str, Any]]
AcceptedCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


class BootLink(Protocol):
    """What the registration needs of the link."""

    @property
    def connected(self) -> bool: ...

    async def wait_connected(self) -> None: ...

    async def call(self, action: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]: ...

    def set_incoming_gate(self, gate: Callable[[str], bool]) -> None: ...


class RegistrationStatus(StrEnum):
    UNKNOWN = "Unknown"  # no answer to a BootNotification yet
    PENDING = "Pending"
    REJECTED = "Rejected"
    ACCEPTED = "Accepted"


class Registration:
    """Runs the boot loop and tells the link which incoming CALLs to answer."""

    def __init__(
        self,
        link: BootLink,
        boot_payload: BootPayload,
        on_accepted: AcceptedCallback,
        clock: Clock,
        *,
        call_timeout: float = 30.0,
        retry_interval: float = 60.0,
    ) -> None:
        self._link = link
        self._boot_payload = boot_payload
        self._on_accepted = on_accepted
        self._clock = clock
        self.call_timeout = call_timeout
        self.retry_interval = retry_interval
        self.status = RegistrationStatus.UNKNOWN
        self._accepted = asyncio.Event()
        link.set_incoming_gate(self.allows_incoming)

    @property
    def accepted(self) -> bool:
        return self._accepted.is_set()

    async def wait_accepted(self) -> None:
        await self._accepted.wait()

    def may_send(self, triggered: bool) -> bool:
        """Accepted: any message; Pending: only what the CSMS asked for with TriggerMessage."""
        return self.accepted or (triggered and self.status is RegistrationStatus.PENDING)

    async def accept(self, response: dict[str, Any]) -> None:
        """A BootNotification the CSMS triggered was Accepted: registered now, the loop ends at its next turn."""
        if not self.accepted:
            await self._accepted_with(response)

    async def _accepted_with(self, response: dict[str, Any]) -> None:
        self.status = RegistrationStatus.ACCEPTED
        self._accepted.set()
        log.info("BootNotification accepted (interval %s s)", response.get("interval"))
        result = self._on_accepted(response)
        if inspect.isawaitable(result):
            await result

    def allows_incoming(self, action: str) -> bool:
        """Gate for the link: CSMS CALLs are answered once Pending or Accepted, dropped before and if Rejected."""
        return self.status in (RegistrationStatus.PENDING, RegistrationStatus.ACCEPTED)

    async def run(self) -> None:
        """Boot until Accepted, then return."""
        while not self.accepted:
            await self._link.wait_connected()
            try:
                response = await self._link.call("BootNotification", self._boot_payload(), self.call_timeout)
            except LinkDown:
                continue
            except (CallErrorReceived, CallTimeout, InvalidPayload) as exc:
                log.warning("BootNotification failed (%s), retrying in %s s", exc, self.retry_interval)
                await self._clock.sleep(self.retry_interval)
                continue
            status = RegistrationStatus(response["status"])
            if self.accepted:
                return  # a triggered BootNotification was accepted meanwhile
            if status is RegistrationStatus.ACCEPTED:
                await self._accepted_with(response)
                return
            self.status = status
            interval = response.get("interval") or self.retry_interval
            log.warning("BootNotification %s, next one in %s s", status, interval)
            await self._clock.sleep(interval)
