"""Reservations kept by the Auth module: per EVSE or global (evse 0), each with its expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class Reservation:
    reservation_id: int
    id_token: str
    expiry: datetime
    evse_id: int | None = None  # None = global reservation (any EVSE)
    parent_id_token: str | None = None

    @classmethod
    def from_request(cls, request: dict) -> Reservation:
        expiry = datetime.fromisoformat(request["expiry_time"].replace("Z", "+00:00"))
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=UTC)
        return cls(request["reservation_id"], request["id_token"], expiry, request.get("evse_id") or None,
                   request.get("parent_id_token"))

    def seconds_left(self) -> float:
        return (self.expiry - datetime.now(UTC)).total_seconds()

    def accepts(self, id_token: str, parent_id_token: str | None) -> bool:
        """The reserved token itself, or any token of the same group (parent id token)."""
        if id_token == self.id_token:
            return True
        return bool(self.parent_id_token) and parent_id_token == self.parent_id_token

    def check(self, id_token: str, group_id_token: str | None) -> str:
        """The ReservationCheckStatus for this token."""
        if self.accepts(id_token, group_id_token):
            return "ReservedForToken"
        return "ReservedForOtherTokenAndHasParentToken" if self.parent_id_token else "ReservedForOtherToken"
