"""Security profiles at run time (OCPP 1.6 Security whitepaper): upgrades with their prerequisites, the one
attempt with the new profile and the fallback, AuthorizationKey and CentralSystemURI reconnects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.csms.records import CONNECTED, REJECTED, Record
from sim.csms.server import LocalCsms
from tests.core.sim_security import PlainOrTls, SimSecurity
from tests.core.station import CP_ID, Station, station

OLD_KEY = "0ld-password-0123456"
NEW_KEY = "n3w-password-6543210"


def connected_after(mark: int) -> Any:
    def match(record: Record) -> bool:
        return record.kind == CONNECTED and record.index >= mark
    return match


def config(csms: LocalCsms, profile: int, key: str | None = OLD_KEY) -> dict[str, Any]:
    """No scheme in CentralSystemURI: it follows the security profile, which changes in these tests."""
    security: dict[str, Any] = {"SecurityProfile": profile}
    if key is not None:
        security["AuthorizationKey"] = key
    return {"Internal": {"CentralSystemURI": f"{csms.host}:{csms.port}"}, "Security": security}


def stored(st: Station) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(st.charge_point.cfg.user_config_path).read_text())
    return data["Security"]


def reconfigurations(st: Station, after: int = 0) -> list[Any]:
    return [p for p in st.csms.payloads("SecurityEventNotification", after_index=after)
            if p["type"] == "ReconfigurationOfSecurityParameters"]


async def test_tc_073_authorization_key_change_reconnects_with_the_new_password(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as csms, \
            station(tmp_path, csms, config=config(csms, 1)) as st:
        csms.basic_auth = {CP_ID: NEW_KEY}
        mark = csms.mark()
        answer = await csms.change_configuration("AuthorizationKey", NEW_KEY)
        assert answer == {"status": "Accepted"}
        assert stored(st)["AuthorizationKey"] == NEW_KEY
        record = await csms.wait_for_record(connected_after(mark))
        assert record.payload["basic_auth_user"] == CP_ID
        configuration = await csms.get_configuration(["AuthorizationKey"])
        assert configuration["unknownKey"] == ["AuthorizationKey"]
        event = await csms.wait_for("SecurityEventNotification", after_index=mark)
        assert event["type"] == "ReconfigurationOfSecurityParameters" and NEW_KEY not in str(event)
        assert st.charge_point.security_log is not None
        logged = st.charge_point.security_log.path.read_text()
        assert "AuthorizationKey changed" in logged and NEW_KEY not in logged and OLD_KEY not in logged


async def test_tc_073_hex_authorization_key(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as csms, \
            station(tmp_path, csms, config=config(csms, 1)):
        csms.basic_auth = {CP_ID: NEW_KEY}
        mark = csms.mark()
        assert await csms.change_configuration("AuthorizationKey", NEW_KEY.encode().hex()) == {"status": "Accepted"}
        await csms.wait_for_record(connected_after(mark))


async def test_tc_083_upgrade_1_to_2_falls_back_when_the_new_profile_cannot_connect(tmp_path: Path) -> None:
    """The CSMS speaks no TLS: the one attempt with profile 2 fails, the charge point goes back to 1 (stored) and
    says so."""
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as csms, \
            station(tmp_path, csms, config=config(csms, 1)) as st:
        mark = csms.mark()
        assert await csms.change_configuration("SecurityProfile", "2") == {"status": "Accepted"}
        await csms.wait_for_record(connected_after(mark))
        event = await csms.wait_for("SecurityEventNotification",
                                    lambda p: p["type"] == "ReconfigurationOfSecurityParameters", after_index=mark)
        assert "back to 1" in event["techInfo"]
        assert st.charge_point.cfg.get("SecurityProfile") == 1
        assert stored(st)["SecurityProfile"] == 1
        assert st.charge_point.link.settings.security_profile == 1


async def test_tc_083_upgrade_2_to_3_connects_with_the_charge_point_certificate(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY},
                         ssl_context=security.server_context(client_certificates=True)) as csms, \
            station(tmp_path, csms, config=config(csms, 2), security=security) as st:
        csms.basic_auth = None  # profile 3: the client certificate authenticates the charge point
        mark = csms.mark()
        assert await csms.change_configuration("SecurityProfile", "3") == {"status": "Accepted"}
        assert stored(st)["SecurityProfile"] == 3
        record = await csms.wait_for_record(connected_after(mark))
        assert record.payload["tls"] and record.payload["client_cert_subject"]["commonName"] == CP_ID
        assert record.payload["basic_auth_user"] is None
        event = await csms.wait_for("SecurityEventNotification",
                                    lambda p: p["type"] == "ReconfigurationOfSecurityParameters", after_index=mark)
        assert event["techInfo"] == "SecurityProfile changed from 2 to 3"
        assert st.charge_point.cfg.get("SecurityProfile") == 3


async def test_tc_084_downgrade_is_rejected(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as csms, \
            station(tmp_path, csms, config=config(csms, 1)) as st:
        assert await csms.change_configuration("SecurityProfile", "0") == {"status": "Rejected"}
        assert await csms.change_configuration("securityprofile", "0") == {"status": "Rejected"}
        assert st.charge_point.cfg.get("SecurityProfile") == 1


async def test_tc_084_upgrade_without_its_prerequisites_is_rejected(tmp_path: Path) -> None:
    """0 -> 1 without an AuthorizationKey; 0 -> 2 without a CSMS root; 0 -> 3 without a charge point
    certificate: each Rejected, and the charge point stays connected as it was."""
    security = SimSecurity(tmp_path / "certs", CP_ID)
    security.root_pem.unlink()
    for path in (tmp_path / "certs" / "client").rglob("*"):
        if path.is_file():
            path.unlink()
    async with LocalCsms(call_timeout=5) as csms, \
            station(tmp_path, csms, config=config(csms, 0, key=None), security=security) as st:
        for profile in ("1", "2", "3"):
            assert await csms.change_configuration("SecurityProfile", profile) == {"status": "Rejected"}
        mark = csms.mark()
        assert await csms.change_configuration("AuthorizationKey", OLD_KEY) == {"status": "Accepted"}
        # a new key reconnects under profile 0 too, as libocpp does (EVerest's change_authorization_key_in_pending)
        await csms.wait_for_record(lambda record: record.kind == CONNECTED, after_index=mark)
        await st.charge_point.link.wait_connected()
        assert await csms.change_configuration("SecurityProfile", "2") == {"status": "Rejected"}
        assert await csms.change_configuration("SecurityProfile", "3") == {"status": "Rejected"}
        assert st.charge_point.cfg.get("SecurityProfile") == 0
        assert st.charge_point.link.connected


async def test_central_system_uri_change_reconnects_to_the_new_address(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5) as csms, LocalCsms(call_timeout=5) as other, \
            station(tmp_path, csms, config=config(csms, 0, key=None)) as st:
        st.charge_point.cfg.set("CentralSystemURI", f"{other.host}:{other.port}")
        await other.wait_for_charge_point(CP_ID)
        assert (await other.trigger_message("Heartbeat")) == {"status": "Accepted"}
        await other.wait_for("Heartbeat")


async def test_wrong_password_is_refused_with_its_event(tmp_path: Path) -> None:
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as csms, \
            station(tmp_path, csms, config=config(csms, 1)):
        csms.basic_auth = {CP_ID: "something-else-entirely"}
        mark = csms.mark()
        assert await csms.change_configuration("AuthorizationKey", NEW_KEY) == {"status": "Accepted"}
        record = await csms.wait_for_record(lambda r: r.kind == REJECTED and r.index >= mark)
        assert record.payload["status"] == 401


async def test_tc_083_upgrade_1_to_2_to_3_at_run_time(tmp_path: Path) -> None:
    """One CSMS address serving ws and wss: each upgrade connects with the new profile and stays."""
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY}) as plain, \
            LocalCsms(call_timeout=5, basic_auth={CP_ID: OLD_KEY},
                      ssl_context=security.server_context(client_certificates=True)) as tls, \
            PlainOrTls(plain.port, tls.port) as front:
        cfg = {"Internal": {"CentralSystemURI": f"{front.host}:{front.port}"},
               "Security": {"SecurityProfile": 1, "AuthorizationKey": OLD_KEY}}
        async with station(tmp_path, plain, config=cfg, security=security) as st:
            assert await plain.change_configuration("SecurityProfile", "2") == {"status": "Accepted"}
            second = await tls.wait_for_record(connected_after(0))
            assert second.payload["basic_auth_user"] == CP_ID
            assert st.charge_point.link.settings.url().startswith("wss://")
            tls.basic_auth = None
            mark = tls.mark()
            assert await tls.change_configuration("SecurityProfile", "3") == {"status": "Accepted"}
            third = await tls.wait_for_record(connected_after(mark))
            assert third.payload["client_cert_subject"]["commonName"] == CP_ID
            events = await tls.wait_for("SecurityEventNotification", lambda p: p["techInfo"].endswith("2 to 3"),
                                        after_index=mark)
            assert events["type"] == "ReconfigurationOfSecurityParameters"
            assert stored(st)["SecurityProfile"] == 3
