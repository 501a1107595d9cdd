"""Records external limits: the visible end of OCPP smart charging in the simulation."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from framework.module import Module

log = logging.getLogger(__name__)


def summary(limits: dict) -> str:
    """The first import limit, in the unit it was given, for the log line."""
    schedule = limits.get("schedule_import") or []
    if not schedule:
        return "no import limit"
    leaves = schedule[0].get("limits_to_leaves") or {}
    parts = [f"{key}={value.get('value')}" for key, value in leaves.items() if isinstance(value, dict)]
    return f"{len(schedule)} period(s), first from {schedule[0]['timestamp']}: {', '.join(parts) or 'none'}"


async def main() -> None:
    mod = await Module.connect()
    record = Path(mod.config["record_file"]) if mod.config["record_file"] else None
    received: list[dict] = []

    def set_external_limits(args: dict) -> None:
        limits = args["value"]
        received.append(limits)
        log.info("external limits (%d so far): %s", len(received), summary(limits))
        if record is not None:
            record.parent.mkdir(parents=True, exist_ok=True)
            with record.open("a") as out:
                out.write(json.dumps(limits) + "\n")

    mod.implement("external_limits", "set_external_limits", set_external_limits)
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await mod.close()
