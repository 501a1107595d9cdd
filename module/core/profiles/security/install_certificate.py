"""InstallCertificate: a CSMS or manufacturer root into the charger's certificate store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "InstallCertificate"


async def handle(service: SecurityService, request: dict[str, Any]) -> dict[str, Any]:
    return {"status": await service.install_certificate(request["certificateType"], request["certificate"])}
