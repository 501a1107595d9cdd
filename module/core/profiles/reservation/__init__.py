"""The Reservation profile: ReserveNow and CancelReservation through the charger's reservation module."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.reservation import cancel_reservation, reserve_now
from module.core.profiles.reservation.service import ReservationService

PROFILE: Profile[ReservationService] = Profile(
    name="Reservation",
    make_service=ReservationService,
    operations=(Operation(reserve_now.ACTION, reserve_now.handle),
                Operation(cancel_reservation.ACTION, cancel_reservation.handle)),
    answers_when_unsupported={reserve_now.ACTION: {"status": "Rejected"}},
)
