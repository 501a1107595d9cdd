"""TriggerMessage: answer first, then send the requested message."""

from __future__ import annotations

from typing import Any

ACTION = "TriggerMessage"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    requested = payload["requestedMessage"]
    connector_id = payload.get("connectorId")
    if connector_id is not None and connector_id != 0 and connector_id not in cp.connector_ids:
        return {"status": "Rejected"}
    if requested == "BootNotification":
        cp.spawn(cp.boot_notification())
    elif requested == "Heartbeat":
        cp.spawn(cp.heartbeat())
    elif requested == "StatusNotification":
        cp.notifier.trigger(connector_id)
    elif requested == "MeterValues":
        cp.spawn(_meter_values(cp, connector_id))
    elif requested in ("DiagnosticsStatusNotification", "FirmwareStatusNotification"):
        cp.spawn(cp.send_idle_status(requested))
    else:
        return {"status": "NotImplemented"}
    return {"status": "Accepted"}


async def _meter_values(cp: Any, connector_id: int | None) -> None:
    measurands = cp.cfg.get("MeterValuesSampledData") or []
    for cid in cp.connector_ids if not connector_id else [connector_id]:
        await cp.transactions.send_meter_values(cid, measurands, "Trigger")
