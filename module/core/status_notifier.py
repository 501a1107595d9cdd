"""Connector states of the whole charge point and the StatusNotifications that report them.

A change is reported after MinimumStatusDuration (the latest state wins), and every status goes out again after
BootNotification is accepted and after each reconnect, so the CSMS never keeps a stale view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from module.clock import Clock, monotonic_clock
from module.core.connector_status import ConnectorStateMachine, ErrorInfo, Event, Status, StatusReport
from module.core.timestamps import utc_now

log = logging.getLogger(__name__)

SendStatus = Callable[[dict[str, Any], bool], Awaitable[None]]
"""send(payload, triggered): triggered ones were asked for by the CSMS and may go out while the boot is Pending."""


def status_payload(connector_id: int, report: StatusReport, timestamp: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"connectorId": connector_id, "errorCode": report.error_code,
                               "status": str(report.status), "timestamp": timestamp}
    for key, value in (("info", report.info), ("vendorId", report.vendor_id),
                       ("vendorErrorCode", report.vendor_error_code)):
        if value:
            payload[key] = value
    return payload


class StatusNotifier:
    def __init__(self, connector_ids: list[int], send: SendStatus, minimum_duration: Callable[[], int],
                 enabled: Callable[[], bool], clock: Clock = monotonic_clock) -> None:
        """`enabled` is false until BootNotification is accepted: no StatusNotification goes out before that."""
        self.machines = {cid: ConnectorStateMachine(cid) for cid in [0, *connector_ids]}
        self._send = send
        self._minimum_duration = minimum_duration
        self._enabled = enabled
        self._clock = clock
        self._pending: dict[int, asyncio.Task] = {}
        self._sending: set[asyncio.Task] = set()
        self._last_sent: dict[int, StatusReport] = {}

    def status(self, connector_id: int) -> Status:
        return self.machines[connector_id].report().status

    def state(self, connector_id: int) -> Status:
        """The underlying state, without the Faulted overlay."""
        return self.machines[connector_id].state

    def handle(self, connector_id: int, event: Event, info: str | None = None) -> None:
        machine = self.machines.get(connector_id)
        if machine is None:
            log.warning("status event %s for unknown connector %s dropped", event, connector_id)
            return
        before = machine.report()
        machine.handle(event, info)
        self._changed(connector_id, before)

    def raise_error(self, connector_id: int, error: ErrorInfo) -> None:
        machine = self.machines[connector_id]
        before = machine.report()
        machine.raise_error(error)
        self._changed(connector_id, before, always=True)

    def clear_error(self, connector_id: int, uuid: str) -> None:
        machine = self.machines[connector_id]
        before = machine.report()
        if machine.clear_error(uuid):
            self._changed(connector_id, before, always=True)

    def _changed(self, connector_id: int, before: StatusReport, always: bool = False) -> None:
        after = self.machines[connector_id].report()
        if after != before or always:
            self._schedule(connector_id, delay=self._minimum_duration())

    def _schedule(self, connector_id: int, delay: float) -> None:
        """With a delay the latest state wins; without one every state is reported, in order (a quick
        Preparing -> Charging must not lose its Preparing)."""
        pending = self._pending.pop(connector_id, None)
        if pending:
            pending.cancel()
        if not self._enabled():
            return
        loop = asyncio.get_running_loop()
        timestamp = utc_now("milliseconds")
        if delay > 0:
            self._pending[connector_id] = loop.create_task(self._send_after(connector_id, delay, timestamp))
            return
        task = loop.create_task(self._send_report(connector_id, self.machines[connector_id].report(), timestamp))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_after(self, connector_id: int, delay: float, timestamp: str) -> None:
        await self._clock.sleep(delay)
        self._pending.pop(connector_id, None)
        await self._send_report(connector_id, self.machines[connector_id].report(), timestamp)

    async def _send_report(self, connector_id: int, report: StatusReport, timestamp: str,
                           triggered: bool = False) -> None:
        try:
            await self._send(status_payload(connector_id, report, timestamp), triggered)
            self._last_sent[connector_id] = report
        except Exception as error:  # offline or refused: the next resend_all reports the state again
            log.info("StatusNotification for connector %s not delivered: %s", connector_id, error)

    def resend_all(self) -> None:
        """Report every connector (0 first), as after BootNotification.conf Accepted and after a reconnect."""
        for connector_id in sorted(self.machines):
            self._schedule(connector_id, delay=0)

    def trigger(self, connector_id: int | None) -> None:
        """TriggerMessage(StatusNotification): one connector, or all when no connector is given; sent also while
        the boot is Pending (the CSMS asked for it)."""
        loop = asyncio.get_running_loop()
        timestamp = utc_now("milliseconds")
        for cid in sorted(self.machines) if connector_id is None else [connector_id]:
            task = loop.create_task(self._send_report(cid, self.machines[cid].report(), timestamp, triggered=True))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
