"""Test helpers for the link: a scriptable CSMS on loopback (real websockets, TLS, Basic auth), certificates."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from websockets.asyncio.server import ServerConnection, serve

from module.clock import SystemClock
from module.link.link import OcppLink


@dataclass
class Peer:
    """One CP connection as the CSMS sees it: frames received, a way to send raw text."""

    ws: ServerConnection
    received: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next(self, timeout: float = 5.0) -> Any:
        return await asyncio.wait_for(self.received.get(), timeout)


class Csms:
    """websockets server playing CSMS: answers Heartbeat by default, hands everything else to the test."""

    def __init__(self, *, password: str | None = None, select_subprotocol: str | None = "ocpp1.6",
                 ssl_context: ssl.SSLContext | None = None, auto_answer: bool = True) -> None:
        self.password = password
        self.select = select_subprotocol
        self.ssl_context = ssl_context
        self.auto_answer = auto_answer
        self.peers: asyncio.Queue[Peer] = asyncio.Queue()
        self.paths: list[str] = []
        self.handshake_headers: list[Any] = []
        self.refused = 0
        self.port = 0
        self._server: Any = None

    async def __aenter__(self) -> Csms:
        self._server = await serve(
            self._handle, "127.0.0.1", 0, ssl=self.ssl_context, process_request=self._check_auth,
            select_subprotocol=lambda conn, offered: self.select, ping_interval=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    def _check_auth(self, connection: ServerConnection, request: Any) -> Any:
        self.paths.append(request.path)
        self.handshake_headers.append(request.headers)
        if self.password is None:
            return None
        header = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"CP1:{self.password}".encode()).decode()
        if header != expected:
            self.refused += 1
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad credentials\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        peer = Peer(ws)
        await self.peers.put(peer)
        async for message in ws:
            frame = json.loads(message)
            if self.auto_answer and frame[0] == 2 and frame[2] == "Heartbeat":
                await ws.send(json.dumps([3, frame[1], {"currentTime": "2024-01-01T00:00:00Z"}]))
                continue
            await peer.received.put(frame)

    async def peer(self, timeout: float = 5.0) -> Peer:
        return await asyncio.wait_for(self.peers.get(), timeout)

    def uri(self, scheme: str = "") -> str:
        host = "localhost" if self.ssl_context else "127.0.0.1"
        return f"{scheme}{host}:{self.port}/ocpp"


class FakeClock(SystemClock):
    """Back-off waits recorded and skipped: tests see the delays without waiting them."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.changed.set()
        await asyncio.sleep(0)

    async def wait_for_sleeps(self, count: int) -> list[float]:
        while len(self.sleeps) < count:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)
        return self.sleeps[:count]


async def connected_pair(csms: Csms, new_link: Callable[..., OcppLink], **kwargs: Any) -> tuple[OcppLink, Peer]:
    link = new_link(csms.uri(), **kwargs)
    await link.start()
    peer = await csms.peer()
    await link.wait_connected()
    return link, peer


# --- certificates ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    root: Path                 # CA that signed the server and client certificates
    other_root: Path           # an unrelated CA
    server_cert: Path          # CN/SAN localhost + 127.0.0.1
    server_key: Path
    wrong_host_cert: Path      # SAN only elsewhere.example
    wrong_host_key: Path
    client_cert: Path
    client_key: Path

    def server_context(self, *, wrong_host: bool = False, require_client: bool = False) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if wrong_host:
            context.load_cert_chain(self.wrong_host_cert, self.wrong_host_key)
        else:
            context.load_cert_chain(self.server_cert, self.server_key)
        if require_client:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(self.root))
        return context


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, cn: str, sans: list[x509.GeneralName],
          usage: x509.ObjectIdentifier) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(folder: Path) -> Pki:
    """Root CA, server certificates (right and wrong host), client certificate, an unrelated CA."""
    root, root_key = _ca("Test CSMS Root")
    other, other_key = _ca("Unrelated Root")
    server = _leaf(root, root_key, "localhost",
                   [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
                   ExtendedKeyUsageOID.SERVER_AUTH)
    wrong = _leaf(root, root_key, "elsewhere.example", [x509.DNSName("elsewhere.example")],
                  ExtendedKeyUsageOID.SERVER_AUTH)
    client = _leaf(root, root_key, "CP1", [], ExtendedKeyUsageOID.CLIENT_AUTH)
    root_path, _ = _write(folder, "root", root, root_key)
    other_path, _ = _write(folder, "other", other, other_key)
    server_cert, server_key = _write(folder, "server", *server)
    wrong_cert, wrong_key = _write(folder, "wrong", *wrong)
    client_cert, client_key = _write(folder, "client", *client)
    return Pki(root_path, other_path, server_cert, server_key, wrong_cert, wrong_key, client_cert, client_key)
