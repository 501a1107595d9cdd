"""Certificates through the charger's store (OCPP 1.6 Security whitepaper): InstallCertificate, DeleteCertificate,
GetInstalledCertificateIds, SignCertificate / CertificateSigned and ExtendedTriggerMessage, against the simulated
evse_security in process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from module.core.profiles.security.service import RENEWAL_CHECK_S
from sim.csms.records import CONNECTED, Record
from sim.csms.server import LocalCsms
from tests.core.sim_security import SimSecurity, cross_signed_root_pem, new_root_pem
from tests.core.station import CP_ID, station

CSMS_ROOT, MF_ROOT = "CentralSystemRootCertificate", "ManufacturerRootCertificate"


def tls_config(csms: LocalCsms, profile: int, **security: Any) -> dict[str, Any]:
    keys: dict[str, Any] = {"SecurityProfile": profile, **security}
    if profile in (1, 2):
        keys["AuthorizationKey"] = "a-long-enough-password"
    return {"Internal": {"CentralSystemURI": f"{csms.host}:{csms.port}"}, "Security": keys}


async def installed(csms: LocalCsms, certificate_type: str) -> dict[str, Any]:
    answer: dict[str, Any] = await csms.call(CP_ID, "GetInstalledCertificateIds", {"certificateType": certificate_type})
    return answer


async def install(csms: LocalCsms, certificate_type: str, pem: str) -> str:
    answer = await csms.call(CP_ID, "InstallCertificate", {"certificateType": certificate_type, "certificate": pem})
    return str(answer["status"])


async def test_tc_075_1_install_a_central_system_root(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms):
        assert len((await installed(csms, CSMS_ROOT))["certificateHashData"]) == 1
        assert await install(csms, CSMS_ROOT, new_root_pem("Second CSMS Root")) == "Accepted"
        answer = await installed(csms, CSMS_ROOT)
        assert answer["status"] == "Accepted" and len(answer["certificateHashData"]) == 2


async def test_tc_075_2_install_a_manufacturer_root(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms):
        assert await installed(csms, MF_ROOT) == {"status": "NotFound"}
        assert await install(csms, MF_ROOT, new_root_pem("Manufacturer Root")) == "Accepted"
        answer = await installed(csms, MF_ROOT)
        assert answer["status"] == "Accepted"
        assert set(answer["certificateHashData"][0]) == {"hashAlgorithm", "issuerNameHash", "issuerKeyHash",
                                                         "serialNumber"}


async def test_install_refused_when_the_store_is_full_or_the_certificate_is_no_certificate(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Security": {"CertificateStoreMaxLength": 1}}):
        assert await install(csms, MF_ROOT, new_root_pem("One Too Many")) == "Rejected"
    async with LocalCsms(call_timeout=5) as other, station(tmp_path / "b", other):
        assert await install(other, CSMS_ROOT, "-----BEGIN CERTIFICATE-----\nbm90\n-----END CERTIFICATE-----\n") \
            == "Rejected"


async def test_tc_076_delete_a_certificate(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms):
        assert await install(csms, MF_ROOT, new_root_pem("Manufacturer Root")) == "Accepted"
        hash_data = (await installed(csms, MF_ROOT))["certificateHashData"][0]
        delete = {"certificateHashData": hash_data}
        assert await csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "Accepted"}
        assert await installed(csms, MF_ROOT) == {"status": "NotFound"}
        assert await csms.call(CP_ID, "DeleteCertificate", delete) == {"status": "NotFound"}


async def test_the_last_csms_root_in_use_is_not_deleted(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, ssl_context=security.server_context(),
                         basic_auth={CP_ID: "a-long-enough-password"}) as csms, \
            station(tmp_path, csms, config=tls_config(csms, 2), security=security):
        hash_data = (await installed(csms, CSMS_ROOT))["certificateHashData"][0]
        assert await csms.call(CP_ID, "DeleteCertificate", {"certificateHashData": hash_data}) == {"status": "Failed"}
        assert len((await installed(csms, CSMS_ROOT))["certificateHashData"]) == 1


async def test_tc_074_certificate_renewal_on_request_is_used_for_the_next_connection(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID)
    async with LocalCsms(call_timeout=5, ssl_context=security.server_context(client_certificates=True)) as csms, \
            station(tmp_path, csms, config={**tls_config(csms, 3, CpoName="Test CPO"),
                                            "Internal": {"CentralSystemURI": f"{csms.host}:{csms.port}",
                                                         "SeccLeafSubjectCommonName": "CP1-renewed"}},
                    security=security):
        mark = csms.mark()
        answer = await csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
        assert answer == {"status": "Accepted"}
        request = await csms.wait_for("SignCertificate", after_index=mark)
        assert "BEGIN CERTIFICATE REQUEST" in request["csr"]
        chain = security.sign(request["csr"])
        mark = csms.mark()
        assert await csms.call(CP_ID, "CertificateSigned", {"certificateChain": chain}) == {"status": "Accepted"}

        def renewed(record: Record) -> bool:
            return record.kind == CONNECTED and record.index >= mark
        record = await csms.wait_for_record(renewed)
        assert record.payload["client_cert_subject"]["commonName"] == "CP1-renewed"


async def test_tc_077_invalid_charge_point_certificate_is_rejected_with_its_event(tmp_path: Path,
                                                                                 csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Security": {"CpoName": "Test CPO"}}) as st:
        assert await csms.call(CP_ID, "ExtendedTriggerMessage",
                               {"requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
        request = await csms.wait_for("SignCertificate")
        chain = st.security.sign(request["csr"], untrusted=True)
        assert await csms.call(CP_ID, "CertificateSigned", {"certificateChain": chain}) == {"status": "Rejected"}
        event = await csms.wait_for("SecurityEventNotification",
                                    lambda p: p["type"] == "InvalidChargePointCertificate")
        assert "BEGIN" not in event.get("techInfo", "")


async def test_certificate_signed_larger_than_allowed_is_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Security": {"CertificateSignedMaxChainSize": 100}}):
        answer = await csms.call(CP_ID, "CertificateSigned", {"certificateChain": "x" * 101})
        assert answer == {"status": "Rejected"}
        await csms.wait_for("SecurityEventNotification", lambda p: p["type"] == "InvalidChargePointCertificate")


async def test_extended_trigger_message_follows_trigger_message_rules(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms):
        mark = csms.mark()
        assert await csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}) == \
            {"status": "Accepted"}
        await csms.wait_for("Heartbeat", after_index=mark)
        assert await csms.call(CP_ID, "ExtendedTriggerMessage",
                               {"requestedMessage": "StatusNotification", "connectorId": 9}) == {"status": "Rejected"}
        mark = csms.mark()
        assert await csms.call(CP_ID, "ExtendedTriggerMessage",
                               {"requestedMessage": "StatusNotification", "connectorId": 1}) == {"status": "Accepted"}
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1, after_index=mark)


async def test_a_charge_point_certificate_near_its_end_is_renewed(tmp_path: Path) -> None:
    security = SimSecurity(tmp_path / "certs", CP_ID, validity_days=10)
    async with LocalCsms(call_timeout=5, ssl_context=security.server_context(client_certificates=True)) as csms, \
            station(tmp_path, csms, config=tls_config(csms, 3, CpoName="Test CPO"), security=security) as st:
        deadline = st.clock.monotonic() + RENEWAL_CHECK_S
        await st.clock.sleeper_until(deadline)
        st.clock.advance(RENEWAL_CHECK_S)
        request = await csms.wait_for("SignCertificate")
        assert "BEGIN CERTIFICATE REQUEST" in request["csr"]


async def test_additional_root_certificate_check_needs_the_new_root_signed_by_the_old(tmp_path: Path,
                                                                                     csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Security": {"AdditionalRootCertificateCheck": True}}) as st:
        assert await install(csms, CSMS_ROOT, new_root_pem("Unrelated Root")) == "Rejected"
        assert await install(csms, CSMS_ROOT, cross_signed_root_pem(st.security, "Next CSMS Root")) == "Accepted"
        assert await install(csms, MF_ROOT, new_root_pem("Manufacturer Root")) == "Accepted"


async def test_sign_certificate_is_repeated_until_certificate_signed_comes(tmp_path: Path, csms: LocalCsms) -> None:
    """CertSigningWaitMinimum 10 s and CertSigningRepeatTimes 2: SignCertificate again after 10 s, then after 20 s
    more, then no more; a CertificateSigned ends the repeats."""
    config = {"Security": {"CpoName": "Test CPO"},
              "PnC": {"CertSigningWaitMinimum": 10, "CertSigningRepeatTimes": 2, "ISO15118PnCEnabled": False,
                      "ContractValidationOffline": False}}
    async with station(tmp_path, csms, config=config) as st:
        mark = csms.mark()
        assert await csms.call(CP_ID, "ExtendedTriggerMessage",
                               {"requestedMessage": "SignChargePointCertificate"}) == {"status": "Accepted"}
        await csms.wait_for("SignCertificate", after_index=mark)
        for wait in (10, 20):
            await st.clock.sleeper_until(st.clock.monotonic() + wait)
            st.clock.advance(wait)
            count = len(csms.payloads("SignCertificate", after_index=mark)) + 1
            await csms.wait_for("SignCertificate", lambda _p, n=count: len(
                csms.payloads("SignCertificate", after_index=mark)) >= n, after_index=mark)
        assert len(csms.payloads("SignCertificate", after_index=mark)) == 3
        assert st.clock.monotonic() + 40 not in st.clock.pending()  # the repeats are used up

        mark = csms.mark()
        await csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
        request = await csms.wait_for("SignCertificate", after_index=mark)
        await st.clock.sleeper_until(st.clock.monotonic() + 10)
        chain = st.security.sign(request["csr"])
        assert await csms.call(CP_ID, "CertificateSigned", {"certificateChain": chain}) == {"status": "Accepted"}
        assert st.clock.monotonic() + 10 not in st.clock.pending()  # no repeat once the certificate came


async def test_the_csr_subject_comes_from_the_secc_leaf_subject_keys(tmp_path: Path, csms: LocalCsms) -> None:
    """Without CpoName the organization is SeccLeafSubjectOrganization; the country is SeccLeafSubjectCountry."""
    config = {"Internal": {"SeccLeafSubjectOrganization": "Depot Operator", "SeccLeafSubjectCountry": "DE",
                           "SeccLeafSubjectCommonName": "CP1-leaf"}}
    async with station(tmp_path, csms, config=config):
        await csms.call(CP_ID, "ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
        request = await csms.wait_for("SignCertificate")
        subject = x509.load_pem_x509_csr(request["csr"].encode()).subject
        assert [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
            "Depot Operator"]
        assert [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)] == ["DE"]
        assert [attribute.value for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["CP1-leaf"]
