"""The CSMS connection's TLS and authentication rules (OCPP 1.6 Security whitepaper): what connects (TC_085,
TC_086, TC_087) and what is refused with its security event, reported once per failing streak (TC_078)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from module.core.profiles.core.security_log import SecurityLog
from module.link.connection import ConnectFailure, check_peer_name
from module.link.secrets import SECRETS
from sim.csms import CsmsCallError
from sim.csms.server import LocalCsms
from tests.core.sim_security import SimSecurity
from tests.core.station import CP_ID, Station, station

KEY = "a-long-enough-password"


def config(csms: LocalCsms, profile: int, host: str | None = None) -> dict[str, Any]:
    security: dict[str, Any] = {"SecurityProfile": profile}
    if profile in (1, 2):
        security["AuthorizationKey"] = KEY
    return {"Internal": {"CentralSystemURI": f"{host or csms.host}:{csms.port}"}, "Security": security}


async def first_connection(csms: LocalCsms) -> dict[str, Any]:
    record = await csms.wait_for_record(lambda r: r.kind == "CONNECTED")
    info: dict[str, Any] = record.payload
    return info


async def test_tc_085_basic_authentication(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: KEY}) as csms, station(tmp_path, csms,
                                                                                   config=config(csms, 1)):
        info = await first_connection(csms)
        assert info["basic_auth_user"] == CP_ID and not info["tls"]


async def test_tc_086_tls_with_a_valid_server_certificate(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: KEY}, ssl_context=security.server_context()) as csms, \
            station(tmp_path, csms, config=config(csms, 2), security=security) as st:
        info = await first_connection(csms)
        assert info["tls"] and info["basic_auth_user"] == CP_ID
        assert st.charge_point.link.settings.url().startswith("wss://")


async def test_tc_087_tls_with_the_charge_point_certificate(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, ssl_context=security.server_context(client_certificates=True)) as csms, \
            station(tmp_path, csms, config=config(csms, 3), security=security):
        info = await first_connection(csms)
        assert info["tls"] and info["client_cert_subject"]["commonName"] == CP_ID
        assert info["basic_auth_user"] is None


async def refused(tmp_path: Path, csms: LocalCsms, security: SimSecurity, cfg: dict[str, Any]) -> tuple[
        Station, list[ConnectFailure]]:
    """A station that cannot connect; returns once it failed three times."""
    failures: list[ConnectFailure] = []
    three = asyncio.Event()

    def failed(failure: ConnectFailure) -> None:
        failures.append(failure)
        if len(failures) >= 3:
            three.set()
    async with station(tmp_path, csms, config=cfg, security=security, boot=False) as st:
        st.charge_point.link.add_failure_listener(failed)
        await asyncio.wait_for(three.wait(), 10)
        await st.charge_point.link.disconnect()
    return st, failures


def security_events(st: Station) -> list[tuple[Any, ...]]:
    return [args for name, args in st.charger.published if name == "security_event"]


@pytest.mark.parametrize("case", ["wrong_ca", "wrong_host", "expired"])
async def test_tc_078_invalid_central_system_certificate(tmp_path: Path, case: str) -> None:
    """Each refused on every attempt; InvalidCentralSystemCertificate reported once (critical: queued for the
    CSMS), no silent loop."""
    security = SimSecurity(tmp_path / "certs", CP_ID)
    server = {"wrong_ca": SimSecurity(tmp_path / "other-certs", CP_ID).server_context(),
              "wrong_host": security.server_context(names=["elsewhere.example"]),
              "expired": security.server_context(expired=True)}[case]
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: KEY}, ssl_context=server) as csms:
        st, failures = await refused(tmp_path, csms, security, config(csms, 2))
    assert {failure.kind for failure in failures} == {"certificate"}
    assert [args[:1] + args[2:] for args in security_events(st)] == [("InvalidCentralSystemCertificate", True)]
    assert st.charge_point.security_log is not None
    logged = st.charge_point.security_log.path.read_text().splitlines()
    assert len(logged) == 1 and " InvalidCentralSystemCertificate critical " in logged[0]


async def test_wrong_password_is_refused_with_its_event(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: "another-password-here"}) as csms:
        st, failures = await refused(tmp_path, csms, SimSecurity(tmp_path / "certs", CP_ID), config(csms, 1))
    assert {failure.kind for failure in failures} == {"unauthorized"}
    assert [args[0] for args in security_events(st)] == ["FailedToAuthenticateAtCsms"]
    assert not any(KEY in str(args) for args in security_events(st))
    assert st.charge_point.security_log is not None
    logged = st.charge_point.security_log.path.read_text()
    assert "FailedToAuthenticateAtCsms" in logged and KEY not in logged


def test_security_log_rotates_and_masks_secrets(tmp_path: Path) -> None:
    SECRETS.add("s3cret-for-the-log-test")
    log = SecurityLog(tmp_path, max_file_size=200, max_files=2)
    for n in range(20):
        log.write(f"2026-01-01T00:00:{n:02}.000Z", "SettingSystemTime", "key s3cret-for-the-log-test", False)
    log.close()
    files = sorted(tmp_path.glob("security.log*"))
    assert [f.name for f in files] == ["security.log", "security.log.1", "security.log.2"]
    assert all("s3cret-for-the-log-test" not in f.read_text() for f in files)
    assert "SettingSystemTime info key " in files[0].read_text()


def test_wildcards_only_when_allowed() -> None:
    """OpenSSL's own check accepts a wildcard; without VerifyCsmsAllowWildcards the name must be exact."""
    wildcard = {"subjectAltName": (("DNS", "*.example.org"),)}
    assert check_peer_name(wildcard, "csms.example.org") is not None
    assert check_peer_name({"subjectAltName": (("DNS", "csms.example.org"),)}, "CSMS.example.org") is None
    assert check_peer_name({"subject": ((("commonName", "10.0.0.1"),),)}, "10.0.0.1") is None


async def test_invalid_messages_event_once_per_connection(tmp_path: Path, csms: LocalCsms) -> None:
    """A CALL that breaks its schema is refused and reported (InvalidMessages, critical); a second one on the same
    connection is refused without another event; an action we do not support is no invalid message."""
    async with station(tmp_path, csms) as st:
        for _ in range(2):
            with pytest.raises(CsmsCallError):
                await csms.call(CP_ID, "ChangeConfiguration", {"key": "HeartbeatInterval"}, validate=False)
        with pytest.raises(CsmsCallError):
            await csms.call(CP_ID, "GetVariables", {"getVariableData": []}, validate=False)  # an OCPP 2.0.1 action
        event = await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidMessages")
        assert event["techInfo"].startswith("ChangeConfiguration: ")
        assert [args[0] for args in security_events(st)] == ["InvalidMessages"]
