"""Reset: ask the system module, answer, then stop transactions, wait for their confirmations and reset."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

ACTION = "Reset"
log = logging.getLogger(__name__)


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    reset_type = payload["type"]
    try:
        allowed = await cp.charger.is_reset_allowed(reset_type)
    except Exception as error:
        cp.log_command_failure("is_reset_allowed", error)
        allowed = False
    if not allowed:
        return {"status": "Rejected"}
    cp.spawn(perform_reset(cp, reset_type))
    return {"status": "Accepted"}


async def perform_reset(cp: Any, reset_type: str) -> None:
    reason = "HardReset" if reset_type == "Hard" else "SoftReset"
    waits = []
    for connector_id, transaction in list(cp.transactions.active.items()):
        waits.append(cp.transactions.stopped[transaction.session_id].wait())
        try:
            await cp.charger.stop_transaction(connector_id, reason)
        except Exception as error:
            cp.log_command_failure("stop_transaction", error)
    if waits:
        configured = cp.cfg.get("WaitForStopTransactionsOnResetTimeout")
        timeout = 60 if configured is None else configured
        try:
            await asyncio.wait_for(asyncio.gather(*waits), timeout)
        except TimeoutError:
            log.warning("reset goes ahead without every StopTransaction confirmed (waited %s s)", timeout)
    if cp.reset_stop_delay:
        await asyncio.sleep(cp.reset_stop_delay)
    await cp.stop()
    try:
        await cp.charger.reset(reset_type)
    except Exception as error:
        cp.log_command_failure("reset", error)
