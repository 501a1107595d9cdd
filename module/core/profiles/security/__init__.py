"""The OCPP 1.6 Security whitepaper: security profiles at run time, certificates through the charger's store,
ExtendedTriggerMessage. Not a SupportedFeatureProfiles value, so always on and never advertised."""

from __future__ import annotations

from module.core.profile import Profile
from module.core.profiles.security.service import SecurityService

PROFILE: Profile[SecurityService] = Profile(
    name="Security",
    make_service=SecurityService,
    advertised=False,
)
