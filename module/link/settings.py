"""Link settings: where and how to connect, named after the OCPP configuration keys they come from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from module.link.errors import LinkConfigError

logger = logging.getLogger(__name__)

MIN_AUTH_KEY = 8
WEAK_AUTH_KEY = 16


@dataclass(frozen=True)
class LinkSettings:
    """Everything the link needs; the module fills it from the config and evse_security."""

    central_system_uri: str                      # CentralSystemURI: host[:port]/path, ws:// or wss:// optional
    charge_point_id: str                         # ChargePointId
    security_profile: int = 0                    # SecurityProfile 0..3
    authorization_key: str | None = None         # AuthorizationKey, used as configured (profiles 1, 2)
    ca_file: Path | None = None                  # CSMS root CA bundle (profiles 2, 3)
    ca_dir: Path | None = None                   # or a folder of hashed CA certificates
    client_cert: Path | None = None              # charge point certificate chain (profile 3)
    client_key: Path | None = None               # its private key
    client_key_password: str | None = None
    ciphers12: tuple[str, ...] = ()              # SupportedCiphers12 (OpenSSL names); empty: OpenSSL's defaults
    ciphers13: tuple[str, ...] = ()              # SupportedCiphers13: Python's ssl cannot restrict TLS 1.3 suites
    use_default_verify_paths: bool = False       # UseSslDefaultVerifyPaths: the system trust store as well
    verify_common_name: bool = True              # VerifyCsmsCommonName: the CSMS certificate names the host
    allow_wildcards: bool = False                # VerifyCsmsAllowWildcards: a *.domain name may match the host
    ping_interval: float = 0.0                   # WebSocketPingInterval, 0 = no pings
    pong_timeout: float = 5.0                    # WebsocketPongTimeout
    ping_payload: str = "hello there"            # WebsocketPingPayload (at most 125 bytes, a control frame's limit)
    host_name: str | None = None                 # HostName: sent as the User-Host handshake header, as libocpp does
    retry_backoff_wait_minimum: float = 3.0      # RetryBackoffWaitMinimum (s)
    retry_backoff_random_range: float = 10.0     # RetryBackoffRandomRange (s)
    retry_backoff_repeat_times: int = 5          # RetryBackoffRepeatTimes
    call_timeout: float = 30.0                   # default per-CALL timeout (1.6 has no key for it)
    open_timeout: float = 30.0                   # TCP + TLS + HTTP upgrade
    max_frame_size: int = 16 * 1024 * 1024

    def url(self) -> str:
        return build_url(self.central_system_uri, self.charge_point_id, self.security_profile)

    def check(self) -> None:
        """Raise LinkConfigError if these settings cannot give a secure, working connection."""
        if self.security_profile not in (0, 1, 2, 3):
            raise LinkConfigError(f"SecurityProfile {self.security_profile} is not 0, 1, 2 or 3")
        self.url()
        if self.security_profile in (1, 2):
            key = self.authorization_key or ""
            if len(key) < MIN_AUTH_KEY:
                raise LinkConfigError(
                    f"SecurityProfile {self.security_profile} needs an AuthorizationKey of at least "
                    f"{MIN_AUTH_KEY} characters (it has {len(key)})"
                )
            if len(key) < WEAK_AUTH_KEY:
                logger.warning("AuthorizationKey has fewer than %d characters: weak password", WEAK_AUTH_KEY)
        if self.security_profile >= 2 and self.ca_file is None and self.ca_dir is None:
            raise LinkConfigError(f"SecurityProfile {self.security_profile} needs a CSMS root CA file or folder")
        if self.security_profile == 3 and (self.client_cert is None or self.client_key is None):
            raise LinkConfigError("SecurityProfile 3 needs the charge point certificate and its key")


def build_url(central_system_uri: str, charge_point_id: str, security_profile: int) -> str:
    """CentralSystemURI + "/" + ChargePointId, scheme from the profile when absent, nothing doubled."""
    if not charge_point_id:
        raise LinkConfigError("ChargePointId is empty")
    wanted = "wss" if security_profile >= 2 else "ws"
    uri = central_system_uri.strip()
    scheme, sep, rest = uri.partition("://")
    if sep:
        scheme = scheme.lower()
        if scheme not in ("ws", "wss"):
            raise LinkConfigError(f"CentralSystemURI scheme {scheme!r} is not ws or wss")
        if scheme != wanted:
            raise LinkConfigError(f"CentralSystemURI uses {scheme}:// but SecurityProfile {security_profile} "
                                  f"needs {wanted}://")
    else:
        rest = uri
    rest = rest.rstrip("/")
    if not rest:
        raise LinkConfigError("CentralSystemURI has no host")
    encoded = quote(charge_point_id, safe="-._~")
    for tail in {charge_point_id, encoded}:
        if rest.endswith("/" + tail):
            rest = rest[: -len(tail) - 1]
            break
    return f"{wanted}://{rest}/{encoded}"
