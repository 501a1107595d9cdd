"""CertificateSigned: the CSMS's answer to our SignCertificate, a new charge point certificate chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "CertificateSigned"


async def handle(service: SecurityService, request: dict[str, Any]) -> Reply:
    return await service.certificate_signed(request["certificateChain"])
