"""The registered feature profiles. Adding one: a package beside these with its PROFILE, and a line here."""

from __future__ import annotations

from typing import Any

from module.core.profile import Profile
from module.core.profiles import (
    core,
    firmware,
    local_auth_list,
    remote_trigger,
    reservation,
    security,
    smart_charging,
)

PROFILES: tuple[Profile[Any], ...] = (
    core.PROFILE,
    remote_trigger.PROFILE,
    reservation.PROFILE,
    firmware.PROFILE,
    smart_charging.PROFILE,
    local_auth_list.PROFILE,
    security.PROFILE,
)


def profile_names() -> tuple[str, ...]:
    """What SupportedFeatureProfiles may list (the Security whitepaper is not a feature profile)."""
    return tuple(profile.name for profile in PROFILES if profile.advertised)
