"""The security requirement (evse_security): the TLS files the link needs for security profiles 2 and 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from framework.module import Module
from module.impl.requirements.command import call


async def tls_settings(mod: Module, security_profile: int) -> dict[str, Any]:
    """CSMS trust anchors (2, 3) and the charge point's client certificate and key (3), as LinkSettings fields."""
    tls: dict[str, Any] = {}
    if security_profile < 2:
        return tls
    security = mod.requirement("security")
    verify_file = await call(security, "get_verify_file", {"certificate_type": "CSMS"})
    verify_dir = await call(security, "get_verify_location", {"certificate_type": "CSMS"})
    tls["ca_file"] = Path(verify_file) if verify_file else None
    tls["ca_dir"] = Path(verify_dir) if verify_dir and not verify_file else None
    if security_profile == 3:
        leaf = await call(security, "get_leaf_certificate_info",
                          {"certificate_type": "CSMS", "encoding": "PEM", "include_ocsp": False})
        info = leaf.get("info") or {}
        if leaf.get("status") == "Accepted" and info.get("key"):
            tls["client_cert"] = Path(info.get("certificate") or info["certificate_single"])
            tls["client_key"] = Path(info["key"])
            tls["client_key_password"] = info.get("password")
    return tls
