"""The evse_manager requirements: connector map, their vars before and after start, and their commands.

OCPP connector ids run 1..N over all connectors of all EVSEs; the i-th evse_manager connection must report EVSE
id i, as EVerest's OCPP module requires, so a wiring mistake is refused at start-up rather than mis-billed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from framework.module import Requirement

log = logging.getLogger(__name__)

VARS = ("session_event", "powermeter", "ev_info", "enforced_limits", "ready", "waiting_for_external_ready",
        "powermeter_public_key_ocmf")


class WiringError(RuntimeError):
    """The EVSEs do not match the run config (wrong id order)."""


@dataclass
class Evse:
    requirement: Requirement
    evse_id: int = 0
    connectors: dict[int, int] = field(default_factory=dict)  # EVSE-local connector id -> OCPP connector id
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def label(self) -> str:
        return f"{self.requirement.module_id}.{self.requirement.impl_id}"


VarHandler = Callable[[Evse, str, Any], Awaitable[None] | None]


class EvseConnections:
    def __init__(self, requirements: list[Requirement]) -> None:
        self.evses = [Evse(requirement) for requirement in requirements]
        self._handler: VarHandler | None = None
        self._early: list[tuple[Evse, str, Any]] = []
        self._by_connector: dict[int, tuple[Evse, int]] = {}
        """OCPP connector id -> its EVSE and EVSE-local id (looked up for every reading of 128 EVSEs)."""

    def subscribe(self) -> None:
        """Subscribe every var now (before ModuleReady); values arriving before `start_delivery` are kept."""
        for evse in self.evses:
            for var in VARS:
                evse.requirement.subscribe(var, lambda value, evse=evse, var=var: self._on_var(evse, var, value))

    async def _on_var(self, evse: Evse, var: str, value: Any) -> None:
        if var in ("ready", "waiting_for_external_ready") and value is True:
            evse.ready.set()
        if self._handler is None:
            self._early.append((evse, var, value))
            return
        result = self._handler(evse, var, value)
        if result is not None:
            await result

    def pending(self) -> list[tuple[Evse, str, Any]]:
        """Vars that arrived before delivery started, oldest first."""
        return list(self._early)

    async def start_delivery(self, handler: VarHandler) -> None:
        """Replay what arrived early, in order, then pass vars on as they come."""
        while self._early:
            evse, var, value = self._early.pop(0)
            result = handler(evse, var, value)
            if result is not None:
                await result
        self._handler = handler

    async def build_connector_map(self) -> list[int]:
        next_connector = 1
        for index, evse in enumerate(self.evses, start=1):
            description = await evse.requirement.call("get_evse", {}, timeout=30)
            if description["id"] != index:
                raise WiringError(f"evse_manager connection {index} ({evse.label}) reports EVSE id "
                                  f"{description['id']}: the i-th connection must be EVSE i")
            evse.evse_id = index
            for connector in description.get("connectors") or [{"id": 1}]:
                evse.connectors[connector["id"]] = next_connector
                self._by_connector[next_connector] = evse, connector["id"]
                next_connector += 1
        return list(range(1, next_connector))

    def ocpp_connector(self, evse: Evse, local_connector: int | None) -> int:
        return evse.connectors.get(local_connector or 1) or next(iter(evse.connectors.values()), evse.evse_id)

    def ocpp_connector_of(self, evse_id: int, local_connector: int) -> int | None:
        """The OCPP connector id of an EVSE's connector, None when there is no such EVSE or connector."""
        for evse in self.evses:
            if evse.evse_id == evse_id:
                return evse.connectors.get(local_connector)
        return None

    def evse_of(self, connector_id: int) -> tuple[Evse, int]:
        """The EVSE holding an OCPP connector, and that connector's EVSE-local id."""
        try:
            return self._by_connector[connector_id]
        except KeyError:
            raise KeyError(f"no connector {connector_id}") from None

    async def wait_ready(self) -> None:
        """Until every EVSE said `ready` or `waiting_for_external_ready`."""
        waiting = [evse for evse in self.evses if not evse.ready.is_set()]
        if waiting:
            log.info("waiting for %s to become ready", ", ".join(evse.label for evse in waiting))
        await asyncio.gather(*(evse.ready.wait() for evse in waiting))
