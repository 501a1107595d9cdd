"""The Security whitepaper through the whole module: the simulated evse_security (a real PKI in a folder) ->
the OCPP module process -> the CSMS. Profile 1, run-time upgrades to 2 and 3 (one CSMS address serving ws and
wss) and a certificate rotation, without restarting the module."""

from __future__ import annotations

from pathlib import Path

from sim.csms import LocalCsms
from sim.csms.records import CONNECTED, Record
from tests.core.sim_security import ORGANIZATION, PlainOrTls, SimSecurity
from tests.e2e.harness import CHARGE_POINT_ID, ChargerUnderTest

KEY = "e2e-password-0123456789"


def connected_after(mark: int):
    def match(record: Record) -> bool:
        return record.kind == CONNECTED and record.index >= mark
    return match


async def test_profile_1_upgrades_to_2_and_3_then_certificate_rotation(tmp_path: Path, broker) -> None:
    certs = tmp_path / "certs"
    store = SimSecurity(certs, CHARGE_POINT_ID)  # the module keeps the store it finds
    async with LocalCsms(basic_auth={CHARGE_POINT_ID: KEY}, call_timeout=10) as plain, \
            LocalCsms(ssl_context=store.server_context(client_certificates=True), basic_auth={CHARGE_POINT_ID: KEY},
                      call_timeout=10) as csms, PlainOrTls(plain.port, csms.port) as front:
        charger = ChargerUnderTest(tmp_path / "charger", broker, plain,
                                   security={"certs_dir": str(certs), "organization": ORGANIZATION},
                                   user_config={"Security": {"SecurityProfile": 1, "AuthorizationKey": KEY,
                                                             "CpoName": ORGANIZATION},
                                                "Internal": {"SeccLeafSubjectCommonName": "cp001-rotated",
                                                             "CentralSystemURI": f"{front.host}:{front.port}/"}})
        charger.workdir.mkdir()
        try:
            await charger.start()
            first = await plain.wait_for_record(connected_after(0), timeout=60)
            assert not first.payload["tls"] and first.payload["basic_auth_user"] == CHARGE_POINT_ID
            # CSMS CALLs are answered once the boot is accepted: the connectors' statuses follow it
            await plain.wait_for("StatusNotification", lambda p: p["connectorId"] == 2, timeout=30)
            assert await plain.change_configuration("SecurityProfile", "2") == {"status": "Accepted"}
            second = await csms.wait_for_record(connected_after(0), timeout=30)
            assert second.payload["tls"] and second.payload["basic_auth_user"] == CHARGE_POINT_ID

            csms.basic_auth = None  # from now on the charge point certificate authenticates
            mark = csms.mark()
            assert await csms.change_configuration("SecurityProfile", "3") == {"status": "Accepted"}
            upgraded = await csms.wait_for_record(connected_after(mark), timeout=30)
            assert upgraded.payload["client_cert_subject"]["commonName"] == CHARGE_POINT_ID

            mark = csms.mark()
            assert await csms.call(CHARGE_POINT_ID, "ExtendedTriggerMessage",
                                   {"requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
            request = await csms.wait_for("SignCertificate", after_index=mark, timeout=30)
            mark = csms.mark()
            assert await csms.call(CHARGE_POINT_ID, "CertificateSigned",
                                   {"certificateChain": store.sign(request["csr"])}) == {"status": "Accepted"}
            rotated = await csms.wait_for_record(connected_after(mark), timeout=30)
            assert rotated.payload["client_cert_subject"]["commonName"] == "cp001-rotated"

            ids = await csms.call(CHARGE_POINT_ID, "GetInstalledCertificateIds",
                                  {"certificateType": "CentralSystemRootCertificate"})
            assert ids["status"] == "Accepted" and len(ids["certificateHashData"]) == 1
            new_key = "e2e-new-password-9876543210"
            mark = csms.mark()
            assert await csms.change_configuration("AuthorizationKey", new_key) == {"status": "Accepted"}
            await csms.wait_for_record(connected_after(mark), timeout=30)  # a new key reconnects
            assert (await csms.get_configuration(["AuthorizationKey"]))["unknownKey"] == ["AuthorizationKey"]
            security_log = (charger.workdir / "logs" / "security.log").read_text()
            assert "ReconfigurationOfSecurityParameters" in security_log
            logs = [charger.log_text(), *(path.read_text(errors="replace")
                                          for path in (charger.workdir / "logs").iterdir() if path.is_file())]
            for text in logs:
                assert KEY not in text and new_key not in text and "PRIVATE KEY" not in text
        finally:
            await charger.stop()
