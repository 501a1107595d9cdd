"""Certificate making and checking with `cryptography`: the simulation's small PKI and OCPP certificate hash data."""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HASHES = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def name(common: str, organization: str, country: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                                  organization)]
    if country:
        parts.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    return x509.Name(parts)


def issue(subject: x509.Name, key, issuer: x509.Certificate | None, issuer_key, days: int, *, ca: bool = False,
          server_names: list[str] | None = None, client: bool = False) -> x509.Certificate:
    """A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is None)."""
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.subject if issuer else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server_names:
        alt = [x509.IPAddress(ipaddress.ip_address(n)) if n.replace(".", "").isdigit() else x509.DNSName(n)
               for n in server_names]
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pem(path: Path, *items) -> Path:
    """Certificates and private keys as PEM, in order; keys are written readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            blob += item.public_bytes(serialization.Encoding.PEM)
        else:
            blob += item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    path.write_bytes(blob)
    if any(not isinstance(item, x509.Certificate) for item in items):
        path.chmod(0o600)
    return path


def load_chain(pem: str | bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM text; ValueError when there is none or one is broken."""
    data = pem.encode() if isinstance(pem, str) else pem
    certs = x509.load_pem_x509_certificates(data)
    if not certs:
        raise ValueError("no certificate")
    return certs


def expired(cert: x509.Certificate) -> bool:
    now = dt.datetime.now(dt.UTC)
    return not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc)


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def verify_chain(chain: list[x509.Certificate], roots: list[x509.Certificate]) -> str:
    """A CertificateValidationResult: each certificate signed by the next, the last by a trusted root."""
    if not roots:
        return "IssuerNotFound"
    for cert, issuer in itertools.pairwise(chain):
        if not signed_by(cert, issuer):
            return "InvalidChain" if cert is not chain[0] else "InvalidLeafSignature"
    top = chain[-1]
    if not any(signed_by(top, root) or top == root for root in roots):
        return "IssuerNotFound" if not any(top.issuer == r.subject for r in roots) else "InvalidSignature"
    if any(expired(c) for c in chain):
        return "Expired"
    return "Valid"


def public_key_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING contents, which OCPP hashes as issuerKeyHash."""
    return _key_bits(cert.public_key())


def public_key_bits_of_key(private_key) -> bytes:
    return _key_bits(private_key.public_key())


def _key_bits(key) -> bytes:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def _digest(algorithm: str, data: bytes) -> str:
    h = hashes.Hash(HASHES[algorithm]())
    h.update(data)
    return h.finalize().hex()


@dataclass(frozen=True)
class HashData:
    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    @classmethod
    def of(cls, cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256") -> HashData:
        return cls(algorithm, _digest(algorithm, cert.issuer.public_bytes()),
                   _digest(algorithm, public_key_bits(issuer)), format(cert.serial_number, "x"))

    def as_dict(self) -> dict:
        return {"hash_algorithm": self.hash_algorithm, "issuer_name_hash": self.issuer_name_hash,
                "issuer_key_hash": self.issuer_key_hash, "serial_number": self.serial_number}

    def matches(self, other: dict) -> bool:
        return (self.issuer_name_hash.lower() == str(other["issuer_name_hash"]).lower()
                and self.issuer_key_hash.lower() == str(other["issuer_key_hash"]).lower()
                and self.serial_number.lstrip("0").lower() == str(other["serial_number"]).lstrip("0").lower())


def verify_signature(data: bytes, cert: x509.Certificate, signature: bytes) -> bool:
    """SHA-256 signature of `data` by the certificate's key (ECDSA or RSA PKCS#1 v1.5)."""
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True
