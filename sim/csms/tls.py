"""Server TLS for the CSMS process: a folder with its certificate chain, key and, for profile 3, a client CA."""

from __future__ import annotations

import ssl
from pathlib import Path

SERVER_CERT = "csms.pem"  # leaf first, then intermediates
SERVER_KEY = "csms.key"
CLIENT_CA = "ca.pem"  # roots that sign charge point certificates


def server_context(tls_dir: str | Path, require_client_cert: bool = False) -> ssl.SSLContext:
    """TLS 1.2+ server context; with require_client_cert the handshake needs a cert signed by ca.pem."""
    folder = Path(tls_dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(folder / SERVER_CERT, folder / SERVER_KEY)
    if require_client_cert:
        context.load_verify_locations(folder / CLIENT_CA)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
