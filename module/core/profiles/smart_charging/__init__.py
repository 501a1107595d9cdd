"""The SmartCharging profile: charging profiles (SetChargingProfile, ClearChargingProfile), composite schedules
(GetCompositeSchedule) and the limits they put on the EVSEs through the energy sinks."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.smart_charging import clear_charging_profile, get_composite_schedule, set_charging_profile
from module.core.profiles.smart_charging.service import SmartChargingService

PROFILE: Profile[SmartChargingService] = Profile(
    name="SmartCharging",
    make_service=SmartChargingService,
    operations=tuple(Operation(module.ACTION, module.handle) for module in (
        set_charging_profile, clear_charging_profile, get_composite_schedule)),
)
