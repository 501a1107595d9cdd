"""OCPP timestamps: UTC in ISO 8601 with a Z suffix, as every message of the charge point carries them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(timespec: str = "seconds") -> str:
    """Now, to whole seconds (transactions, meter values) or `timespec="milliseconds"` (status, events)."""
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
