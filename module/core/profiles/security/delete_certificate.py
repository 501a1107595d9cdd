"""DeleteCertificate: a root named by its hash data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "DeleteCertificate"


async def handle(service: SecurityService, request: dict[str, Any]) -> dict[str, Any]:
    return {"status": await service.delete_certificate(request["certificateHashData"])}
