"""The latest energy reading of every running transaction, kept on disk for a PowerLoss StopTransaction.

After a power cut the EVSE's session is gone (EVerest's EVSE manager starts a new one; only a restart of the
OCPP side alone is met by SessionResumed), so the only trustworthy meterStop is the last reading that reached
the disk before the cut. A reading after the restart may come from a meter that went on counting for another
session, so it is never used. Readings are grouped: every reading is noted, and all noted ones are written in
one transaction at most FLUSH_S later, so the loss is bounded by FLUSH_S of charging at any number of EVSEs,
for one disk write per FLUSH_S. The write is not fsynced: it survives a process kill at once and an OS crash
after the kernel's writeback; a MeterValues the CSMS received is journaled durably with its message.
"""

from __future__ import annotations

import asyncio
import logging

from module.clock import Clock
from module.v16.transactions import TransactionStore

log = logging.getLogger(__name__)

FLUSH_S = 0.25


class MeterJournal:
    def __init__(self, store: TransactionStore, clock: Clock, flush_s: float = FLUSH_S) -> None:
        self._store = store
        self._clock = clock
        self._flush_s = flush_s
        self._pending: dict[str, tuple[float, str]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def note(self, session_id: str, energy_wh: float, timestamp: str) -> None:
        """Remember a reading; it reaches the disk within FLUSH_S."""
        self._pending[session_id] = (energy_wh, timestamp)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_later())

    def forget(self, session_id: str) -> None:
        """The transaction stopped: its StopTransaction carries the final reading."""
        self._pending.pop(session_id, None)

    def flush(self) -> None:
        """Write every noted reading now, in one transaction."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            self._store.record_meters(pending)
        except Exception:  # a full disk must not stop the metering; the next flush tries again
            log.exception("journaling %d meter readings failed", len(pending))
            self._pending = {**pending, **self._pending}

    def close(self) -> None:
        """Flush and end the timer (an orderly stop loses nothing)."""
        if self._flusher is not None:
            self._flusher.cancel()
        self.flush()

    async def _flush_later(self) -> None:
        await self._clock.sleep(self._flush_s)
        self.flush()
