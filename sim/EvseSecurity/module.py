"""evse_security over a folder of PEM files; what the simulation cannot do (TPM, V2G OCSP) is answered as such."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from framework.module import Module
from sim.EvseSecurity import pki

log = logging.getLogger(__name__)

CA_DIRS = {"CSMS": "csms", "V2G": "v2g", "MO": "mo", "MF": "mf"}
INSTALLED_TYPES = {"CSMSRootCertificate": "CSMS", "V2GRootCertificate": "V2G", "MORootCertificate": "MO",
                   "MFRootCertificate": "MF"}
LEAF_NAME = "CSMS_LEAF"


#: EVerest's EvseSecurity options naming where each kind of certificate lives (EVerest's run configs set them).
CA_OPTIONS = {"CSMS": "csms_ca_bundle", "MF": "mf_ca_bundle", "MO": "mo_ca_bundle", "V2G": "v2g_ca_bundle"}
LEAF_OPTIONS = {"CSMS": ("csms_leaf_cert_directory", "csms_leaf_key_directory"),
                "V2G": ("secc_leaf_cert_directory", "secc_leaf_key_directory")}


class CertificateStore:
    """Trusted roots per CA type and the charge point's leaf certificates, in folders below `root` unless EVerest's
    path options place them elsewhere (a relative path is taken below `root`, as EVerest takes it below its
    certificate folder; a CA bundle file stands for the folder holding it: every *.pem there is trusted)."""

    def __init__(self, root: Path, places: dict[str, str] | None = None) -> None:
        self.root = root
        self.places = {k: v for k, v in (places or {}).items() if v}

    def _place(self, option: str, default: str) -> Path:
        return self.root / self.places.get(option, default)

    def ca_dir(self, ca_type: str) -> Path:
        path = self._place(CA_OPTIONS[ca_type], f"ca/{CA_DIRS[ca_type]}")
        return path.parent if path.suffix in {".pem", ".crt"} else path

    def leaf_paths(self, leaf_type: str) -> tuple[Path, Path]:
        default = f"client/{CA_DIRS[leaf_type]}"
        cert_option, key_option = LEAF_OPTIONS.get(leaf_type, ("", ""))
        return (self._place(cert_option, default) / f"{LEAF_NAME}.pem",
                self._place(key_option, default) / f"{LEAF_NAME}.key")

    def set_up(self, charge_point_id: str, organization: str, days: int) -> None:
        """Make the simulation's PKI once; an existing store is kept as it is."""
        for ca_type in CA_DIRS:
            self.ca_dir(ca_type).mkdir(parents=True, exist_ok=True)
        if self.ca_files("CSMS"):
            return
        root_pem = self.ca_dir("CSMS") / "CSMS_ROOT_CA.pem"
        root_key = pki.new_key()
        root = pki.issue(pki.name("Simulation CSMS Root CA", organization), root_key, None, root_key, days * 2,
                         ca=True)
        server_key, leaf_key = pki.new_key(), pki.new_key()
        server = pki.issue(pki.name("localhost", organization), server_key, root, root_key, days,
                           server_names=["localhost", "127.0.0.1"])
        leaf = pki.issue(pki.name(charge_point_id, organization), leaf_key, root, root_key, days, client=True)
        pki.write_pem(self.root / "private" / "CSMS_ROOT_CA.key", root_key)
        pki.write_pem(self.root / "server" / "CSMS_SERVER.pem", server)
        pki.write_pem(self.root / "server" / "CSMS_SERVER.key", server_key)
        cert_path, key_path = self.leaf_paths("CSMS")
        pki.write_pem(cert_path, leaf)
        pki.write_pem(key_path, leaf_key)
        pki.write_pem(root_pem, root)
        log.info("made a certificate store in %s", self.root)

    def ca_files(self, ca_type: str) -> list[Path]:
        return sorted(p for p in self.ca_dir(ca_type).glob("*.pem"))

    def roots(self, ca_type: str) -> list[x509.Certificate]:
        return [cert for path in self.ca_files(ca_type) for cert in pki.load_chain(path.read_bytes())]

    def leaf_chain(self, leaf_type: str) -> list[x509.Certificate]:
        cert_path, key_path = self.leaf_paths(leaf_type)
        if not (cert_path.exists() and key_path.exists()):
            return []
        return pki.load_chain(cert_path.read_bytes())


class EvseSecurity:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        folder = mod.config["certs_dir"] or str(Path(tempfile.gettempdir()) / f"evse-security-{mod.id}")
        options = [*CA_OPTIONS.values(), *(option for pair in LEAF_OPTIONS.values() for option in pair)]
        places = {option: mod.config.get(option, "") for option in options}
        self.store = CertificateStore(Path(folder), places)
        self.store.set_up(mod.config["charge_point_id"], mod.config["organization"],
                          int(mod.config["validity_days"]))

    def register(self) -> None:
        for cmd in (self.mod.interface_definitions.get("evse_security") or {}).get("cmds") or {}:
            self.mod.implement("main", cmd, getattr(self, cmd))

    async def _store_update(self, operation: str, **kind: str) -> None:
        await self.mod.publish("main", "certificate_store_update", {"operation": operation, **kind})

    # ------------------------------------------------------------ CA certificates
    async def install_ca_certificate(self, args: dict) -> str:
        ca_type = args["certificate_type"]
        try:
            certs = pki.load_chain(args["certificate"])
        except ValueError:
            return "InvalidFormat"
        if any(pki.expired(c) for c in certs):
            return "Expired"
        fingerprint = certs[0].fingerprint(hashes.SHA256()).hex()[:16]
        pki.write_pem(self.store.ca_dir(ca_type) / f"{fingerprint}.pem", *certs)
        await self._store_update("Installed", ca_certificate_type=ca_type)
        return "Accepted"

    def _installed(self, ca_type: str) -> list[tuple[Path, x509.Certificate, pki.HashData]]:
        roots = self.store.roots(ca_type)
        found = []
        for path in self.store.ca_files(ca_type):
            for cert in pki.load_chain(path.read_bytes()):
                issuer = next((r for r in roots if pki.signed_by(cert, r)), cert)
                found.append((path, cert, pki.HashData.of(cert, issuer)))
        return found

    async def delete_certificate(self, args: dict) -> str:
        wanted = args["certificate_hash_data"]
        for ca_type in CA_DIRS:
            for path, cert, _ in self._installed(ca_type):
                issuer = next((r for r in self.store.roots(ca_type) if pki.signed_by(cert, r)), cert)
                if pki.HashData.of(cert, issuer, wanted["hash_algorithm"]).matches(wanted):
                    path.unlink()
                    await self._store_update("Deleted", ca_certificate_type=ca_type)
                    return "Accepted"
        return "NotFound"

    def get_installed_certificates(self, args: dict) -> dict:
        chains = [{"certificate_type": kind, "certificate_hash_data": data.as_dict()}
                  for kind in args["certificate_types"] if kind in INSTALLED_TYPES
                  for _, _, data in self._installed(INSTALLED_TYPES[kind])]
        if "V2GCertificateChain" in args["certificate_types"]:
            chain = self.store.leaf_chain("V2G")
            if chain:
                chains.append(self._chain_entry("V2GCertificateChain", chain, self.store.roots("V2G")))
        return {"status": "Accepted" if chains else "NotFound", "certificate_hash_data_chain": chains}

    @staticmethod
    def _chain_entry(kind: str, chain: list[x509.Certificate], roots: list[x509.Certificate]) -> dict:
        issuers = [*chain[1:], next((r for r in roots if pki.signed_by(chain[-1], r)), chain[-1])]
        data = [pki.HashData.of(c, i).as_dict() for c, i in zip(chain, issuers, strict=True)]
        return {"certificate_type": kind, "certificate_hash_data": data[0], "child_certificate_hash_data": data[1:]}

    def is_ca_certificate_installed(self, args: dict) -> bool:
        return bool(self.store.ca_files(args["certificate_type"]))

    def get_verify_file(self, args: dict) -> str:
        """A bundle of every trusted certificate of that type, rebuilt on each call; "" when there is none."""
        ca_type = args["certificate_type"]
        certs = self.store.roots(ca_type)
        if not certs:
            return ""
        bundle = self.store.root / "ca" / f"{CA_DIRS[ca_type]}_bundle.pem"
        return str(pki.write_pem(bundle, *certs))

    def get_verify_location(self, args: dict) -> str:
        return str(self.store.ca_dir(args["certificate_type"]))

    # ------------------------------------------------------------ leaf certificates
    def generate_certificate_signing_request(self, args: dict) -> dict:
        if args["use_tpm"]:
            return {"status": "KeyGenError"}  # the simulation has no TPM
        leaf_type = args["certificate_type"]
        key = pki.new_key()
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(pki.name(args["common"], args["organization"], args["country"]))
               .sign(key, hashes.SHA256()))
        pki.write_pem(self.store.root / "pending" / f"{CA_DIRS[leaf_type]}.key", key)
        return {"status": "Accepted", "csr": csr.public_bytes(serialization.Encoding.PEM).decode()}

    async def update_leaf_certificate(self, args: dict) -> str:
        leaf_type = args["certificate_type"]
        try:
            chain = pki.load_chain(args["certificate_chain"])
        except ValueError:
            return "InvalidFormat"
        pending = self.store.root / "pending" / f"{CA_DIRS[leaf_type]}.key"
        if not pending.exists():
            return "InvalidCertificateChain"  # no key from a signing request for this certificate
        key = serialization.load_pem_private_key(pending.read_bytes(), None)
        if pki.public_key_bits(chain[0]) != pki.public_key_bits_of_key(key):
            return "InvalidCertificateChain"
        roots = self.store.roots("V2G" if leaf_type == "V2G" else "CSMS")
        if not roots:
            return "NoRootCertificateInstalled"
        result = pki.verify_chain(chain, roots)
        if result != "Valid":
            return {"Expired": "Expired", "InvalidLeafSignature": "InvalidSignature"}.get(result,
                                                                                           "InvalidCertificateChain")
        cert_path, key_path = self.store.leaf_paths(leaf_type)
        pki.write_pem(cert_path, *chain)
        pki.write_pem(key_path, key)
        pending.unlink()
        await self._store_update("Installed", leaf_certificate_type=leaf_type)
        return "Accepted"

    def verify_certificate(self, args: dict) -> str:
        try:
            chain = pki.load_chain(args["certificate_chain"])
        except ValueError:
            return "Unknown"
        results = [pki.verify_chain(chain, self.store.roots("V2G" if t == "V2G" else t))
                   for t in args["certificate_types"]]
        return "Valid" if "Valid" in results else (results[0] if results else "Unknown")

    def _leaf_info(self, leaf_type: str, encoding: str) -> dict | None:
        chain = self.store.leaf_chain(leaf_type)
        if not chain:
            return None
        cert_path, key_path = self.store.leaf_paths(leaf_type)
        single = cert_path.with_name(f"{LEAF_NAME}_single.pem")
        pki.write_pem(single, chain[0])
        if encoding == "DER":
            single = cert_path.with_name(f"{LEAF_NAME}.der")
            single.write_bytes(chain[0].public_bytes(serialization.Encoding.DER))
        return {"key": str(key_path), "certificate": str(cert_path), "certificate_single": str(single),
                "certificate_count": len(chain)}

    def get_leaf_certificate_info(self, args: dict) -> dict:
        info = self._leaf_info(args["certificate_type"], args["encoding"])
        return {"status": "Accepted", "info": info} if info else {"status": "NotFound"}

    def get_all_valid_certificates_info(self, args: dict) -> dict:
        info = self._leaf_info(args["certificate_type"], args["encoding"])
        if info is None:
            return {"status": "NotFound", "info": []}
        if pki.expired(self.store.leaf_chain(args["certificate_type"])[0]):
            return {"status": "NotFoundValid", "info": []}
        return {"status": "Accepted", "info": [info]}

    def get_leaf_expiry_days_count(self, args: dict) -> int:
        chain = self.store.leaf_chain(args["certificate_type"])
        if not chain:
            return 0
        return max(0, (chain[0].not_valid_after_utc - dt.datetime.now(dt.UTC)).days)

    def verify_file_signature(self, args: dict) -> bool:
        try:
            cert = pki.load_chain(args["signing_certificate"])[0]
            signature = base64.b64decode(args["signature"], validate=True)
            data = Path(args["file_path"]).read_bytes()
        except (ValueError, binascii.Error, OSError) as exc:
            log.info("file signature not verified: %s", exc)
            return False
        return pki.verify_signature(data, cert, signature)

    # ------------------------------------------------------------ OCSP (ISO 15118 only; no V2G chain here)
    def get_v2g_ocsp_request_data(self, args: dict) -> dict:
        chain = self.store.leaf_chain("V2G")
        return {"ocsp_request_data_list": self._ocsp_entries(chain, self.store.roots("V2G"))}

    def get_mo_ocsp_request_data(self, args: dict) -> dict:
        try:
            chain = pki.load_chain(args["certificate_chain"])
        except ValueError:
            return {"ocsp_request_data_list": []}
        return {"ocsp_request_data_list": self._ocsp_entries(chain, self.store.roots("MO"))}

    @staticmethod
    def _ocsp_entries(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> list[dict]:
        entries = []
        for index, cert in enumerate(chain):
            issuer = chain[index + 1] if index + 1 < len(chain) else next(
                (r for r in roots if pki.signed_by(cert, r)), None)
            if issuer is None or issuer == cert:
                continue
            entry = {"certificate_hash_data": pki.HashData.of(cert, issuer).as_dict()}
            try:
                access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
                urls = [a.access_location.value for a in access
                        if a.access_method == x509.oid.AuthorityInformationAccessOID.OCSP]
                if urls:
                    entry["responder_url"] = urls[0]
            except x509.ExtensionNotFound:
                pass
            entries.append(entry)
        return entries

    def update_ocsp_cache(self, args: dict) -> None:
        serial = str(args["certificate_hash_data"]["serial_number"])
        path = self.store.root / "ocsp" / f"{serial}.ocsp"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args["ocsp_response"])
        log.info("OCSP response cached for serial %s", serial)


async def main() -> None:
    mod = await Module.connect()
    security = EvseSecurity(mod)
    security.register()
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await mod.close()
