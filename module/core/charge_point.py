"""The OCPP 1.6 charge point, assembled: link, queue and configuration below, one service per registered
feature profile above (module/core/profiles), and the CSMS's operations routed to them.

Everything here is plain asyncio: the charger is reached through the ports of module/core/ports.py, which
module/impl fills with framework commands and vars.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from module.clock import Clock, monotonic_clock
from module.config.charge_point_config import ChargePointConfig
from module.core.context import CoreContext, SchedulePublishing
from module.core.inputs import BootInfo, SessionEvent
from module.core.ports import Ports
from module.core.profile import Profile, Service
from module.core.profiles import PROFILES
from module.core.profiles.core import CoreServices
from module.core.profiles.core.security_log import SecurityLog
from module.core.status_notifier import StatusNotifier
from module.link.connection import ConnectFailure
from module.link.link import OcppLink
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v16.transaction_policy import V16TransactionPolicy

# Keys that may change at run time, and the queue / link setting each one feeds.
QUEUE_KEYS = {"TransactionMessageAttempts": "transaction_message_attempts",
              "TransactionMessageRetryInterval": "transaction_message_retry_interval"}
# AuthorizationKey, SecurityProfile and CentralSystemURI reconnect: the Security profile applies them.
LINK_KEYS = {"WebSocketPingInterval": "ping_interval", "VerifyCsmsAllowWildcards": "allow_wildcards",
             "RetryBackoffWaitMinimum": "retry_backoff_wait_minimum",
             "RetryBackoffRandomRange": "retry_backoff_random_range",
             "RetryBackoffRepeatTimes": "retry_backoff_repeat_times"}


def queue_settings(cfg: ChargePointConfig, resume_delay: float) -> QueueSettings:
    return QueueSettings(
        transaction_message_attempts=cfg.get("TransactionMessageAttempts"),
        transaction_message_retry_interval=cfg.get("TransactionMessageRetryInterval"),
        queue_all_messages=bool(cfg.get("QueueAllMessages")),
        discard_for_queueing=frozenset(cfg.get("MessageTypesDiscardForQueueing") or ()),
        message_queue_size_threshold=cfg.get("MessageQueueSizeThreshold"),
        message_queue_resume_delay=resume_delay,
    )


def _fixed_answer(answer: dict[str, Any], _request: dict[str, Any]) -> dict[str, Any]:
    return dict(answer)


def _apply_setting(update: Callable[..., None], setting: str) -> Callable[[str, Any], None]:
    """A configuration hook that hands a changed key's value to the link or queue setting it feeds."""
    return lambda _key, value: update(**{setting: value})


class ChargePoint:
    def __init__(self, cfg: ChargePointConfig, link: OcppLink, db: Database, ports: Ports,
                 connector_ids: list[int], boot_info: BootInfo, *, clock: Clock = monotonic_clock,
                 profiles: tuple[Profile[Any], ...] = PROFILES, message_queue_resume_delay: float = 0.0,
                 reset_stop_delay: float = 0.0, schedule_publishing: SchedulePublishing | None = None,
                 security_log: SecurityLog | None = None) -> None:
        self.cfg = cfg
        self.link = link
        self.db = db
        policy = V16TransactionPolicy(db)
        self.queue = MessageQueue(db, link, queue_settings(cfg, message_queue_resume_delay), policy,
                                  boot_payload=boot_info.payload, on_boot_accepted=self._boot_accepted, clock=clock)
        notifier = StatusNotifier(connector_ids, self._send_status,
                                  minimum_duration=lambda: cfg.get("MinimumStatusDuration") or 0,
                                  enabled=lambda: self.queue.registration.accepted, clock=clock)
        self.context = CoreContext(
            cfg=cfg, ports=ports, db=db, queue=self.queue, notifier=notifier, transaction_store=policy.store,
            clock=clock, connector_ids=connector_ids,
            online=lambda: link.connected and self.queue.registration.accepted, boot_info=boot_info,
            stop_charge_point=self.stop, reset_stop_delay=reset_stop_delay,
            schedule_publishing=schedule_publishing or SchedulePublishing())
        self.context.link_control = _LinkControl(link)
        self.context.security_log = self.security_log = security_log
        enabled = [profile for profile in profiles if not profile.advertised or profile.name in cfg.supported_profiles]
        self.services: dict[str, Service] = {profile.name: profile.make_service(self.context) for profile in enabled}
        self.context.running_transaction = self.core.transactions.running_transaction
        for profile in enabled:
            self._register(profile)
        answered_off = [profile for profile in profiles
                        if profile.name not in self.services and profile.answers_when_unsupported]
        for profile in answered_off:
            for action, answer in profile.answers_when_unsupported.items():
                link.register_handler(action, functools.partial(_fixed_answer, answer))
        link.set_supported_profiles([*self.services, *(profile.name for profile in answered_off)])
        link.add_connection_listener(self._connection_changed)
        self.running = False
        # Hooks on the shared configuration; stop() removes them, so a restarted charge point does not leave
        # the old link and queue listening.
        self._unsubscribe: list[Callable[[], None]] = [
            cfg.on_change("ConnectionTimeOut", lambda _key, value: ports.auth.set_connection_timeout(value)),
            *(cfg.on_change(key, _apply_setting(self.queue.update_settings, setting))
              for key, setting in QUEUE_KEYS.items()),
            *(cfg.on_change(key, _apply_setting(self.link.update_settings, setting))
              for key, setting in LINK_KEYS.items()),
        ]

    @property
    def core(self) -> CoreServices:
        """The Core profile's services: what module/impl feeds with the charger's inputs."""
        core = self.services["Core"]
        assert isinstance(core, CoreServices)
        return core

    def _register(self, profile: Profile[Any]) -> None:
        service = self.services[profile.name]
        for operation in profile.operations:
            self.link.register_handler(operation.action, functools.partial(operation.handle, service))
        for message, trigger in profile.triggers.items():
            self.context.triggers[message] = functools.partial(trigger, service)

    # -- lifecycle --------------------------------------------------------------------------------------------
    async def start(self, boot_reason: str | None = None) -> None:
        """Recover what a power loss left open (services start first), then open the link and boot.

        `boot_reason` is the system module's reason for this start; None restarts only the OCPP side."""
        self.context.boot_reason = boot_reason
        for service in self.services.values():
            await service.start()
        await self.link.start()
        await self.queue.start()
        self.running = True

    async def stop(self) -> None:
        self.running = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for service in reversed(self.services.values()):
            await service.stop()
        await self.queue.stop()
        await self.link.stop()
        self.db.close()
        if self.security_log is not None:
            self.security_log.close()

    def take_over(self, previous: ChargePoint) -> None:
        """A restart of the OCPP side after stop() is no power cut: connector states, open sessions and running
        transactions carry on instead of being reset to Available and stopped with PowerLoss."""
        for name, service in self.services.items():
            if name in previous.services:
                service.take_over(previous.services[name])

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        for service in self.services.values():
            await service.on_session_event(connector_id, event)

    async def _send_status(self, payload: dict[str, Any], triggered: bool) -> None:
        await self.queue.send("StatusNotification", payload, triggered=triggered)

    async def _boot_accepted(self, response: dict[str, Any]) -> None:
        await self.core.registration.boot_accepted(response)

    def _connection_changed(self, connected: bool) -> None:
        self.context.ports.events.connection_changed(connected)
        for listener in self.context.connection_listeners:
            listener(connected)
        if connected and self.queue.registration.accepted:
            self.context.notifier.resend_all()


class _LinkControl:
    """The Security profile's hold on the link: new settings now or at the next connect."""

    def __init__(self, link: OcppLink) -> None:
        self._link = link
        self._outcome: asyncio.Future[str | None] | None = None
        self._failure_callbacks: list[Callable[[str | None, str], None]] = []
        link.add_connection_listener(self._connected)
        link.add_failure_listener(self._failed)

    def on_failure(self, callback: Callable[[str | None, str], None]) -> None:
        self._failure_callbacks.append(callback)

    def on_invalid_message(self, callback: Callable[[str], None]) -> None:
        self._link.add_invalid_message_listener(callback)

    def update(self, changes: dict[str, Any]) -> None:
        self._link.update_settings(**changes)

    async def reconnect(self, changes: dict[str, Any]) -> str | None:
        outcome = self._outcome = asyncio.get_running_loop().create_future()
        self._link.update_settings(**changes)
        await self._link.reconnect()
        try:
            return await outcome
        finally:
            self._outcome = None

    def _connected(self, connected: bool) -> None:
        if connected and self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(None)

    def _failed(self, failure: ConnectFailure) -> None:
        for callback in self._failure_callbacks:
            callback(failure.security_event, failure.detail)
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(f"{failure.kind}: {failure.detail}")
