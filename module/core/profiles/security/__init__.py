"""The OCPP 1.6 Security whitepaper: security profiles at run time, certificates through the charger's store,
ExtendedTriggerMessage, GetLog and SignedUpdateFirmware. Not a SupportedFeatureProfiles value, so always on and
never advertised."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.security import (
    certificate_signed,
    delete_certificate,
    extended_trigger_message,
    get_installed_certificate_ids,
    get_log,
    install_certificate,
    signed_update_firmware,
)
from module.core.profiles.security.service import SecurityService

PROFILE: Profile[SecurityService] = Profile(
    name="Security",
    make_service=SecurityService,
    operations=tuple(Operation(module.ACTION, module.handle) for module in (
        certificate_signed, delete_certificate, extended_trigger_message, get_installed_certificate_ids,
        install_certificate, get_log, signed_update_firmware)),
    advertised=False,
)
