"""Each security profile connects against a real (TLS) server; every wrong credential is refused."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from module.link.connection import ConnectFailure, tls_context
from module.link.link import OcppLink
from module.link.settings import LinkSettings
from tests.link.link_helpers import Csms, Pki

KEY = "0123456789abcdef0123"


async def first_failure(link: OcppLink) -> ConnectFailure:
    failures: asyncio.Queue[ConnectFailure] = asyncio.Queue()
    link.add_failure_listener(failures.put_nowait)
    await link.start()
    return await asyncio.wait_for(failures.get(), 10)


async def test_profile0_plain_ws_with_charge_point_id_path(new_link: Callable[..., OcppLink]) -> None:
    async with Csms() as csms:
        link = new_link(csms.uri() + "/")
        await link.start()
        await csms.peer()
        await link.wait_connected()
        assert csms.paths == ["/ocpp/CP1"]
        assert link.settings.url().startswith("ws://")


async def test_profile1_basic_auth_accepted(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(password=KEY) as csms:
        link = new_link(csms.uri(), security_profile=1, authorization_key=KEY)
        await link.start()
        await link.wait_connected()
        assert csms.refused == 0


async def test_profile1_wrong_password_refused_with_401(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(password=KEY) as csms:
        link = new_link(csms.uri(), security_profile=1, authorization_key="wrong-password-123")
        failure = await first_failure(link)
        assert failure.kind == "unauthorized"
        assert failure.security_event == "FailedToAuthenticateAtCsms"
        assert not link.connected


async def test_missing_password_refused_by_server(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(password=KEY) as csms:
        failure = await first_failure(new_link(csms.uri(), security_profile=0))
        assert failure.kind == "unauthorized"


async def test_short_key_refused_before_connecting(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(password="long-enough-key-1") as csms:
        link = new_link(csms.uri(), security_profile=1, authorization_key="short")
        failure = await first_failure(link)
        assert failure.kind == "config"
        assert "at least 8" in failure.detail
        assert csms.paths == []
        link.update_settings(authorization_key="long-enough-key-1")
        await link.wait_connected()


async def test_profile2_tls_with_basic_auth(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(password=KEY, ssl_context=pki.server_context()) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key=KEY, ca_file=pki.root)
        await link.start()
        await link.wait_connected()
        assert link.settings.url().startswith("wss://localhost:")


async def test_profile2_ca_folder(new_link: Callable[..., OcppLink], pki: Pki, tmp_path) -> None:
    import ssl
    import subprocess

    folder = tmp_path / "cas"
    folder.mkdir()
    # OpenSSL looks certificates up in a folder by subject hash: <hash>.0
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pki.root)],
                                  capture_output=True, text=True, check=True).stdout.strip()
    (folder / f"{subject_hash}.0").write_bytes(pki.root.read_bytes())
    assert ssl.OPENSSL_VERSION
    async with Csms(password=KEY, ssl_context=pki.server_context()) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key=KEY, ca_dir=folder)
        await link.start()
        await link.wait_connected()


async def test_profile2_wrong_ca_refused(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(password=KEY, ssl_context=pki.server_context()) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key=KEY, ca_file=pki.other_root)
        failure = await first_failure(link)
        assert failure.kind == "certificate"
        assert failure.security_event == "InvalidCentralSystemCertificate"
        assert csms.paths == []


async def test_profile2_wrong_hostname_refused(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(password=KEY, ssl_context=pki.server_context(wrong_host=True)) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key=KEY, ca_file=pki.root)
        failure = await first_failure(link)
        assert failure.kind == "certificate"
        assert "ostname" in failure.detail


async def test_profile2_wrong_password_refused(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(password=KEY, ssl_context=pki.server_context()) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key="not-the-key-1234", ca_file=pki.root)
        assert (await first_failure(link)).kind == "unauthorized"


async def test_profile2_without_ca_is_a_config_error(new_link: Callable[..., OcppLink]) -> None:
    failure = await first_failure(new_link("localhost:1/ocpp", security_profile=2, authorization_key=KEY))
    assert failure.kind == "config"


async def test_profile3_mutual_tls(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(ssl_context=pki.server_context(require_client=True)) as csms:
        link = new_link(csms.uri(), security_profile=3, ca_file=pki.root,
                        client_cert=pki.client_cert, client_key=pki.client_key)
        await link.start()
        peer = await csms.peer()
        await link.wait_connected()
        assert peer.ws.transport.get_extra_info("peercert")["subject"] == ((("commonName", "CP1"),),)


async def test_profile3_server_refuses_missing_client_cert(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    async with Csms(ssl_context=pki.server_context(require_client=True)) as csms:
        link = new_link(csms.uri(), security_profile=2, authorization_key=KEY, ca_file=pki.root)
        failure = await first_failure(link)
        assert failure.kind in ("tls", "unreachable", "handshake")
        assert not link.connected


async def test_server_choosing_no_subprotocol_is_refused(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(select_subprotocol=None) as csms:
        link = new_link(csms.uri())
        failure = await first_failure(link)
        assert failure.kind == "subprotocol"
        assert not link.connected


async def test_server_choosing_another_subprotocol_is_refused(new_link: Callable[..., OcppLink]) -> None:
    async with Csms(select_subprotocol="ocpp2.0.1") as csms:
        failure = await first_failure(new_link(csms.uri()))
        assert failure.kind == "subprotocol"


@contextmanager
def handshaking_server(context: ssl.SSLContext) -> Iterator[str]:
    """A blocking TLS server for one handshake: unlike an asyncio server, OpenSSL then sends its alert (protocol
    version, handshake failure) as a real CSMS would. Yields the CentralSystemURI."""
    listener = socket.create_server(("127.0.0.1", 0))

    def handshake() -> None:
        connection, _ = listener.accept()
        with contextlib.suppress(ssl.SSLError, OSError):
            context.wrap_socket(connection, server_side=True)
        connection.close()
    thread = threading.Thread(target=handshake, daemon=True)
    thread.start()
    try:
        yield f"localhost:{listener.getsockname()[1]}/ocpp"
    finally:
        thread.join(5)
        listener.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_tls_below_1_2_refused_as_invalid_tls_version(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    server = pki.server_context()
    server.minimum_version = server.maximum_version = ssl.TLSVersion.TLSv1_1
    server.set_ciphers("ALL:@SECLEVEL=0")
    with handshaking_server(server) as uri:
        failure = await first_failure(new_link(uri, security_profile=2, authorization_key=KEY, ca_file=pki.root))
    assert failure.kind == "tls_version" and failure.security_event == "InvalidTLSVersion"


async def test_no_shared_tls_1_2_cipher_refused_as_invalid_cipher_suite(new_link: Callable[..., OcppLink],
                                                                        pki: Pki) -> None:
    server = pki.server_context()
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    server.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
    with handshaking_server(server) as uri:
        failure = await first_failure(new_link(uri, security_profile=2, authorization_key=KEY, ca_file=pki.root,
                                               ciphers12=("ECDHE-ECDSA-AES128-GCM-SHA256",)))
    assert failure.kind == "tls_cipher" and failure.security_event == "InvalidTLSCipherSuite"


async def test_system_trust_store_added_only_when_asked(new_link: Callable[..., OcppLink], pki: Pki) -> None:
    """UseSslDefaultVerifyPaths adds the system's roots to the installed ones (which still verify the CSMS)."""
    settings = LinkSettings("localhost:1/ocpp", "CP1", security_profile=2, authorization_key=KEY, ca_file=pki.root)
    alone = tls_context(settings).cert_store_stats()["x509_ca"]
    with_system = tls_context(LinkSettings(**{**settings.__dict__, "use_default_verify_paths": True}))
    assert alone == 1
    assert with_system.cert_store_stats()["x509_ca"] >= alone
