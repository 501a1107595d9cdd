"""The FirmwareManagement profile: UpdateFirmware and GetDiagnostics handed to the system module, their statuses
reported to the CSMS, and both status notifications on TriggerMessage."""

from __future__ import annotations

from module.core.profile import Operation, Profile
from module.core.profiles.firmware import get_diagnostics, update_firmware
from module.core.profiles.firmware.service import FirmwareService
from module.core.profiles.firmware.statuses import DIAGNOSTICS, FIRMWARE

PROFILE: Profile[FirmwareService] = Profile(
    name="FirmwareManagement",
    make_service=FirmwareService,
    operations=(Operation(update_firmware.ACTION, update_firmware.handle),
                Operation(get_diagnostics.ACTION, get_diagnostics.handle)),
    triggers={
        FIRMWARE: lambda service, _connector_id: service.trigger(FIRMWARE),
        DIAGNOSTICS: lambda service, _connector_id: service.trigger(DIAGNOSTICS),
    },
)
