"""Security events: which are critical, the size limits of SecurityEventNotification, and where they go."""

from __future__ import annotations

from typing import Any

from module.core.context import CoreContext
from module.core.profile import ServiceBase
from module.core.timestamps import utc_now

TYPE_MAX = 50
TECH_INFO_MAX = 255

CRITICAL_SECURITY_EVENTS = frozenset({
    "FirmwareUpdated", "FailedToAuthenticateAtCsms", "CsmsFailedToAuthenticate", "SettingSystemTime",
    "FailedToAuthenticateAtCentralSystem", "CentralSystemFailedToAuthenticate", "InvalidCentralSystemCertificate",
    "StartupOfTheDevice", "ResetOrReboot", "SecurityLogWasCleared", "ReconfigurationOfSecurityParameters",
    "MemoryExhaustion", "InvalidMessages", "AttemptedReplayAttacks", "TamperDetectionActivated",
    "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate", "InvalidCsmsCertificate",
    "InvalidChargePointCertificate", "InvalidTLSVersion", "InvalidTLSCipherSuite"})


def is_critical(event_type: str, critical: bool | None) -> bool:
    """What the reporter says, else whether the whitepaper lists the type as critical."""
    return event_type in CRITICAL_SECURITY_EVENTS if critical is None else critical


def within_limits(event_type: str, info: str | None) -> tuple[str, str | None]:
    """Type and techInfo cut to what SecurityEventNotification allows (an empty info is no info)."""
    return event_type[:TYPE_MAX], (info or "")[:TECH_INFO_MAX] or None


class SecurityEventService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx

    async def report(self, event_type: str, info: str | None, critical: bool | None = None) -> None:
        """Written to the security log and published to the charger; critical ones also go to the CSMS durably
        (transactional lane: queued while offline, none lost)."""
        event_type, info = within_limits(event_type, info)
        critical = is_critical(event_type, critical)
        timestamp = utc_now("milliseconds")
        if self._ctx.security_log is not None:
            self._ctx.security_log.write(timestamp, event_type, info, critical)
        self._ctx.ports.events.security_event(event_type, info, critical)
        if not critical or self._ctx.cfg.get("DisableSecurityEventNotifications"):
            return
        payload: dict[str, Any] = {"type": event_type, "timestamp": timestamp}
        if info:
            payload["techInfo"] = info
        await self._ctx.queue.enqueue_transactional("SecurityEventNotification", payload)
