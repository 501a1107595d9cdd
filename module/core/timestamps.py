"""OCPP timestamps: UTC in ISO 8601 with a Z suffix, as every message of the charge point carries them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(timespec: str = "seconds") -> str:
    """Now, to whole seconds (transactions, meter values) or `timespec="milliseconds"` (status, events)."""
    return datetime.now(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """An OCPP dateTime as an aware datetime (one without an offset is taken as UTC); None when absent or not
    a dateTime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """An aware datetime as an OCPP dateTime, to whole seconds."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
