"""What TriggerMessage can ask for: the triggers the registered profiles declared, bound at assembly."""

from __future__ import annotations

from module.core.context import CoreContext
from module.core.profile import Reply, ServiceBase


class RemoteTriggerService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx

    def trigger(self, requested: str, connector_id: int | None) -> Reply:
        """Accepted and sent after the answer, Rejected for an unknown connector, NotImplemented when no
        registered profile sends that message."""
        if connector_id is not None and connector_id != 0 and connector_id not in self._ctx.connector_ids:
            return Reply({"status": "Rejected"})
        send = self._ctx.triggers.get(requested)
        if send is None:
            return Reply({"status": "NotImplemented"})
        return Reply({"status": "Accepted"}, then=lambda: send(connector_id))
