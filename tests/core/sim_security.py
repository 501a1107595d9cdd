"""The charger's certificate store in process: the simulated evse_security (sim/EvseSecurity, a real PKI in a
folder) behind the module's own SecurityPort adapter, so tests/core exercise the adapter too; and the CSMS side
of that PKI (its server certificate, its root to sign charge point certificates with)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import inspect
import ipaddress
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from module.impl.requirements.security import SecurityModule
from sim.EvseSecurity import pki
from sim.EvseSecurity.module import EvseSecurity

ORGANIZATION = "Test CPO"


class _InProcessModule:
    """What EvseSecurity uses of its framework module."""

    def __init__(self, folder: Path, charge_point_id: str, validity_days: int) -> None:
        self.id = "security"
        self.config = {"certs_dir": str(folder), "charge_point_id": charge_point_id,
                       "organization": ORGANIZATION, "validity_days": validity_days}
        self.published: list[tuple[str, str, Any]] = []

    async def publish(self, impl: str, var: str, value: Any) -> None:
        self.published.append((impl, var, value))


class SimSecurity:
    """The simulated store in `folder` (made on first use: a CSMS root, a server certificate for 127.0.0.1 and
    localhost, a charge point certificate), and the adapter over it."""

    def __init__(self, folder: Path, charge_point_id: str, *, validity_days: int = 365) -> None:
        self.folder = folder
        self.store = EvseSecurity(_InProcessModule(folder, charge_point_id,  # type: ignore[arg-type]
                                                   validity_days))
        self.commands: list[str] = []
        self.port = SecurityModule(self._command)

    async def _command(self, name: str, args: dict[str, Any]) -> Any:
        self.commands.append(name)
        result = getattr(self.store, name)(args)
        return await result if inspect.isawaitable(result) else result

    @property
    def root_pem(self) -> Path:
        return self.store.store.ca_dir("CSMS") / "CSMS_ROOT_CA.pem"

    def server_context(self, *, client_certificates: bool = False, names: list[str] | None = None,
                       expired: bool = False) -> ssl.SSLContext:
        """The CSMS's TLS side; with `client_certificates` it asks for (and verifies) a charge point
        certificate without requiring one (profile 2 and 3 charge points on one server). `names` or `expired`:
        a server certificate of this root made for the test (for other host names; expired yesterday)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if names is None and not expired:
            context.load_cert_chain(self.folder / "server" / "CSMS_SERVER.pem",
                                    self.folder / "server" / "CSMS_SERVER.key")
        else:
            cert, key = self._server_certificate(names or ["127.0.0.1", "localhost"], expired)
            context.load_cert_chain(cert, key)
        if client_certificates:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=str(self.root_pem))
        return context

    def root(self) -> tuple[x509.Certificate, Any]:
        root = pki.load_chain(self.root_pem.read_bytes())[0]
        key = serialization.load_pem_private_key((self.folder / "private" / "CSMS_ROOT_CA.key").read_bytes(), None)
        return root, key

    def _server_certificate(self, names: list[str], expired: bool) -> tuple[Path, Path]:
        root, root_key = self.root()
        key = pki.new_key()
        now = dt.datetime.now(dt.UTC)
        end = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=30)
        alt = [x509.IPAddress(ipaddress.ip_address(n)) if n.replace(".", "").isdigit() else x509.DNSName(n)
               for n in names]
        cert = (x509.CertificateBuilder().subject_name(pki.name(names[0], ORGANIZATION)).issuer_name(root.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(end - dt.timedelta(days=30)).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .sign(root_key, hashes.SHA256()))
        folder = self.folder / "test-server"
        return pki.write_pem(folder / f"{names[0]}-{expired}.pem", cert), pki.write_pem(
            folder / f"{names[0]}-{expired}.key", key)

    def sign(self, csr_pem: str, *, days: int = 30, untrusted: bool = False) -> str:
        """The CSMS signs a CSR with the root of this store (`untrusted`: with a key of no installed root, so the
        chain does not verify): the PEM of the certificate."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        root, root_key = self.root()
        if untrusted:
            root_key = pki.new_key()
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(root.subject)
                .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(root_key, hashes.SHA256()))  # type: ignore[arg-type]
        return cert.public_bytes(serialization.Encoding.PEM).decode()


def cross_signed_root_pem(security: SimSecurity, common_name: str) -> str:
    """A new root certificate signed by the store's current CSMS root (a root replacement the old root vouches
    for)."""
    root, root_key = security.root()
    key = pki.new_key()
    cert = pki.issue(pki.name(common_name, ORGANIZATION), key, root, root_key, 365, ca=True)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def new_root_pem(common_name: str) -> str:
    """A self-signed root certificate as the CSMS would install it."""
    key = pki.new_key()
    cert = pki.issue(pki.name(common_name, ORGANIZATION), key, None, key, 365, ca=True)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class PlainOrTls:
    """One port in front of two CSMSs: a connection that opens with a TLS handshake goes to `tls_port`, any other
    to `plain_port` (bytes passed through, TLS ends at that CSMS). What a charge point switching from profile 1 to
    2 sees as one CSMS address."""

    def __init__(self, plain_port: int, tls_port: int) -> None:
        self._ports = (plain_port, tls_port)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.host = "127.0.0.1"
        self.port = 0

    async def __aenter__(self) -> PlainOrTls:
        self._server = await asyncio.start_server(self._route, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _route(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.read(1)
        if not first:
            writer.close()
            return
        port = self._ports[1] if first == b"\x16" else self._ports[0]
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, port)
        upstream_writer.write(first)
        for task in (self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)):
            pipe = asyncio.ensure_future(task)
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


class FirmwareSigner:
    """A manufacturer's firmware signing: its root (what InstallCertificate ManufacturerRootCertificate installs)
    and a signing certificate issued by it, or by an unrelated root with `trusted=False`."""

    def __init__(self, *, trusted: bool = True) -> None:
        root_key = pki.new_key()
        self.root = pki.issue(pki.name("Manufacturer Root", "Maker"), root_key, None, root_key, 365, ca=True)
        self._key = pki.new_key()
        issuer, issuer_key = self.root, root_key
        if not trusted:
            other_key = pki.new_key()
            issuer = pki.issue(pki.name("Someone Else", "Other"), other_key, None, other_key, 365, ca=True)
            issuer_key = other_key
        self.certificate = pki.issue(pki.name("Firmware Signing", "Maker"), self._key, issuer, issuer_key, 365)

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, firmware: bytes) -> str:
        """The base64 SHA-256 ECDSA signature SignedUpdateFirmware carries, in 64-character lines as a signature
        file holds it (EVerest's tests send such a file as it is)."""
        text = base64.b64encode(self._key.sign(firmware, ec.ECDSA(hashes.SHA256()))).decode()
        return "\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n"
