"""The CSMS's message log: every frame and connection event, in order, awaitable so tests never sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Record kinds for frames, and for connection events (direction "").
CALL, CALLRESULT, CALLERROR, INVALID = "CALL", "CALLRESULT", "CALLERROR", "INVALID"
CONNECTED, DISCONNECTED, REJECTED = "CONNECTED", "DISCONNECTED", "REJECTED"

# Configuration keys whose values are secrets and never leave the process in the event stream.
_SECRET_KEYS = {"AuthorizationKey"}


@dataclass(frozen=True)
class Record:
    """One message or connection event. direction: "in" (from the charge point), "out" (to it) or ""."""

    index: int
    time: float
    cp_id: str
    direction: str
    kind: str
    action: str | None = None
    unique_id: str | None = None
    payload: Any = None
    raw: str | None = field(default=None, repr=False)

    def to_event(self) -> dict[str, Any]:
        """JSON-able form for the event stream, without the raw frame and with secret values masked."""
        payload = self.payload
        if (
            self.action == "ChangeConfiguration"
            and isinstance(payload, dict)
            and payload.get("key") in _SECRET_KEYS
            and "value" in payload
        ):
            payload = {**payload, "value": "***"}
        return {
            "index": self.index,
            "time": self.time,
            "cp_id": self.cp_id,
            "direction": self.direction,
            "kind": self.kind,
            "action": self.action,
            "unique_id": self.unique_id,
            "payload": payload,
        }


class MessageLog:
    """Append-only list of records with an await-until-match API."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[Record], None]] = []

    def add_listener(self, listener: Callable[[Record], None]) -> None:
        """Call listener(record) for every record appended from now on."""
        self._listeners.append(listener)

    def append(self, cp_id: str, direction: str, kind: str, **fields: Any) -> Record:
        record = Record(len(self.records), time.time(), cp_id, direction, kind, **fields)
        self.records.append(record)
        self._changed.set()
        self._changed = asyncio.Event()
        for listener in self._listeners:
            listener(record)
        return record

    def mark(self) -> int:
        """Index of the next record: pass it as after_index to wait only for what happens from now on."""
        return len(self.records)

    def find(self, match: Callable[[Record], bool], after_index: int = 0) -> Record | None:
        return next((r for r in self.records[after_index:] if match(r)), None)

    async def wait(self, match: Callable[[Record], bool], timeout: float, after_index: int = 0) -> Record:
        """First record at or after after_index that matches; TimeoutError naming what was seen instead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        start = after_index
        while True:
            found = self.find(match, start)
            if found is not None:
                return found
            start = max(start, len(self.records))
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{r.direction}:{r.kind}:{r.action}" for r in self.records[after_index:]][-20:]
                raise TimeoutError(f"no matching record within {timeout}s; seen after {after_index}: {seen}")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
