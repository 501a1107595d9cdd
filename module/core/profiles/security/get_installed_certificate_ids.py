"""GetInstalledCertificateIds: the hash data of the installed roots of one type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "GetInstalledCertificateIds"


async def handle(service: SecurityService, request: dict[str, Any]) -> dict[str, Any]:
    return await service.installed_certificate_ids(request["certificateType"])
