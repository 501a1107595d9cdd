"""Many EVSEs charging at once: the scenario the scale test checks for correctness and bench/scale.py times.

The CSMS's records are followed by a listener rather than with `wait_for`, which scans the log from its start on
every wake and turns quadratic with 128 EVSEs metering every second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.csms import LocalCsms
from sim.csms.records import CALL, Record
from sim.csms.state import Transaction
from tests.e2e.harness import CHARGE_POINT_ID
from tests.e2e.probe import Probe


@dataclass
class FleetObserver:
    """What the CSMS received, indexed as it arrives: when (wall clock, `time.time()`) and what."""

    csms: LocalCsms
    boot_at: float | None = None
    statuses: dict[int, str] = field(default_factory=dict)  # connector -> latest status
    start_at: dict[int, float] = field(default_factory=dict)  # connector -> StartTransaction received
    meter_values: dict[int, int] = field(default_factory=dict)  # connector -> MeterValues received
    answering_s: float = 0.0
    """Seconds the CSMS spent between receiving a CALL and sending its answer, summed: its share of a burst."""
    _received: dict[str, float] = field(default_factory=dict)  # unique id of a CALL not yet answered -> when
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.csms.add_listener(self._record)

    def _record(self, record: Record) -> None:
        self._changed.set()  # the CSMS's state changes with its answers (CALLRESULT), which are records too
        if record.direction == "out" and record.unique_id in self._received:
            self.answering_s += record.time - self._received.pop(record.unique_id)
        if record.kind != CALL or record.direction != "in":
            return
        self._received[str(record.unique_id)] = record.time
        payload = record.payload
        if record.action == "BootNotification" and self.boot_at is None:
            self.boot_at = record.time
        elif record.action == "StatusNotification":
            self.statuses[payload["connectorId"]] = payload["status"]
        elif record.action == "StartTransaction":
            self.start_at.setdefault(payload["connectorId"], record.time)
        elif record.action == "MeterValues":
            connector = payload["connectorId"]
            self.meter_values[connector] = self.meter_values.get(connector, 0) + 1

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Until `done()` holds after some record arrived; TimeoutError naming `what` otherwise."""
        deadline = time.monotonic() + timeout
        while not done():
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not within {timeout} s: {what}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def transactions(self) -> dict[int, Transaction]:
        """The CSMS's transactions by connector (the latest of each)."""
        return {tx.connector_id: tx for tx in self.csms.transactions(CHARGE_POINT_ID)}


async def all_in(observer: FleetObserver, connectors: range, status: str, timeout: float = 60) -> None:
    """Until the latest status of every connector in `connectors` is `status`."""
    await observer.until(lambda: all(observer.statuses.get(c) == status for c in connectors), timeout,
                         f"{status} from connectors {connectors.start}..{connectors.stop - 1}")


async def start_all(probe: Probe, observer: FleetObserver, id_tag: Callable[[int], str],
                    timeout: float = 60) -> dict[int, float]:
    """Every EVSE plugged in (until the CSMS has every Preparing), then all of them start their transaction in
    the same loop turn; returns when each TransactionStarted was published (connector -> `time.time()`) once the
    CSMS has every StartTransaction."""
    for evse in probe.evses.values():
        await evse.plug_in()
    await all_in(observer, range(1, len(probe.evses) + 1), "Preparing", timeout)
    published = {}
    for number, evse in probe.evses.items():
        published[number] = time.time()
        await evse.start_transaction(id_tag(number))
    await observer.until(lambda: len(observer.start_at) == len(probe.evses) and
                         len(observer.transactions()) == len(probe.evses), timeout, "every StartTransaction")
    return published


async def stop_all(probe: Probe, observer: FleetObserver, timeout: float = 60) -> None:
    """Every EVSE ends its transaction (reason Local); until the CSMS has every StopTransaction."""
    for evse in probe.evses.values():
        await evse.stop_transaction("Local")
    await observer.until(lambda: all(tx.stopped for tx in observer.transactions().values()), timeout,
                         "every StopTransaction answered")
