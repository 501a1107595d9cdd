"""Steps the end-to-end scenarios share: boot to Available, run a transaction, wait for connector statuses.

Every step waits for what the CSMS or the probe saw, never for time to pass.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sim.csms import LocalCsms
from sim.csms.state import Transaction
from tests.e2e.harness import ChargerUnderTest
from tests.e2e.probe import Probe, ProbeEvse


async def boot(charger: ChargerUnderTest) -> Probe:
    """Start the charger and wait until the CSMS has every connector Available (connectors 0, 1, 2)."""
    probe = await charger.start()
    await charger.csms.wait_for("BootNotification", timeout=30)
    for connector in (0, 1, 2):
        await wait_status(charger.csms, connector, "Available")
    return probe


async def wait_status(csms: LocalCsms, connector: int, status: str, after: int = 0,
                      timeout: float = 15) -> dict[str, Any]:
    return await csms.wait_for("StatusNotification",
                               lambda p: p["connectorId"] == connector and p["status"] == status,
                               timeout=timeout, after_index=after)


async def charging(csms: LocalCsms, evse: ProbeEvse, id_tag: str = "RFID_VALID1",
                   plug_first: bool = True) -> Transaction:
    """A transaction the CSMS accepted, with the connector Charging (plug-in, authorization, start)."""
    mark = csms.mark()
    if plug_first:
        await evse.plug_in()
        await wait_status(csms, evse.evse_id, "Preparing", mark)
    await evse.start_transaction(id_tag)
    transaction = await csms.wait_for_transaction(connector=evse.evse_id, after_index=mark)
    await wait_status(csms, evse.evse_id, "Charging", mark)
    return transaction


async def stopped(csms: LocalCsms, transaction: Transaction, after: int = 0) -> dict[str, Any]:
    """The StopTransaction of `transaction` as the CSMS received it."""
    return await csms.wait_for("StopTransaction", lambda p: p["transactionId"] == transaction.transaction_id,
                               after_index=after)


async def go_offline(charger: ChargerUnderTest, probe: Probe) -> None:
    """The CSMS goes away (socket closed, new handshakes refused) until `go_online`."""
    seen = len(probe.vars["ocpp.is_connected"])
    charger.csms.refuse_connections = True
    await charger.csms.drop()
    await probe.wait_var("ocpp.is_connected", lambda value: value is False, after=seen)


def go_online(charger: ChargerUnderTest) -> int:
    """The CSMS takes handshakes again; returns the record mark from which to wait for the reconnect."""
    charger.csms.refuse_connections = False
    return charger.csms.mark()


def provided_token(probe: Probe, id_tag: str) -> Any:
    """The OCPP module's auth_provider token for `id_tag`, once published."""
    return probe.wait_var("token_provider.provided_token", lambda t: t["id_token"]["value"] == id_tag)


async def wait_log(charger: ChargerUnderTest, text: str, timeout: float = 10) -> None:
    """Until the module's log (written by another process, so there is no event to await) contains `text`."""
    deadline = time.monotonic() + timeout
    while text not in charger.log_text():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not logged within {timeout}s")
        await asyncio.sleep(0.05)
