"""What TriggerMessage can ask for: the triggers the registered profiles declared, bound at assembly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from module.core.context import CoreContext
from module.core.profile import Reply, ServiceBase


def trigger_reply(ctx: CoreContext, triggers: Mapping[str, Callable[[int | None], Awaitable[None]]],
                  requested: str, connector_id: int | None) -> Reply:
    """The rule TriggerMessage and ExtendedTriggerMessage share: Accepted and sent after the answer, Rejected
    for an unknown connector, NotImplemented when nothing in `triggers` sends that message."""
    if connector_id is not None and connector_id != 0 and connector_id not in ctx.connector_ids:
        return Reply({"status": "Rejected"})
    send = triggers.get(requested)
    if send is None:
        return Reply({"status": "NotImplemented"})
    return Reply({"status": "Accepted"}, then=lambda: send(connector_id))


class RemoteTriggerService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx

    def trigger(self, requested: str, connector_id: int | None) -> Reply:
        return trigger_reply(self._ctx, self._ctx.triggers, requested, connector_id)
