"""The security requirement (evse_security) as the core's SecurityPort: TLS files for the link, the certificate
store behind the whitepaper's certificate operations, and CSRs. OCPP 1.6 names and camelCase hash data on the
core's side, evse_security's enums and snake_case on this one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from framework.module import Module
from module.impl.requirements.command import call

Command = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""One evse_security command: name, arguments -> result."""

CA_TYPES = {"CentralSystemRootCertificate": "CSMS", "ManufacturerRootCertificate": "MF"}
"""InstallCertificate's certificateType -> evse_security's CaCertificateType."""
INSTALLED_TYPES = {"CentralSystemRootCertificate": "CSMSRootCertificate",
                   "ManufacturerRootCertificate": "MFRootCertificate"}
"""GetInstalledCertificateIds' certificateType -> evse_security's CertificateType."""
HASH_FIELDS = {"hashAlgorithm": "hash_algorithm", "issuerNameHash": "issuer_name_hash",
               "issuerKeyHash": "issuer_key_hash", "serialNumber": "serial_number"}
LEAF = {"certificate_type": "CSMS", "encoding": "PEM", "include_ocsp": False}
"""The charge point certificate, as evse_security names the leaf the CSMS connection uses."""


def to_ocpp_hash(data: dict[str, Any]) -> dict[str, Any]:
    return {ocpp: data[ours] for ocpp, ours in HASH_FIELDS.items()}


def from_ocpp_hash(data: dict[str, Any]) -> dict[str, Any]:
    return {ours: data[ocpp] for ocpp, ours in HASH_FIELDS.items()}


class SecurityModule:
    """SecurityPort over evse_security commands; `command` is the framework call (or, in tests, the simulated
    store in process)."""

    def __init__(self, command: Command) -> None:
        self._command = command

    @classmethod
    def of(cls, mod: Module) -> SecurityModule:
        """The requirement is looked up at each call: a charger without one fails only what needs it."""
        return cls(lambda name, args: call(mod.requirement("security"), name, args))

    async def tls_files(self, security_profile: int) -> dict[str, Any]:
        tls: dict[str, Any] = {}
        if security_profile < 2:
            return tls
        verify_file = await self._command("get_verify_file", {"certificate_type": "CSMS"})
        verify_dir = await self._command("get_verify_location", {"certificate_type": "CSMS"})
        tls["ca_file"] = Path(verify_file) if verify_file else None
        tls["ca_dir"] = Path(verify_dir) if verify_dir and not verify_file else None
        if security_profile == 3:
            info = await self._leaf()
            if info is not None:
                tls["client_cert"] = Path(info.get("certificate") or info["certificate_single"])
                tls["client_key"] = Path(info["key"])
                tls["client_key_password"] = info.get("password")
        return tls

    async def _leaf(self) -> dict[str, Any] | None:
        leaf = await self._command("get_leaf_certificate_info", dict(LEAF))
        info = leaf.get("info") or {}
        return info if leaf.get("status") == "Accepted" and info.get("key") else None

    async def csms_root_installed(self) -> bool:
        return bool(await self._command("is_ca_certificate_installed", {"certificate_type": "CSMS"}))

    async def client_certificate_valid(self) -> bool:
        valid = await self._command("get_all_valid_certificates_info", dict(LEAF))
        return valid.get("status") == "Accepted" and bool(valid.get("info"))

    async def install_ca_certificate(self, certificate_type: str, certificate: str) -> str:
        result = await self._command("install_ca_certificate", {"certificate": certificate,
                                                                "certificate_type": CA_TYPES[certificate_type]})
        if result == "Accepted":
            return "Accepted"
        return "Failed" if result == "WriteError" else "Rejected"

    async def delete_certificate(self, hash_data: dict[str, Any]) -> str:
        result = await self._command("delete_certificate", {"certificate_hash_data": from_ocpp_hash(hash_data)})
        return result if result in ("Accepted", "NotFound") else "Failed"

    async def signed_by_csms_root(self, certificate: str) -> bool:
        result = await self._command("verify_certificate", {"certificate_chain": certificate,
                                                            "certificate_types": ["CSMS"]})
        return bool(result == "Valid")

    async def verify_firmware_signing_certificate(self, certificate: str) -> str:
        return str(await self._command("verify_certificate", {"certificate_chain": certificate,
                                                              "certificate_types": ["MF"]}))

    async def installed_certificates(self, certificate_type: str) -> list[dict[str, Any]]:
        result = await self._command("get_installed_certificates",
                                     {"certificate_types": [INSTALLED_TYPES[certificate_type]]})
        return [to_ocpp_hash(chain["certificate_hash_data"])
                for chain in result.get("certificate_hash_data_chain") or []]

    async def certificate_signing_request(self, organization: str, common_name: str, country: str) -> str | None:
        result = await self._command("generate_certificate_signing_request", {
            "certificate_type": "CSMS", "country": country, "organization": organization, "common": common_name,
            "use_tpm": False})
        return result.get("csr") if result.get("status") == "Accepted" else None

    async def install_client_certificate(self, chain: str) -> str:
        return str(await self._command("update_leaf_certificate",
                                       {"certificate_chain": chain, "certificate_type": "CSMS"}))

    async def client_certificate_days_left(self) -> int:
        return int(await self._command("get_leaf_expiry_days_count", {"certificate_type": "CSMS"}))
