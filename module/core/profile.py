"""A feature profile as the core registers it: its name, its service, its CSMS operations, its triggers.

`module/core/profiles/__init__.py` lists the registered profiles; SupportedFeatureProfiles, the handlers the
link answers with and its NotSupported answers all follow from that list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from module.core.context import CoreContext
from module.core.inputs import SessionEvent
from module.link.reply import Reply as Reply  # the answer type of every handler, re-exported for profiles


class Service(Protocol):
    """The state and timers of one profile."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        """Every EVSE session event, in order, to every service."""
        ...

    def take_over(self, previous: Any) -> None:
        """A restart of the OCPP side (not a power cut): carry over the state of the previous instance."""
        ...


class ServiceBase:
    """No-op defaults, so a service implements only what it needs."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        return None

    def take_over(self, previous: Any) -> None:
        return None


S = TypeVar("S", bound=Service)


Handler = Callable[[S, dict[str, Any]], Awaitable[dict[str, Any] | Reply]]
Trigger = Callable[[S, int | None], Awaitable[None]]


@dataclass(frozen=True)
class Operation(Generic[S]):
    """One CSMS-initiated action and its handler: `handle(service, request) -> response`."""

    action: str
    handle: Handler[S]


@dataclass(frozen=True)
class Profile(Generic[S]):
    name: str
    """As in SupportedFeatureProfiles (or, not advertised, as the link's action table names it)."""
    make_service: Callable[[CoreContext], S]
    operations: tuple[Operation[S], ...] = ()
    triggers: dict[str, Trigger[S]] = field(default_factory=dict)
    """What this profile sends on TriggerMessage, by requestedMessage."""
    answers_when_unsupported: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Actions answered with this fixed payload while SupportedFeatureProfiles leaves the profile out, instead of
    a NotSupported CALLERROR (ReserveNow: Rejected, "not configured to accept reservations")."""
    advertised: bool = True
    """False: not a SupportedFeatureProfiles value (the 1.6 Security whitepaper), so always enabled and never
    listed there."""
