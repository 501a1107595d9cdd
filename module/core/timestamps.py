"""OCPP timestamps: UTC in ISO 8601 with a Z suffix, as every message of the charge point carries them."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(moment: datetime, timespec: str = "seconds") -> str:
    """An aware datetime as UTC text with a Z suffix."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_now(timespec: str = "seconds") -> str:
    """Now, to whole seconds (transactions, meter values) or `timespec="milliseconds"` (status, events)."""
    return utc_text(datetime.now(UTC), timespec)


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
