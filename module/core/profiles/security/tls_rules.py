"""The configuration keys that shape the CSMS TLS connection, as LinkSettings fields (module start and tests
build the link from the same rules)."""

from __future__ import annotations

from typing import Any

from module.config.charge_point_config import ChargePointConfig


def tls_rules(cfg: ChargePointConfig) -> dict[str, Any]:
    """SupportedCiphers12/13, UseSslDefaultVerifyPaths, VerifyCsmsCommonName, VerifyCsmsAllowWildcards."""
    return {
        "ciphers12": tuple(cfg.get("SupportedCiphers12") or ()),
        "ciphers13": tuple(cfg.get("SupportedCiphers13") or ()),
        "use_default_verify_paths": bool(cfg.get("UseSslDefaultVerifyPaths")),
        "verify_common_name": cfg.get("VerifyCsmsCommonName") is not False,
        "allow_wildcards": bool(cfg.get("VerifyCsmsAllowWildcards")),
    }
