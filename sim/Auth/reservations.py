"""Reservations as EVerest's Auth module keeps them: per EVSE or for any EVSE (no evse id), each with its expiry,
their rules for who may charge where, and the file that keeps them across restarts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Reservation:
    reservation_id: int
    id_token: str
    expiry_time: str
    evse_id: int | None = None  # None: for any EVSE (OCPP's connector 0)
    parent_id_token: str | None = None

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> Reservation:
        return cls(request["reservation_id"], request["id_token"], request["expiry_time"],
                   request.get("evse_id") or None, request.get("parent_id_token"))

    @property
    def expiry(self) -> datetime:
        expiry = datetime.fromisoformat(self.expiry_time.replace("Z", "+00:00"))
        return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)

    def seconds_left(self) -> float:
        return (self.expiry - datetime.now(UTC)).total_seconds()

    def accepts(self, id_token: str, parent_id_token: str | None) -> bool:
        """The reserved token itself, or any token of the same group (parent id token)."""
        if id_token == self.id_token:
            return True
        return bool(self.parent_id_token) and parent_id_token == self.parent_id_token


def check(reservations: Iterable[Reservation], evse_id: int | None, id_token: str, group_id_token: str | None) -> str:
    """exists_reservation's ReservationCheckStatus, as EVerest's Auth answers it: the EVSE's own reservation
    decides; without one (or without an EVSE) only a reservation for this token counts. A reservation with a
    parent token that the caller could not name a group for leaves the decision to the token's parent."""
    reservations = list(reservations)
    own = next((r for r in reservations if evse_id is not None and r.evse_id == evse_id), None)
    if own is None:
        mine = any(r.accepts(id_token, group_id_token) for r in reservations
                   if evse_id is None or r.evse_id is None)
        return "ReservedForToken" if mine else "NotReserved"
    if own.accepts(id_token, group_id_token):
        return "ReservedForToken"
    if group_id_token is None and own.parent_id_token:
        return "ReservedForOtherTokenAndHasParentToken"
    return "ReservedForOtherToken"


def admits(reservations: Iterable[Reservation], evse_id: int, id_token: str, parent_id_token: str | None,
           free_elsewhere: int) -> tuple[bool, Reservation | None]:
    """Whether a token may charge at an EVSE, and the reservation it uses there. The EVSE's own reservation
    decides; otherwise a reservation for any EVSE that is the token's, or else the token takes the EVSE only
    while the free unreserved EVSEs elsewhere still cover every reservation for any EVSE."""
    reservations = list(reservations)
    own = next((r for r in reservations if r.evse_id == evse_id), None)
    if own is not None:
        return own.accepts(id_token, parent_id_token), own
    anywhere = [r for r in reservations if r.evse_id is None]
    mine = next((r for r in anywhere if r.accepts(id_token, parent_id_token)), None)
    if mine is not None:
        return True, mine
    return free_elsewhere >= len(anywhere), None


class ReservationFile:
    """The reservations on disk, rewritten whole on every change, so a killed process loses none: EVerest's Auth
    keeps them in its (optional) kvs store and places them again at start. No path: nothing is kept."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> list[Reservation]:
        if self.path is None or not self.path.exists():
            return []
        return [Reservation(**entry) for entry in json.loads(self.path.read_text())]

    def save(self, reservations: Iterable[Reservation]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(self.path.suffix + ".tmp")
        partial.write_text(json.dumps([asdict(r) for r in reservations], indent=2) + "\n")
        partial.replace(self.path)
