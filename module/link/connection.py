"""Opening one websocket to the CSMS for a security profile, and naming why an attempt failed."""

from __future__ import annotations

import base64
import logging
import ssl
from dataclasses import dataclass

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
        if self.kind == "unauthorized":
            return "FailedToAuthenticateAtCsms"
        if self.kind == "certificate":
            return "InvalidCentralSystemCertificate"
        return None


class ConnectFailed(Exception):
    def __init__(self, failure: ConnectFailure) -> None:
        super().__init__(f"{failure.kind}: {failure.detail}")
        self.failure = failure


def basic_auth_header(charge_point_id: str, authorization_key: str) -> str:
    token = base64.b64encode(f"{charge_point_id}:{authorization_key}".encode()).decode("ascii")
    SECRETS.add(authorization_key, token)
    return f"Basic {token}"


def tls_context(settings: LinkSettings) -> ssl.SSLContext:
    """Verification always on: the CSMS chain against the given roots only, hostname checked."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(
        cafile=str(settings.ca_file) if settings.ca_file else None,
        capath=str(settings.ca_dir) if settings.ca_dir else None,
    )
    if settings.security_profile == 3:
        context.load_cert_chain(str(settings.client_cert), str(settings.client_key),
                                password=settings.client_key_password)
    return context


async def open_connection(settings: LinkSettings, spec: ProtocolSpec) -> ClientConnection:
    """Connect, check the negotiated subprotocol, return the open websocket or raise ConnectFailed."""
    headers: dict[str, str] = {}
    if settings.security_profile in (1, 2):
        headers["Authorization"] = basic_auth_header(settings.charge_point_id, settings.authorization_key or "")
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
        raise ConnectFailed(ConnectFailure("tls", str(exc))) from exc
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
    if ws.subprotocol != spec.subprotocol:
        await ws.close(code=1002, reason="subprotocol not accepted")
        raise ConnectFailed(ConnectFailure(
            "subprotocol", f"server chose {ws.subprotocol!r}, need {spec.subprotocol!r}"))
    return ws
