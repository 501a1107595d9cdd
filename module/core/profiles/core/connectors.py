"""Connector statuses from session events and raised errors (EVerest's session_event mapping, section 3a)."""

from __future__ import annotations

from module.core.connector_status import Event
from module.core.context import CoreContext
from module.core.error_mapping import RaisedError, to_error_info
from module.core.inputs import SessionEvent
from module.core.profile import ServiceBase
from module.core.session_events import (
    SIMPLE,
    session_finished_event,
    session_started_event,
    transaction_started_event,
)


class ConnectorStatusService(ServiceBase):
    """Feeds the shared StatusNotifier; availability and transactions add their own status events."""

    def __init__(self, ctx: CoreContext) -> None:
        self._notifier = ctx.notifier

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        state = self._notifier.state(connector_id)
        if event.kind in SIMPLE:
            self._notifier.handle(connector_id, SIMPLE[event.kind],
                                  "SwitchingPhases" if event.kind == "SwitchingPhases" else None)
        elif event.kind == "SessionStarted":
            status_event = session_started_event(state, event.reason)
            if status_event:
                self._notifier.handle(connector_id, status_event)
        elif event.kind == "TransactionStarted":
            status_event = transaction_started_event(state)
            if status_event:
                self._notifier.handle(connector_id, status_event)
        elif event.kind == "SessionFinished":
            status_event = session_finished_event(state)
            if status_event:
                self._notifier.handle(connector_id, status_event)
        elif event.kind == "PluginTimeout":
            self._notifier.handle(connector_id, Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED,
                                  "ConnectionTimeout")

    def on_error(self, connector_id: int, error: RaisedError) -> None:
        self._notifier.raise_error(connector_id, to_error_info(error))

    def on_error_cleared(self, connector_id: int, uuid: str) -> None:
        self._notifier.clear_error(connector_id, uuid)

    def active_errors(self, connector_id: int) -> list[str]:
        """uuids of the errors raised on a connector and not cleared yet."""
        return list(self._notifier.machines[connector_id].errors)

    def take_over(self, previous: ConnectorStatusService) -> None:
        self._notifier.machines.update(previous._notifier.machines)

    def trigger(self, connector_id: int | None) -> None:
        self._notifier.trigger(connector_id)
