"""Opening one websocket to the CSMS for a security profile, and naming why an attempt failed."""

from __future__ import annotations

import base64
import logging
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, NegotiationError
from websockets.typing import Subprotocol

from module.link.protocol import ProtocolSpec
from module.link.secrets import SECRETS, mask_text
from module.link.settings import LinkSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectFailure:
    """Why one connection attempt failed. kind: config, unreachable, certificate, tls, unauthorized,
    http_status, subprotocol, handshake, timeout."""

    kind: str
    detail: str

    @property
    def security_event(self) -> str | None:
        """The SecurityEventNotification type the charge point should report, if any."""
        return SECURITY_EVENTS.get(self.kind)


SECURITY_EVENTS = {"unauthorized": "FailedToAuthenticateAtCsms", "certificate": "InvalidCentralSystemCertificate",
                   "tls_version": "InvalidTLSVersion", "tls_cipher": "InvalidTLSCipherSuite"}
TLS_VERSION_REASONS = frozenset({"UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION", "NO_PROTOCOLS_AVAILABLE"})
TLS_CIPHER_REASONS = frozenset({"NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH",
                                "SSLV3_ALERT_HANDSHAKE_FAILURE"})


class ConnectFailed(Exception):
    def __init__(self, failure: ConnectFailure) -> None:
        super().__init__(f"{failure.kind}: {failure.detail}")
        self.failure = failure


def basic_auth_header(charge_point_id: str, authorization_key: str) -> str:
    token = base64.b64encode(f"{charge_point_id}:{authorization_key}".encode()).decode("ascii")
    SECRETS.add(authorization_key, token)
    return f"Basic {token}"


def tls_context(settings: LinkSettings) -> ssl.SSLContext:
    """Chain verification always on (TLS 1.2 at least): the CSMS chain against the installed roots, and the
    system's with UseSslDefaultVerifyPaths; the host name checked unless VerifyCsmsCommonName is false (wildcards:
    `check_peer_name`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = settings.verify_common_name
    context.verify_mode = ssl.CERT_REQUIRED
    if settings.ciphers12:
        context.set_ciphers(":".join(settings.ciphers12))
    context.load_verify_locations(
        cafile=str(settings.ca_file) if settings.ca_file else None,
        capath=str(settings.ca_dir) if settings.ca_dir else None,
    )
    if settings.use_default_verify_paths:
        context.set_default_verify_paths()
    if settings.security_profile == 3:
        context.load_cert_chain(str(settings.client_cert), str(settings.client_key),
                                password=settings.client_key_password)
    return context


async def open_connection(settings: LinkSettings, spec: ProtocolSpec) -> ClientConnection:
    """Connect, check the negotiated subprotocol, return the open websocket or raise ConnectFailed."""
    headers: dict[str, str] = {}
    if settings.security_profile in (1, 2):
        headers["Authorization"] = basic_auth_header(settings.charge_point_id, settings.authorization_key or "")
    if settings.host_name:
        headers["User-Host"] = settings.host_name
    try:
        context = tls_context(settings) if settings.security_profile >= 2 else None
    except (OSError, ssl.SSLError) as exc:
        raise ConnectFailed(ConnectFailure("config", f"cannot load TLS files: {exc}")) from exc
    url = settings.url()
    try:
        ws = await connect(
            url,
            subprotocols=[Subprotocol(spec.subprotocol)],
            additional_headers=headers,
            ssl=context,
            proxy=None,
            open_timeout=settings.open_timeout,
            ping_interval=None,
            max_size=settings.max_frame_size,
            max_queue=None,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ConnectFailed(ConnectFailure("certificate", exc.verify_message or str(exc))) from exc
    except ssl.SSLError as exc:
        raise ConnectFailed(ConnectFailure(_tls_kind(exc), str(exc))) from exc
    except InvalidStatus as exc:
        status = exc.response.status_code
        kind = "unauthorized" if status == 401 else "http_status"
        raise ConnectFailed(ConnectFailure(kind, f"HTTP {status} on upgrade")) from exc
    except NegotiationError as exc:
        raise ConnectFailed(ConnectFailure("subprotocol", mask_text(str(exc)))) from exc
    except InvalidHandshake as exc:
        raise ConnectFailed(ConnectFailure("handshake", mask_text(str(exc)))) from exc
    except TimeoutError as exc:
        raise ConnectFailed(ConnectFailure("timeout", f"no connection within {settings.open_timeout} s")) from exc
    except OSError as exc:
        raise ConnectFailed(ConnectFailure("unreachable", str(exc))) from exc
    if context is not None and settings.verify_common_name and not settings.allow_wildcards:
        refused = check_peer_name(ws.transport.get_extra_info("peercert") or {}, urlsplit(url).hostname or "")
        if refused is not None:
            await ws.close(code=1008, reason="CSMS certificate refused")
            raise ConnectFailed(ConnectFailure("certificate", refused))
    if ws.subprotocol != spec.subprotocol:
        await ws.close(code=1002, reason="subprotocol not accepted")
        raise ConnectFailed(ConnectFailure(
            "subprotocol", f"server chose {ws.subprotocol!r}, need {spec.subprotocol!r}"))
    return ws


def _tls_kind(error: ssl.SSLError) -> str:
    """A handshake refused over the protocol version or the cipher suites has a security event of its own."""
    if error.reason in TLS_VERSION_REASONS:
        return "tls_version"
    if error.reason in TLS_CIPHER_REASONS:
        return "tls_cipher"
    return "tls"


def check_peer_name(peer: dict[str, Any], host: str) -> str | None:
    """Without VerifyCsmsAllowWildcards the host must be named exactly (OpenSSL's check, already passed, accepts
    a wildcard): why the verified certificate is refused, or None."""
    names = [value for kind, value in peer.get("subjectAltName", ()) if kind in ("DNS", "IP Address")]
    if not names:
        names = [value for rdn in peer.get("subject", ()) for key, value in rdn if key == "commonName"]
    if any(name.lower() == host.lower() for name in names):
        return None
    return f"the CSMS certificate names {host} only by a wildcard (VerifyCsmsAllowWildcards is false)"
