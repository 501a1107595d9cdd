"""The Core profile: registration and heartbeat, connector statuses, availability, authorization, transactions
and meter values, remote control and security events, each a service of its own, and the CSMS operations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from module.core.context import CoreContext
from module.core.inputs import SessionEvent
from module.core.profile import Operation, Profile
from module.core.profiles.core import (
    change_availability,
    change_configuration,
    clear_cache,
    data_transfer,
    get_configuration,
    remote_start_transaction,
    remote_stop_transaction,
    reset,
    unlock_connector,
)
from module.core.profiles.core.authorization import AuthorizationService
from module.core.profiles.core.availability import AvailabilityService
from module.core.profiles.core.connectors import ConnectorStatusService
from module.core.profiles.core.registration import RegistrationService
from module.core.profiles.core.remote_control import RemoteControlService
from module.core.profiles.core.security_events import SecurityEventService
from module.core.profiles.core.sessions import TransactionService


@dataclass
class CoreServices:
    """The Core profile's services; session events reach them in this order (statuses, transactions, then
    availability, so a change scheduled during a session applies after the transaction ended)."""

    ctx: CoreContext
    registration: RegistrationService
    connectors: ConnectorStatusService
    authorization: AuthorizationService
    transactions: TransactionService
    availability: AvailabilityService
    remote: RemoteControlService
    security: SecurityEventService

    @classmethod
    def create(cls, ctx: CoreContext) -> CoreServices:
        authorization = AuthorizationService(ctx)
        transactions = TransactionService(ctx, remember_id_tag=authorization.remember)
        security = SecurityEventService(ctx)
        return cls(ctx=ctx, registration=RegistrationService(ctx, security),
                   connectors=ConnectorStatusService(ctx), authorization=authorization, transactions=transactions,
                   availability=AvailabilityService(ctx, transactions.running),
                   remote=RemoteControlService(ctx, transactions, authorization.validate), security=security)

    def _all(self) -> tuple[Any, ...]:
        return (self.registration, self.connectors, self.authorization, self.transactions, self.availability,
                self.remote, self.security)

    async def start(self) -> None:
        for service in self._all():
            await service.start()

    async def stop(self) -> None:
        for service in self._all():
            await service.stop()

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        for service in self._all():
            await service.on_session_event(connector_id, event)

    def take_over(self, previous: CoreServices) -> None:
        for service, old in zip(self._all(), previous._all(), strict=True):
            service.take_over(old)


async def _status_notification(core: CoreServices, connector_id: int | None) -> None:
    core.connectors.trigger(connector_id)


PROFILE: Profile[CoreServices] = Profile(
    name="Core",
    make_service=CoreServices.create,
    operations=tuple(Operation(module.ACTION, module.handle) for module in (
        change_availability, change_configuration, clear_cache, data_transfer, get_configuration,
        remote_start_transaction, remote_stop_transaction, reset, unlock_connector)),
    triggers={
        "BootNotification": lambda core, _connector_id: core.registration.boot_notification(),
        "Heartbeat": lambda core, _connector_id: core.registration.heartbeat(),
        "StatusNotification": _status_notification,
        "MeterValues": lambda core, connector_id: core.transactions.trigger_meter_values(connector_id),
    },
)
