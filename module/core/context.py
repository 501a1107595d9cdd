"""What every service of the core is handed: the shared parts, typed, and nothing else.

Services keep their own state; what they share lives here once (configuration, ports, queue, link state,
connector statuses, the transaction table, the clock, a task spawner and the local list authorization reads), so
no service reaches into another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from module.clock import Clock
from module.config.charge_point_config import ChargePointConfig
from module.core.authorization import LocalListSlot
from module.core.inputs import BootInfo
from module.core.ports import Ports
from module.core.status_notifier import StatusNotifier
from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, LinkDown
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, Offline
from module.v16.transactions import TransactionStore

log = logging.getLogger(__name__)

T = TypeVar("T")

NOT_DELIVERED = (Offline, LinkDown, CallTimeout, CallErrorReceived, InvalidPayload)


@dataclass(frozen=True)
class RunningTransaction:
    """A transaction running on a connector, as another profile may see it (SmartCharging binds TxProfiles to
    it and starts Relative schedules with it)."""

    connector_id: int
    session_id: str
    transaction_id: int
    """The id the CSMS knows it by, or the local (negative) placeholder until StartTransaction is answered."""
    start_time: str


class RemoteStartProfiles(Protocol):
    """Takes the chargingProfile of a RemoteStartTransaction (the SmartCharging profile, when it is enabled)."""

    def acceptable(self, connector_id: int | None, profile: dict[str, Any]) -> bool:
        """Whether `profile` may become the TxProfile of the transaction the remote start begins."""
        ...

    def expect(self, connector_id: int | None, id_tag: str, profile: dict[str, Any]) -> None:
        """Attach `profile` to the transaction `id_tag` starts next (on `connector_id`, or on any connector)."""
        ...


class SecurityLogWriter(Protocol):
    def write(self, timestamp: str, event_type: str, info: str | None, critical: bool) -> None: ...


class LinkControl(Protocol):
    """Changes of the connection's settings (LinkSettings field names) at run time."""

    def update(self, changes: dict[str, Any]) -> None:
        """Used from the next connect on."""
        ...

    async def reconnect(self, changes: dict[str, Any]) -> str | None:
        """Close the connection and connect again at once with `changes`: None once connected, else why that
        attempt failed ("kind: detail")."""
        ...

    def on_failure(self, callback: Callable[[str | None, str], None]) -> None:
        """callback(security event type or None, detail) for every failed connection attempt."""
        ...

    def on_invalid_message(self, callback: Callable[[str], None]) -> None:
        """callback(what was refused) for every CSMS frame refused as invalid."""
        ...


@dataclass(frozen=True)
class SchedulePublishing:
    """When and how the composite schedules go to the energy sinks (module options, not OCPP keys)."""

    interval_s: int = 30
    """Recompute and send every so many seconds; 0: only when something changed."""
    duration_s: int = 600
    unit: str = "A"


def _no_transaction(_connector_id: int) -> RunningTransaction | None:
    return None


@dataclass
class CoreContext:
    cfg: ChargePointConfig
    ports: Ports
    db: Database
    """The charge point's SQLite file: each service registers the migrations of its own tables."""
    queue: MessageQueue
    notifier: StatusNotifier
    transaction_store: TransactionStore
    clock: Clock
    connector_ids: list[int]
    online: Callable[[], bool]
    """The link is up and the CSMS accepted the boot: a CALL can be answered now."""
    boot_info: BootInfo
    stop_charge_point: Callable[[], Awaitable[None]]
    """Ends the OCPP side (before a reset hands over to the system module)."""
    reset_stop_delay: float = 0.0
    boot_reason: str | None = None
    """Why the charger started (the system module's BootReason), set by `ChargePoint.start`; None while the
    OCPP side only restarts (restart_ocpp) and the charger itself kept running."""
    triggers: dict[str, Callable[[int | None], Awaitable[None]]] = field(default_factory=dict)
    """What each registered profile sends on TriggerMessage, by requestedMessage (filled at assembly)."""
    schedule_publishing: SchedulePublishing = field(default_factory=SchedulePublishing)
    running_transaction: Callable[[int], RunningTransaction | None] = _no_transaction
    """The transaction running on a connector. make_service only hands a profile this context, so the charge
    point wires the Core profile's lookup here at assembly: another profile reads the running transactions
    without reaching into the Core profile's services."""
    remote_start_profiles: RemoteStartProfiles | None = None
    """Set by the SmartCharging service when that profile is enabled: Core's RemoteStartTransaction hands its
    chargingProfile over (the operation belongs to Core, the profile to SmartCharging)."""
    connection_listeners: list[Callable[[bool], None]] = field(default_factory=list)
    security_log: SecurityLogWriter | None = None
    """Where every security event is written (the module's security log; None: not kept)."""
    link_control: LinkControl | None = None
    """The connection's settings, for the Security profile (wired by the charge point to its link)."""
    configuration_changes: dict[str, Callable[[str], Awaitable[Any]]] = field(default_factory=dict)
    """ChangeConfiguration of these keys goes to the profile that owns what they change (the Security profile:
    SecurityProfile, AuthorizationKey), which answers it; the Core handler routes them."""
    """Called with the websocket state on every change (SmartCharging: IgnoredProfilePurposesOffline)."""
    local_list: LocalListSlot = field(default_factory=LocalListSlot)
    """The local authorization list as authorization reads it (installed by the LocalAuthListManagement profile)."""
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` apart from the caller (e.g. a slow EVSE command off the queue's lane), keeping a
        reference so it is not collected, and logging what it raises."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    def registered(self) -> bool:
        """The CSMS accepted the BootNotification (not Pending, not Rejected)."""
        return self.queue.registration.accepted

    async def send(self, action: str, payload: dict[str, Any], *, triggered: bool = False) -> dict[str, Any] | None:
        """A normal-lane CALL; None (logged) when it was not answered: offline, refused or timed out.
        `triggered`: the CSMS asked for it, so it may go out while the boot is Pending."""
        try:
            return await self.queue.send(action, payload, triggered=triggered)
        except NOT_DELIVERED as error:
            log.info("%s not delivered: %s", action, error)
            return None


async def command(name: str, work: Awaitable[T], failed: T) -> T:
    """A command of a required module; when it fails the operation answers truthfully with `failed`
    (Rejected, UnlockFailed ...) and the failure is logged once, here."""
    try:
        return await work
    except Exception as error:
        log.warning("command %s failed: %s: %s", name, type(error).__name__, error)
        return failed
