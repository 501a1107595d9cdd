"""Reservations as EVerest's OCPP module makes them: the charger's reservation module (EVerest's Auth) keeps them.

The module reserves the EVSE, runs the expiry timer and consumes a reservation when its driver starts; the EVSE
reports ReservationStart / ReservationEnd as session events, which drive Reserved through the connector statuses
(core/session_events.py). This service only answers the CSMS, so it has no tables and nothing to recover after a
power cut: the reservation module keeps its reservations and the EVSE reports them again.

Decisions, where libocpp (EVerest), the 1.6 spec and the module's answer could differ:
- The connector's own status answers first, as libocpp does for Faulted and Preparing: Faulted -> Faulted,
  Unavailable -> Unavailable, a session on it (Preparing .. Finishing) -> Occupied; the spec lists these outcomes
  for those states. Only then is the module asked (it knows the other reservations: a reserved connector is
  Occupied unless the same reservationId comes again, which replaces the reservation).
- Connector 0 is reserved only when ReserveConnectorZeroSupported is true (then without an EVSE id), an unknown
  connector or an expiryDate that is no date is Rejected, and so is a failing command.
- With Reservation left out of SupportedFeatureProfiles, ReserveNow is still answered, Rejected ("not configured
  to accept reservations"), as libocpp does and EVerest's test_reservation_connector_rejected expects;
  CancelReservation then gets NotSupported like every action of a profile that is off (libocpp too).
"""

from __future__ import annotations

import logging

from module.core.authorization import parse_time
from module.core.connector_status import Status
from module.core.context import CoreContext, command
from module.core.profile import ServiceBase
from module.core.timestamps import utc_text

log = logging.getLogger(__name__)

RESULTS = frozenset({"Accepted", "Faulted", "Occupied", "Rejected", "Unavailable"})
_BY_STATUS = {Status.FAULTED: "Faulted", Status.UNAVAILABLE: "Unavailable", Status.PREPARING: "Occupied",
              Status.CHARGING: "Occupied", Status.SUSPENDED_EV: "Occupied", Status.SUSPENDED_EVSE: "Occupied",
              Status.FINISHING: "Occupied"}


class ReservationService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx

    async def reserve(self, reservation_id: int, connector_id: int, id_tag: str, expiry_date: str,
                      parent_id_tag: str | None) -> str:
        """ReserveNow's status."""
        if connector_id == 0 and not self._ctx.cfg.get("ReserveConnectorZeroSupported"):
            return "Rejected"
        if connector_id != 0 and connector_id not in self._ctx.connector_ids:
            return "Rejected"
        refused = _BY_STATUS.get(self._ctx.notifier.status(connector_id))
        if refused is not None:
            return refused
        expiry = parse_time(expiry_date)
        if expiry is None:
            return "Rejected"
        result = await command("reserve_now", self._ctx.ports.reservation.reserve_now(
            reservation_id, connector_id, id_tag, utc_text(expiry), parent_id_tag), "Rejected")
        if result not in RESULTS:
            log.warning("reserve_now answered %r, which is no ReservationStatus: Rejected", result)
            return "Rejected"
        return result

    async def cancel(self, reservation_id: int) -> str:
        """CancelReservation's status: Rejected when the module knows no reservation of that id."""
        cancelled = await command("cancel_reservation",
                                  self._ctx.ports.reservation.cancel_reservation(reservation_id), False)
        return "Accepted" if cancelled else "Rejected"
