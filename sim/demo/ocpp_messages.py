"""OCPP messages as the demo shows them, from the local CSMS's records or from the module's message log file.

With another CSMS the demo cannot see that CSMS's side, so it follows the charge point's own log
(`<MessageLogPath>/messages.jsonl`, one JSON object a frame) instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.csms import Record

POLL_S = 0.2


@dataclass(frozen=True)
class OcppMessage:
    """to_csms: True from the charge point, False from the CSMS, None for a connection event (kind says which)."""

    to_csms: bool | None
    kind: str
    action: str | None = None
    payload: Any = None


def from_record(record: Record) -> OcppMessage:
    if record.direction == "":
        return OcppMessage(None, record.kind, payload=record.payload)
    return OcppMessage(record.direction == "in", record.kind, record.action, record.payload)


def from_log_line(line: str) -> OcppMessage | None:
    """One messages.jsonl line; None when it is not a complete JSON object."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    if entry.get("direction") == "event":
        return OcppMessage(None, "event", payload=entry.get("frame"))
    try:
        frame = json.loads(entry.get("frame") or "")
    except ValueError:
        frame = None
    kind = str(entry.get("type"))
    payload: Any = None
    if isinstance(frame, list) and frame:
        payload = frame[3] if kind == "CALL" and len(frame) > 3 else frame[2] if len(frame) > 2 else None
        if kind == "CALLERROR":
            payload = dict(zip(("errorCode", "errorDescription", "errorDetails"), frame[2:5], strict=False))
    return OcppMessage(entry.get("direction") == "out", kind, entry.get("action"), payload)


async def follow_log(path: Path, sink: Callable[[OcppMessage], None]) -> None:
    """Call sink for every frame appended to the log from now on (survives rotation); runs until cancelled."""
    position = path.stat().st_size if path.exists() else 0
    inode = path.stat().st_ino if path.exists() else None
    pending = ""
    while True:
        await asyncio.sleep(POLL_S)  # a plain file has no change event to await
        if not path.exists():
            continue
        stat = path.stat()
        if stat.st_ino != inode or stat.st_size < position:
            inode, position, pending = stat.st_ino, 0, ""
        if stat.st_size == position:
            continue
        with path.open(encoding="utf-8", errors="replace") as f:
            f.seek(position)
            pending += f.read()
            position = f.tell()
        *lines, pending = pending.split("\n")
        for line in lines:
            message = from_log_line(line)
            if message is not None:
                sink(message)
